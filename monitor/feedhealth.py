"""Feed-health alerts: a feed failing too long, or silent far beyond its usual cadence, alerts once per
episode and once more when it recovers. The assessment is pure; the outbox writes go through store/outbox."""

from __future__ import annotations

import itertools
import json
import logging
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from monitor.channels import DeliverySettings
from monitor.store import outbox

log = logging.getLogger(__name__)

MIN_GAPS = 4  # entry gaps needed before a feed's usual cadence is trusted


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """A feed's health now: ok, failing or silent, since when, and why in words."""

    state: str
    since: str = ""
    detail: str = ""


def parse_time(text: str | None) -> datetime | None:
    """An ISO timestamp as an aware UTC datetime (naive ones are taken as UTC), or None."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def usual_gap_s(times: list[str]) -> float | None:
    """The median gap between consecutive entries, in seconds; None when there are too few to tell."""
    moments = sorted({m for m in (parse_time(t) for t in times) if m is not None})
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(moments)]
    return statistics.median(gaps) if len(gaps) >= MIN_GAPS else None


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


def assess_feed(feed: dict[str, Any], entry_times: list[str], now: datetime, settings: DeliverySettings) -> FeedHealth:
    """Failing when every poll has failed for feed_failing_after_s; silent when no entry came for
    feed_silent_factor times the usual gap (and at least feed_silent_min_s); else ok."""
    if settings.feed_failing_after_s and (feed.get("error_count") or 0) > 0:
        since = parse_time(feed.get("last_success_at")) or parse_time(feed.get("created_at"))
        if since is not None and (now - since).total_seconds() >= settings.feed_failing_after_s:
            detail = (f"{feed['error_count']} failed polls, no success for {_hours((now - since).total_seconds())};"
                      f" last error: {feed.get('last_error') or 'unknown'}")
            return FeedHealth("failing", outbox.iso(since), detail)
    last_entry = parse_time(feed.get("last_entry_at")) or (parse_time(entry_times[0]) if entry_times else None)
    gap = usual_gap_s(entry_times)
    if settings.feed_silent_factor and last_entry is not None and gap is not None:
        quiet = (now - last_entry).total_seconds()
        if quiet >= max(settings.feed_silent_factor * gap, settings.feed_silent_min_s):
            detail = f"no new entry for {_hours(quiet)}; it usually publishes every {_hours(gap)}"
            return FeedHealth("silent", outbox.iso(last_entry), detail)
    return FeedHealth("ok")


def _alert_row(feed: dict[str, Any], state: str, since: str, detail: str, now: datetime) -> dict[str, Any]:
    alert_id = f"feed_health:{feed['id']}:{state}:{since}"
    stamp = outbox.iso(now)
    payload: dict[str, Any] = {
        "id": alert_id, "kind": "feed_health", "summary": f"feed {feed['name']}: {state} (feed health)",
        "town": None, "detected_at": stamp, "sources": [],
        "feed": {"name": feed["name"], "url": feed["url"], "state": state, "since": since, "detail": detail},
    }
    return {"id": alert_id, "kind": "feed_health", "town_id": None, "from_side": None, "to_side": None,
            "event_date": stamp[:10], "confidence": None, "created_at": stamp, "updated_at": stamp,
            "payload": json.dumps(payload, ensure_ascii=False)}


def feed_health_alerts(db: sqlite_utils.Database, now: datetime, settings: DeliverySettings) -> list[str]:
    """Write a feed_health alert for each feed whose health changed (new episode or recovery); returns ids."""
    if not db["alerts"].exists():
        return []
    written = []
    for feed in outbox.feeds_for_health(db):
        health = assess_feed(feed, outbox.entry_times(db, feed["id"]), now, settings)
        previous = feed["health_state"] or "ok"
        if health.state == previous:
            continue
        if health.state == "ok":
            detail = f"{previous} since {feed['health_since']}, healthy again"
            row = _alert_row(feed, "recovered", feed["health_since"] or "", detail, now)
        else:
            row = _alert_row(feed, health.state, health.since, health.detail, now)
        if outbox.insert_alert(db, row):
            written.append(row["id"])
            log.warning("feed health alert feed=%s state=%s", feed["name"], json.loads(row["payload"])["feed"]["state"])
        outbox.save_feed_health(db, feed["id"], health.state, health.since or None, row["id"], now)
    return written
