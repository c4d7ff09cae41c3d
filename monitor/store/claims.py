"""SQL for control claims read from articles: one row per claim, replaced whole for an article."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from datetime import UTC, datetime

import sqlite_utils

from monitor.claims import Claim
from monitor.errors import StoreError
from monitor.store.schema import migrations

CLAIM_COLUMNS = {
    "id": int,
    "article_id": int,
    "place": str,  # as written in the article
    "town_id": str,  # gazetteer id, null when the place did not resolve
    "town": str,
    "unresolved_reason": str,
    "gained_by": str,
    "lost_by": str,
    "status": str,  # new | background | disputed
    "event_date": str,  # YYYY-MM-DD
    "claimed_by": str,
    "quote": str,
    "reasons": str,  # JSON list: which words made the side, the place, the status and the date
    "created_at": str,
}


def create_claims_table(db: sqlite_utils.Database) -> None:
    """Create the claims table and its indexes (linked to articles when that table exists)."""
    foreign_keys = [("article_id", "articles", "id")] if db.table("articles").exists() else []
    db.table("claims").create(
        CLAIM_COLUMNS,
        pk="id",
        not_null={"article_id", "place", "gained_by", "lost_by", "status", "quote"},
        foreign_keys=foreign_keys,
        if_not_exists=True,
    )
    db.table("claims").create_index(["article_id"], if_not_exists=True)
    db.table("claims").create_index(["town_id", "event_date"], if_not_exists=True)


@migrations(name="m004_claims")
def m004_claims(db: sqlite_utils.Database) -> None:
    """Claims of control read from articles, with their quote and reasons."""
    create_claims_table(db)


def save_claims(db: sqlite_utils.Database, article_id: int, claims: list[Claim]) -> None:
    """Replace the claims of one article with `claims`, in one transaction."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [
        {**asdict(claim), "article_id": article_id, "reasons": json.dumps(list(claim.reasons)), "created_at": now}
        for claim in claims
    ]
    try:
        with db.atomic():
            db.execute("DELETE FROM claims WHERE article_id = ?", [article_id])
            if rows:
                db.table("claims").insert_all(rows)
    except sqlite3.Error as exc:
        raise StoreError(
            f"cannot save claims: {exc}", article_id=article_id, hint="check that the claims migration ran"
        ) from exc


def claims_for_article(db: sqlite_utils.Database, article_id: int) -> list[dict]:
    """Return the stored claims of one article in the order they were read, reasons decoded."""
    try:
        rows = list(db.query("SELECT * FROM claims WHERE article_id = ? ORDER BY id", [article_id]))
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read claims: {exc}", article_id=article_id) from exc
    return [{**row, "reasons": json.loads(row["reasons"] or "[]")} for row in rows]
