"""SQL for articles: saving with their relevance decision, full-text search, retention, counts."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import sqlite_utils

from monitor.models import Article


def save_article(db: sqlite_utils.Database, article: Article, decision: dict[str, Any]) -> int:
    """Insert an article with its relevance decision columns; returns its id."""
    row = dataclasses.asdict(article) | _json_places(decision)
    table = db.table("articles")
    table.insert(row)
    return int(table.last_pk)  # type: ignore[arg-type]


def stored_article(db: sqlite_utils.Database, article_id: int) -> Article | None:
    """An article as stored (for replay), None when there is no such id."""
    rows = list(db.table("articles").rows_where("id = ?", [article_id]))
    if not rows:
        return None
    names = {f.name for f in dataclasses.fields(Article)}
    row = {key: value for key, value in rows[0].items() if key in names}
    row["is_text_repeated"] = bool(row.get("is_text_repeated"))
    return Article(**row)


def update_decision(db: sqlite_utils.Database, article_id: int, decision: dict[str, Any]) -> None:
    """Rewrite the relevance decision columns of one article."""
    db.table("articles").update(article_id, _json_places(decision))


def article_ids(db: sqlite_utils.Database) -> list[int]:
    """Every article id, oldest first."""
    return [row[0] for row in db.execute("SELECT id FROM articles ORDER BY id")]


def _json_places(decision: dict[str, Any]) -> dict[str, Any]:
    places = decision.get("matched_places")
    if isinstance(places, list | tuple):
        return decision | {"matched_places": json.dumps(list(places), ensure_ascii=False)}
    return decision


def article_id_for_entry(db: sqlite_utils.Database, entry_key: str) -> int | None:
    """The id of the article stored for a feed entry or local file, if any."""
    row = db.execute("SELECT id FROM articles WHERE entry_key = ? LIMIT 1", [entry_key]).fetchone()
    return int(row[0]) if row else None


def search_articles(db: sqlite_utils.Database, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Full-text search on title and text, best match first."""
    return list(
        db.table("articles").search(
            query, columns=["id", "published_at", "outlet", "title", "url", "is_relevant", "duplicate_of"],
            limit=limit, quote=True,
        )
    )


def purge_dropped_text(db: sqlite_utils.Database, before: str, now: str) -> int:
    """Clear the text of dropped articles fetched before `before`; metadata and decision stay."""
    cursor = db.execute(
        """UPDATE articles SET text = NULL, text_purged_at = ?
           WHERE is_relevant = 0 AND text IS NOT NULL AND fetched_at < ?""",
        [now, before],
    )
    return cursor.rowcount


def purge_fetch_log(db: sqlite_utils.Database, before: str) -> int:
    """Delete fetch-log rows older than `before`."""
    return db.execute("DELETE FROM fetches WHERE started_at < ?", [before]).rowcount


def article_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """How many articles are kept, dropped and folded as copies."""
    row = db.execute(
        """SELECT count(*), coalesce(sum(is_relevant = 1), 0), coalesce(sum(is_relevant = 0), 0),
                  coalesce(sum(duplicate_of IS NOT NULL), 0) FROM articles"""
    ).fetchone()
    return {"articles": row[0], "kept": row[1], "dropped": row[2], "duplicates": row[3]}
