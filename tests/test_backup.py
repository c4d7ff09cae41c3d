"""Online backup of the archive while a writer keeps inserting, and the refusals that protect existing files."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from monitor.backup import backup_database
from monitor.errors import StoreError
from monitor.store import open_db


def fill_archive(path: Path, rows: int) -> None:
    db = open_db(path)
    db["feeds"].insert_all({"name": f"feed-{i}", "url": f"https://example.org/{i}", "kind": "feed"}
                            for i in range(rows))
    db.conn.commit()
    db.close()


def count_feeds(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM feeds").fetchone()[0]
    finally:
        conn.close()


def test_backup_while_a_writer_is_busy(tmp_path: Path) -> None:
    source = tmp_path / "monitor.db"
    fill_archive(source, 2000)
    stop = threading.Event()
    written: list[int] = []

    def keep_writing() -> None:
        # The daemon: one connection inserting committed rows until told to stop.
        db = open_db(source)
        n = 0
        while not stop.is_set():
            with db.conn:
                db.execute("INSERT INTO feeds (name, url, kind) VALUES (?, ?, 'feed')", (f"live-{n}", "https://x/"))
            n += 1
            written.append(n)
        db.close()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    deadline = time.monotonic() + 10
    while not written and time.monotonic() < deadline:
        stop.wait(0.01)
    try:
        result = backup_database(source, tmp_path / "backup.db")
    finally:
        stop.set()
        writer.join(timeout=10)
    assert written, "the writer never wrote"
    copy = Path(result.destination)
    assert result.integrity == "ok" and result.pages > 0 and result.bytes == copy.stat().st_size
    # A snapshot: every seeded row, some of the live rows, never more than were written by the end.
    copied = count_feeds(copy)
    assert 2000 <= copied <= 2000 + len(written)
    assert count_feeds(source) == 2000 + len(written)
    assert not (tmp_path / "backup.db-wal").exists()  # a standalone file, ready to copy elsewhere
    # The copy is a full archive: migrations are recorded, so open_db accepts it as is.
    reopened = open_db(copy)
    assert "articles_fts" in reopened.table_names()
    reopened.close()


def test_backup_into_a_directory_keeps_the_source_name(tmp_path: Path) -> None:
    source = tmp_path / "monitor.db"
    fill_archive(source, 3)
    target = tmp_path / "backups"
    target.mkdir()
    result = backup_database(source, target)
    assert result.destination == str(target / "monitor.db") and count_feeds(target / "monitor.db") == 3


def test_backup_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    source = tmp_path / "monitor.db"
    fill_archive(source, 3)
    existing = tmp_path / "backup.db"
    existing.write_bytes(b"an older backup")
    with pytest.raises(StoreError, match="exists"):
        backup_database(source, existing)
    assert existing.read_bytes() == b"an older backup"
    backup_database(source, existing, overwrite=True)
    assert count_feeds(existing) == 3


def test_backup_errors_leave_no_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database"):
        backup_database(tmp_path / "absent.db", tmp_path / "backup.db")
    assert not (tmp_path / "absent.db").exists() and not (tmp_path / "backup.db").exists()
    source = tmp_path / "monitor.db"
    fill_archive(source, 3)
    with pytest.raises(StoreError, match="backup failed") as caught:
        backup_database(source, tmp_path / "no-such-dir" / "backup.db")
    assert caught.value.hint and "writable" in caught.value.hint
