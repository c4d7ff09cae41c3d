"""SQL for the alert outbox: one delivery row per (alert, channel), queueing marks and feed-health state.

The `alerts` table itself is created by the control area (store/control.py); this module reads it and
adds `feed_health` alerts to it.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from monitor.errors import StoreError
from monitor.store.schema import migrations

# The alerts column that marks an alert written by a backfill: such alerts are never queued.
BACKFILL_COLUMN = "is_backfill"
DELIVERY_STATES = ("pending", "delivered", "failed")


@migrations(name="m_outbox_001_deliveries")
def m_outbox_001_deliveries(db: sqlite_utils.Database) -> None:
    """Deliveries per (alert, channel), the alerts already considered for queueing, feed-health state."""
    db.table("deliveries").create(
        {
            "id": int,
            "alert_id": str,
            "channel": str,  # the channel's configured name
            "channel_kind": str,  # email | webhook
            "state": str,  # pending | delivered | failed
            "attempts": int,
            "last_error": str,
            "next_try_at": str,  # NULL: due now
            "last_attempt_at": str,
            "delivered_at": str,
            "detail": str,  # what the channel answered when it accepted
            "created_at": str,
        },
        pk="id",
        not_null={"alert_id", "channel", "channel_kind", "state"},
        defaults={"state": "pending", "attempts": 0},
    )
    db.table("deliveries").create_index(["alert_id", "channel"], unique=True)
    db.table("deliveries").create_index(["state", "next_try_at"])
    # Each alert is matched against the channels once, when first seen: adding a channel or widening a
    # filter later must not send the whole history.
    db.table("queued_alerts").create({"alert_id": str, "queued_at": str, "deliveries": int}, pk="alert_id")
    db.table("feed_health").create(
        {"feed_id": int, "state": str, "since": str, "alert_id": str, "changed_at": str},  # ok|failing|silent
        pk="feed_id",
    )


def iso(moment: datetime) -> str:
    """ISO-8601 UTC text with a Z, the archive's timestamp format."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rows(db: sqlite_utils.Database, sql: str, params: dict[str, Any] | tuple[Any, ...] = ()) -> list[dict]:
    try:
        cursor = db.execute(sql, params)
    except sqlite3.Error as exc:
        raise StoreError(f"outbox query failed: {exc}", hint="check the database file") from exc
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _write(db: sqlite_utils.Database, sql: str, params: dict[str, Any] | tuple[Any, ...] = ()) -> int:
    """Run one statement in its own committed transaction; returns the number of rows changed."""
    try:
        with db.atomic():
            return db.execute(sql, params).rowcount
    except sqlite3.Error as exc:
        raise StoreError(f"outbox write failed: {exc}", hint="check the database file and its permissions") from exc


def unqueued_alerts(db: sqlite_utils.Database, limit: int = 500) -> list[dict[str, Any]]:
    """Alerts never matched against the channels yet, oldest first; backfill alerts are left out."""
    if not db["alerts"].exists():
        return []
    backfill = f"AND COALESCE(a.{BACKFILL_COLUMN}, 0) = 0" if BACKFILL_COLUMN in db["alerts"].columns_dict else ""
    return _rows(
        db,
        f"""SELECT a.* FROM alerts a LEFT JOIN queued_alerts q ON q.alert_id = a.id
            WHERE q.alert_id IS NULL {backfill} ORDER BY a.created_at, a.id LIMIT ?""",
        (limit,),
    )


def queue_alert(db: sqlite_utils.Database, alert_id: str, channels: list[tuple[str, str]], now: datetime) -> int:
    """Create a pending delivery per (channel name, channel kind) and mark the alert queued, atomically."""
    stamp = iso(now)
    try:
        with db.atomic():
            created = 0
            for name, kind in channels:
                created += db.execute(
                    """INSERT OR IGNORE INTO deliveries (alert_id, channel, channel_kind, state, attempts, created_at)
                       VALUES (?, ?, ?, 'pending', 0, ?)""",
                    (alert_id, name, kind, stamp),
                ).rowcount
            db.execute(
                "INSERT OR IGNORE INTO queued_alerts (alert_id, queued_at, deliveries) VALUES (?, ?, ?)",
                (alert_id, stamp, len(channels)),
            )
    except sqlite3.Error as exc:
        raise StoreError(f"cannot queue alert: {exc}", alert=alert_id) from exc
    return created


