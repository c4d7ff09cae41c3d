"""A consistent copy of the live archive with SQLite's online backup API, safe while the daemon writes.

The copy is taken in one step inside a single read transaction: in WAL mode that is a snapshot that never blocks
the daemon's writer and never restarts. It is written beside the destination, checked, then renamed into place,
so a backup file is either complete or absent.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import StoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BackupResult:
    """What a backup wrote: where, how big, how long, and the copy's integrity check."""

    source: str
    destination: str
    pages: int
    bytes: int
    elapsed_s: float
    integrity: str


def backup_database(source: Path | str, destination: Path | str, *, overwrite: bool = False) -> BackupResult:
    """Copy the archive at `source` to `destination` online; raise StoreError when it cannot."""
    source, destination = Path(source), Path(destination)
    if destination.is_dir():
        destination = destination / source.name
    if destination.exists() and not overwrite:
        raise StoreError("backup destination exists", path=str(destination),
                         hint="choose a new file name (e.g. with the date) or pass --overwrite")
    if not source.is_file():
        raise StoreError("no database to back up", path=str(source), hint="check --db or the [database] path")
    partial = destination.with_name(f".{destination.name}.partial")
    started = time.monotonic()
    try:
        pages = _copy(source, partial)
        integrity = _check(partial)
        if integrity != "ok":
            raise StoreError("backup copy failed its integrity check", path=str(partial), detail=integrity,
                             hint="check the source with: sqlite3 DB 'PRAGMA integrity_check'")
        os.replace(partial, destination)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"backup failed: {exc}", path=str(destination),
                         hint="check the destination directory exists and is writable") from exc
    finally:
        partial.unlink(missing_ok=True)
    result = BackupResult(source=str(source), destination=str(destination), pages=pages,
                          bytes=destination.stat().st_size, elapsed_s=time.monotonic() - started, integrity=integrity)
    log.debug("backup written source=%s destination=%s bytes=%d elapsed_s=%.2f",
             result.source, result.destination, result.bytes, result.elapsed_s)
    return result


def _copy(source: Path, target: Path) -> int:
    """Copy every page in one step; returns the page count of the copy."""
    # Read-only: a backup must never create or change anything beside the live archive.
    reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    writer = sqlite3.connect(target)
    try:
        reader.backup(writer, pages=-1)
        # A standalone copy: one file, no -wal beside it.
        writer.execute("PRAGMA journal_mode=DELETE")
        pages = writer.execute("PRAGMA page_count").fetchone()[0]
    finally:
        writer.close()
        reader.close()
    with target.open("rb") as handle:
        os.fsync(handle.fileno())
    return int(pages)


def _check(path: Path) -> str:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    finally:
        conn.close()
    return "; ".join(str(row[0]) for row in rows)
