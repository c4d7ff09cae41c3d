"""Opening the archive and its schema: WAL mode and named, transactional sqlite-utils migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from monitor.errors import StoreError

migrations = sqlite_utils.Migrations("monitor")


@migrations(name="m001_core")
def m001_core(db: sqlite_utils.Database) -> None:
    """Feeds, fetch log, feed entries and articles with full-text search."""
    _create_feeds(db)
    _create_fetches(db)
    _create_entries(db)
    _create_articles(db)
    _create_search(db)


def _create_feeds(db: sqlite_utils.Database) -> None:
    db.table("feeds").create(
        {
            "id": int,
            "name": str,
            "url": str,
            "kind": str,  # feed | page
            "outlet": str,
            "link_pattern": str,
            "interval_s": int,
            "feed_url": str,  # the feed found by autodiscovery, when url is an HTML page
            "etag": str,
            "last_modified": str,
            "next_check_at": str,
            "last_checked_at": str,
            "last_status": int,
            "last_error": str,
            "error_count": int,
            "last_success_at": str,
            "last_entry_at": str,
            "is_gone": int,
            "is_enabled": int,
            "created_at": str,
        },
        pk="id",
        not_null={"name", "url", "kind"},
        defaults={"error_count": 0, "is_gone": 0, "is_enabled": 1},
    )
    db.table("feeds").create_index(["name"], unique=True)
    db.table("feeds").create_index(["next_check_at"])


def _create_fetches(db: sqlite_utils.Database) -> None:
    db.table("fetches").create(
        {
            "id": int,
            "feed_id": int,
            "url": str,
            "final_url": str,  # after redirects
            "kind": str,  # feed | page | article
            "started_at": str,
            "status": int,
            "bytes": int,
            "elapsed_ms": int,
            "outcome": str,  # ok | not_modified | error
            "error_kind": str,
            "error": str,
        },
        pk="id",
        foreign_keys=[("feed_id", "feeds", "id")],
    )
    db.table("fetches").create_index(["feed_id", "started_at"])


def _create_entries(db: sqlite_utils.Database) -> None:
    db.table("entries").create(
        {
            "key": str,  # normalised URL, else GUID, else hash of title+summary
            "feed_id": int,
            "url": str,
            "guid": str,
            "title": str,
            "summary": str,
            "source": str,  # the outlet an aggregator item names
            "problems": str,  # JSON list: what parsing dropped or repaired (a file:// link, a year-9999 date)
            "published_at": str,
            "first_seen_at": str,
            "state": str,  # pending | done | failed
            "attempts": int,
            "last_error": str,
            "article_id": int,
        },
        pk="key",
        foreign_keys=[("feed_id", "feeds", "id")],
        defaults={"attempts": 0, "state": "pending"},
    )
    db.table("entries").create_index(["state"])


def _create_articles(db: sqlite_utils.Database) -> None:
    db.table("articles").create(
        {
            "id": int,
            "url": str,
            "canonical_url": str,
            "entry_key": str,
            "feed_id": int,
            "outlet": str,
            "title": str,
            "text": str,
            "summary": str,
            "author": str,
            "site_name": str,
            "language": str,
            "published_at": str,  # the date used: feed date first, page date second
            "feed_published_at": str,
            "page_published_at": str,
            "fetched_at": str,
            "text_source": str,  # page | summary | file
            "extract_note": str,  # why the text is the feed summary, when it is
            "content_hash": str,
            # relevance (classify)
            "relevance_score": float,
            "is_relevant": int,
            "matched_places": str,  # JSON list of canonical names
            "nearest_seed": str,
            "seed_similarity": float,
            "decision_reason": str,
            "classified_at": str,
            "text_purged_at": str,
            # copies (dedup)
            "is_text_repeated": int,
            "cluster_id": int,
            "duplicate_of": int,
            "duplicate_kind": str,  # exact | url | near | altered
            "duplicate_similarity": float,
            "altered_tokens": str,  # JSON
        },
        pk="id",
        foreign_keys=[("feed_id", "feeds", "id")],
    )
    for column in ("entry_key", "canonical_url", "content_hash", "published_at", "cluster_id", "is_relevant"):
        db.table("articles").create_index([column])
    db.table("articles").create_index(["feed_id", "is_relevant"])  # per-feed counts (status, feed health)


def _create_search(db: sqlite_utils.Database) -> None:
    db.table("articles").enable_fts(["title", "text"], create_triggers=True, tokenize="porter")
    # Re-index only when the indexed columns change: decision and copy columns are updated often.
    db.execute("DROP TRIGGER articles_au")
    db.execute(
        """CREATE TRIGGER articles_au AFTER UPDATE OF title, text ON articles BEGIN
             INSERT INTO articles_fts (articles_fts, rowid, title, text)
               VALUES ('delete', old.rowid, old.title, old.text);
             INSERT INTO articles_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text);
           END"""
    )


@contextmanager
def writing(db: sqlite_utils.Database, what: str) -> Iterator[None]:
    """A transaction whose SQLite errors become one StoreError saying what was being written and what to do."""
    try:
        with db.atomic():
            yield
    except sqlite3.Error as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            hint = "another process holds the database: a second daemon, or a long write; it is retried next pass"
        elif "full" in text:
            hint = "the disk or the database size limit is full: free space; nothing was half-written"
        else:
            hint = "run PRAGMA integrity_check on the database"
        raise StoreError(f"cannot write {what}: {text}", hint=hint) from exc


def open_db(path: Path | str) -> sqlite_utils.Database:
    """Open (creating if needed) the archive at `path` in WAL mode and apply pending migrations."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        db = sqlite_utils.Database(conn)
        if not db.table_names():  # only a new file can take it: lets maintenance hand freed pages back
            db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=30000")
        migrations.apply(db)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(
            f"cannot open database: {exc}", path=str(path), hint="check the [database] path and its permissions"
        ) from exc
    return db