def due_deliveries(db: sqlite_utils.Database, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
    """Pending deliveries whose next try has come, with their alert's columns (alert_* keys), oldest first."""
    return _rows(
        db,
        """SELECT d.*, a.id AS alert_row_id, a.kind, a.town_id, a.from_side, a.to_side, a.event_date,
                  a.confidence, a.created_at AS alert_created_at, a.payload
           FROM deliveries d JOIN alerts a ON a.id = d.alert_id
           WHERE d.state = 'pending' AND (d.next_try_at IS NULL OR d.next_try_at <= ?)
           ORDER BY a.created_at, d.id LIMIT ?""",
        (iso(now), limit),
    )


def claim_delivery(
    db: sqlite_utils.Database, delivery_id: int, attempts: int, now: datetime, retry_at: datetime
) -> bool:
    """Count an attempt and push next_try_at to retry_at before sending, committed: a crash mid-send is
    retried later, and a second process sees the row as taken. False when someone else took it."""
    changed = _write(
        db,
        """UPDATE deliveries SET attempts = attempts + 1, last_attempt_at = ?, next_try_at = ?
           WHERE id = ? AND state = 'pending' AND attempts = ? AND (next_try_at IS NULL OR next_try_at <= ?)""",
        (iso(now), iso(retry_at), delivery_id, attempts, iso(now)),
    )
    return changed == 1


def mark_delivered(db: sqlite_utils.Database, delivery_id: int, now: datetime, detail: str) -> None:
    """Record that the channel accepted the alert; it is never sent on this channel again."""
    _write(
        db,
        """UPDATE deliveries SET state = 'delivered', delivered_at = ?, detail = ?, last_error = NULL,
           next_try_at = NULL WHERE id = ?""",
        (iso(now), detail, delivery_id),
    )


def record_failure(
    db: sqlite_utils.Database, delivery_id: int, error: str, retry_at: datetime, *, give_up: bool
) -> None:
    """Keep the error and the next try; with give_up the delivery becomes failed until requeued."""
    _write(
        db,
        "UPDATE deliveries SET last_error = ?, next_try_at = ?, state = ? WHERE id = ? AND state = 'pending'",
        (error, None if give_up else iso(retry_at), "failed" if give_up else "pending", delivery_id),
    )


def requeue_failed_deliveries(db: sqlite_utils.Database) -> int:
    """Make every failed delivery pending again, due now, with a fresh attempt count."""
    return _write(
        db, "UPDATE deliveries SET state = 'pending', attempts = 0, next_try_at = NULL WHERE state = 'failed'"
    )


def delivery_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Number of deliveries per state (pending, delivered, failed), zeros included, for `monitor status`."""
    counts = dict.fromkeys(DELIVERY_STATES, 0)
    for row in _rows(db, "SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state"):
        counts[row["state"]] = row["n"]
    return counts


def list_alerts(db: sqlite_utils.Database, *, state: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Recent alerts, one row per delivery (channel and state are None when an alert has none, e.g. backfill
    or filtered out), newest first, for `monitor alerts list`; `state` keeps only deliveries in that state."""
    if not db["alerts"].exists():
        return []
    where = "WHERE d.state = ?" if state else ""
    params: tuple[Any, ...] = (state, limit) if state else (limit,)
    backfill = f"a.{BACKFILL_COLUMN}" if BACKFILL_COLUMN in db["alerts"].columns_dict else "0"
    return _rows(
        db,
        f"""SELECT a.id AS alert_id, a.kind, a.town_id,
                   (SELECT name FROM towns t WHERE t.id = a.town_id) AS town,
                   a.from_side, a.to_side, a.event_date, a.created_at,
                   {backfill} AS is_backfill, d.channel, d.state, d.attempts, d.last_error, d.next_try_at,
                   d.delivered_at
            FROM alerts a LEFT JOIN deliveries d ON d.alert_id = a.id {where}
            ORDER BY a.created_at DESC, a.id, d.channel LIMIT ?""",
        params,
    )


def insert_alert(db: sqlite_utils.Database, row: dict[str, Any]) -> bool:
    """Add an alert to the outbox unless one with its id exists; True when it was added."""
    columns = ", ".join(row)
    marks = ", ".join(f":{name}" for name in row)
    return _write(db, f"INSERT OR IGNORE INTO alerts ({columns}) VALUES ({marks})", row) == 1


def feeds_for_health(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Enabled feeds with the columns feed health looks at, plus their stored health state."""
    return _rows(
        db,
        """SELECT f.id, f.name, f.url, f.last_success_at, f.error_count, f.last_error, f.last_entry_at,
                  f.last_checked_at, f.created_at, h.state AS health_state, h.since AS health_since
           FROM feeds f LEFT JOIN feed_health h ON h.feed_id = f.id
           WHERE COALESCE(f.is_enabled, 1) = 1 AND COALESCE(f.is_gone, 0) = 0 ORDER BY f.id""",
    )


def entry_times(db: sqlite_utils.Database, feed_id: int, limit: int = 30) -> list[str]:
    """When the feed's latest entries appeared (published date, else first seen), newest first."""
    rows = _rows(
        db,
        """SELECT COALESCE(published_at, first_seen_at) AS at FROM entries
           WHERE feed_id = ? AND COALESCE(published_at, first_seen_at) IS NOT NULL
           ORDER BY at DESC LIMIT ?""",
        (feed_id, limit),
    )
    return [row["at"] for row in rows]


def save_feed_health(
    db: sqlite_utils.Database, feed_id: int, state: str, since: str | None, alert_id: str | None, now: datetime
) -> None:
    """Remember a feed's health state so each episode alerts once, and once more on recovery."""
    _write(
        db,
        """INSERT INTO feed_health (feed_id, state, since, alert_id, changed_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(feed_id) DO UPDATE SET state = excluded.state, since = excluded.since,
           alert_id = excluded.alert_id, changed_at = excluded.changed_at""",
        (feed_id, state, since, alert_id, iso(now)),
    )
