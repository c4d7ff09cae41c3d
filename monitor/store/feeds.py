"""SQL for feeds, their schedule and health, the fetch log and feed entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlite_utils

# Entries that failed this many times are not picked again (the pipeline keeps their summary instead).
ENTRY_STATES = ("pending", "done", "failed")


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A feed or page source as the scheduler sees it."""

    id: int
    name: str
    url: str
    kind: str
    outlet: str | None
    link_pattern: str | None
    interval_s: int | None
    feed_url: str | None
    etag: str | None
    last_modified: str | None
    error_count: int

    @property
    def fetch_url(self) -> str:
        """The URL to poll: the discovered feed when the configured URL was an HTML page."""
        return self.feed_url or self.url


@dataclass(frozen=True, slots=True)
class EntryRow:
    """A feed entry whose article is still to be fetched."""

    key: str
    feed_id: int
    url: str | None
    title: str | None
    summary: str | None
    published_at: str | None
    attempts: int
    outlet: str | None
    feed_name: str


def sync_feeds(db: sqlite_utils.Database, sources: list[dict[str, Any]], now: str) -> None:
    """Make the feeds table match the configured sources; sources no longer configured are disabled."""
    names = [source["name"] for source in sources]
    with db.atomic():
        for source in sources:
            existing = list(db.table("feeds").rows_where("name = ?", [source["name"]]))
            if existing:
                row = existing[0]
                changes = dict(source, is_enabled=1)
                if row["url"] != source["url"]:  # a new URL starts a fresh schedule and validators
                    changes |= {"feed_url": None, "etag": None, "last_modified": None, "is_gone": 0,
                                "error_count": 0, "next_check_at": None}
                db.table("feeds").update(row["id"], changes)
            else:
                db.table("feeds").insert(dict(source, created_at=now, is_enabled=1, error_count=0, is_gone=0))
        placeholders = ",".join("?" for _ in names) or "''"
        db.execute(f"UPDATE feeds SET is_enabled = 0 WHERE name NOT IN ({placeholders})", names)


def due_feeds(db: sqlite_utils.Database, now: str, limit: int, names: list[str] | None = None) -> list[FeedRow]:
    """Feeds whose next check has passed (or all enabled feeds named in `names`)."""
    where = "is_enabled = 1 AND is_gone = 0"
    params: list[Any] = []
    if names is not None:
        where += f" AND name IN ({','.join('?' for _ in names) or chr(39) * 2})"
        params += names
    else:
        where += " AND (next_check_at IS NULL OR next_check_at <= ?)"
        params.append(now)
    rows = db.query(
        f"SELECT * FROM feeds WHERE {where} ORDER BY next_check_at IS NOT NULL, next_check_at, id LIMIT ?",
        [*params, limit],
    )
    return [_feed_row(row) for row in rows]


def _feed_row(row: dict[str, Any]) -> FeedRow:
    return FeedRow(
        id=row["id"], name=row["name"], url=row["url"], kind=row["kind"], outlet=row["outlet"],
        link_pattern=row["link_pattern"], interval_s=row["interval_s"], feed_url=row["feed_url"],
        etag=row["etag"], last_modified=row["last_modified"], error_count=row["error_count"] or 0,
    )


def record_fetch(db: sqlite_utils.Database, row: dict[str, Any]) -> None:
    """Append one attempt to the fetch log."""
    db.table("fetches").insert(row)


def update_feed(db: sqlite_utils.Database, feed_id: int, changes: dict[str, Any]) -> None:
    """Write schedule and health columns of one feed."""
    db.table("feeds").update(feed_id, changes)


def add_entries(db: sqlite_utils.Database, feed_id: int, entries: list[dict[str, Any]], now: str) -> int:
    """Insert entries not seen before as pending; returns how many were new."""
    if not entries:
        return 0
    keys = [entry["key"] for entry in entries]
    known = {
        row["key"]
        for row in db.query(f"SELECT key FROM entries WHERE key IN ({','.join('?' for _ in keys)})", keys)
    }
    fresh = [dict(entry, feed_id=feed_id, first_seen_at=now, state="pending", attempts=0)
             for entry in entries if entry["key"] not in known]
    # A feed may list one entry twice: keep the first.
    unique = list({entry["key"]: entry for entry in reversed(fresh)}.values())[::-1]
    db.table("entries").insert_all(unique, pk="key", ignore=True)
    return len(unique)


def pending_entries(db: sqlite_utils.Database, feed_ids: list[int] | None, per_feed: int) -> list[EntryRow]:
    """Entries still to fetch for these feeds (None: every enabled feed), oldest first, at most `per_feed` each."""
    if feed_ids == []:
        return []
    among = "" if feed_ids is None else f"AND feed_id IN ({','.join('?' for _ in feed_ids)})"
    rows = db.query(
        f"""SELECT e.*, f.outlet AS feed_outlet, f.name AS feed_name FROM (
              SELECT *, ROW_NUMBER() OVER (PARTITION BY feed_id ORDER BY first_seen_at, key) AS n
              FROM entries WHERE state = 'pending' {among}
            ) e JOIN feeds f ON f.id = e.feed_id WHERE e.n <= ? AND f.is_enabled = 1""",
        [*(feed_ids or []), per_feed],
    )
    return [
        EntryRow(key=r["key"], feed_id=r["feed_id"], url=r["url"], title=r["title"], summary=r["summary"],
                 published_at=r["published_at"], attempts=r["attempts"] or 0,
                 outlet=r["source"] or r["feed_outlet"] or r["feed_name"], feed_name=r["feed_name"])
        for r in rows
    ]


def finish_entry(db: sqlite_utils.Database, key: str, article_id: int | None, note: str | None = None) -> None:
    """Mark an entry done, linked to the article it produced (or to the article it duplicates)."""
    db.table("entries").update(key, {"state": "done", "article_id": article_id, "last_error": note})


def fail_entry(db: sqlite_utils.Database, key: str, error: str) -> int:
    """Count a failed article fetch; returns the attempts so far."""
    db.execute("UPDATE entries SET attempts = attempts + 1, last_error = ? WHERE key = ?", [error, key])
    return int(db.execute("SELECT attempts FROM entries WHERE key = ?", [key]).fetchone()[0])


def feed_health(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """One row per configured feed with its health columns and article counts."""
    return list(
        db.query(
            """SELECT f.name, f.kind, f.url, f.last_status, f.error_count, f.last_error, f.last_success_at,
                      f.next_check_at, f.is_gone, f.is_enabled,
                      (SELECT count(*) FROM articles a WHERE a.feed_id = f.id) AS articles
               FROM feeds f ORDER BY f.name"""
        )
    )
