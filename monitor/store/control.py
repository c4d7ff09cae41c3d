"""SQL for town control state, the history of changes and the alert outbox rows they decide; no business rules.

Every update recomputes a town's whole timeline from all its stored claims (`monitor.control_timeline.build_timeline`)
and rewrites the town's rows, so the result is the same whatever order articles arrived in. Alerts are only
ever inserted or updated, never deleted: an alert id already written is reused (see `plan_alerts`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import sqlite_utils

from monitor.actors import UNKNOWN, ActorLexicon
from monitor.control import Change, ControlSettings, Evidence, Timeline, TownInfo
from monitor.control_alerts import AlertDecision, StoredAlert, plan_alerts
from monitor.control_timeline import assign_source_keys, build_timeline
from monitor.store.schema import migrations

log = logging.getLogger(__name__)

# Written by the dedup stage: pairs of articles that share wire passages.
SHARED_PASSAGES_TABLE = "shared_passages"
TOWNS_PER_BATCH = 50  # towns whose evidence is read at once on a replay


@migrations(name="m005_control")
def m005_control(db: sqlite_utils.Database) -> None:
    """Towns with their holder, the history of control changes, the alert outbox and the front_map view."""
    db.table("towns").create(
        {
            "id": str,  # gazetteer id
            "name": str,  # canonical English name
            "governorate": str,
            "lat": float,
            "lon": float,
            "kind": str,  # gazetteer kind: village, town, hill, area, governorate...
            "watched": int,
            "holder": str,  # side holding the town now, null when no claim says
            "since": str,  # event date (YYYY-MM-DD) of the change that gave it to the holder
            "confidence": str,  # claimed | confirmed | contested
            "claim_ids": str,  # JSON: claims behind the current holding
            "source_count": int,  # independent sources behind the current holding
            "spellings": str,  # JSON: the names the sources used for this town
            "updated_at": str,
        },
        pk="id",
        defaults={"watched": 0},
    )
    db.table("towns").create_index(["watched"])
    db.table("control_changes").create(
        {
            "id": int,
            "town_id": str,
            "seq": int,  # position in the town's history, 1 = earliest
            "from_side": str,
            "to_side": str,
            "event_date": str,
            "detected_at": str,  # when the monitor first saw this change
            "confidence": str,  # claimed | confirmed | contested
            "kind": str,  # claimed | reverted (back to the side that lost the previous change)
            "claim_ids": str,  # JSON: claims reporting the change
            "dispute_ids": str,  # JSON: claims denying it or calling control unclear
            "outlets": str,  # JSON
            "source_count": int,  # independent sources (copies and shared wire text count once)
            "is_background": int,  # only recalled as history: never alerted
            "is_current": int,  # the change that gave the town its current holder
        },
        pk="id",
        foreign_keys=[("town_id", "towns", "id")],
    )
    db.table("control_changes").create_index(["town_id", "seq"], unique=True)
    db.table("control_changes").create_index(["event_date"])
    db.table("alerts").create(
        {
            "id": str,  # stable: derived from (town, new holder, event date, kind) and reused thereafter
            "kind": str,  # claimed | confirmed | contested | reverted
            "town_id": str,
            "from_side": str,
            "to_side": str,
            "event_date": str,
            "confidence": str,
            "created_at": str,
            "updated_at": str,  # last time new sources changed the payload
            "is_backfill": int,  # recorded by a backfill or replay: history only, never delivered
            "payload": str,  # JSON, see monitor.control_alerts.alert_payload
        },
        pk="id",
        defaults={"is_backfill": 0},
    )
    db.table("alerts").create_index(["town_id"])
    db.table("alerts").create_index(["created_at"])
    db.execute(FRONT_MAP_VIEW)
    db.execute(CONTROL_EVIDENCE_VIEW)


FRONT_MAP_VIEW = """
CREATE VIEW front_map AS
SELECT
  t.id, t.name, t.governorate, t.holder, t.since, t.confidence, t.lat, t.lon,
  coalesce(c.from_side, 'unknown') || ' -> ' || c.to_side AS last_change,
  c.event_date AS last_change_date,
  c.detected_at AS last_detected_at,
  t.source_count,
  (SELECT count(*) FROM control_changes AS h WHERE h.town_id = t.id) AS changes
FROM towns AS t
LEFT JOIN control_changes AS c ON c.town_id = t.id AND c.is_current = 1
WHERE t.watched = 1 AND (t.kind NOT IN ('governorate', 'district', 'area') OR t.holder IS NOT NULL)
ORDER BY t.name
"""


# Every change with each claim behind it, its quote and its article: "why does the map say so?".
CONTROL_EVIDENCE_VIEW = """
CREATE VIEW control_evidence AS
SELECT
  h.town_id, t.name AS town, h.seq, h.from_side, h.to_side, h.event_date, h.confidence,
  c.id AS claim_id, c.place, c.status, c.event_date AS claim_event_date, c.claimed_by, c.quote,
  a.outlet, a.url, a.title, a.published_at
FROM control_changes AS h
JOIN towns AS t ON t.id = h.town_id
JOIN json_each(h.claim_ids) AS j
JOIN claims AS c ON c.id = j.value
JOIN articles AS a ON a.id = c.article_id
ORDER BY h.town_id, h.seq, a.published_at
"""


def sync_towns(db: sqlite_utils.Database, towns: Iterable[TownInfo]) -> None:
    """Insert or refresh the gazetteer columns of towns, keeping their control state."""
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "governorate": t.governorate,
            "lat": t.lat,
            "lon": t.lon,
            "kind": t.kind,
            "watched": int(t.is_watched),
        }
        for t in towns
    ]
    db.table("towns").upsert_all(rows, pk="id")


def update_towns(
    db: sqlite_utils.Database,
    town_ids: Iterable[str],
    towns: Mapping[str, TownInfo],
    settings: ControlSettings,
    now: str,
    *,
    backfill: bool = False,
    actors: ActorLexicon | None = None,
) -> list[str]:
    """Recompute the named towns from their stored claims; return the ids of alerts created or updated.

    With `actors`, a claim attributed to the side that lost the town, or reported by an outlet of that side
    (the lexicon's outlet leanings), confirms the change as a concession."""
    wanted = sorted({t for t in town_ids if t in towns})
    alert_ids: list[str] = []
    for start in range(0, len(wanted), TOWNS_PER_BATCH):
        batch = wanted[start : start + TOWNS_PER_BATCH]
        evidence = load_evidence(db, batch, actors)
        with db.atomic():
            for town_id in batch:
                alert_ids += save_town(db, towns[town_id], evidence.get(town_id, []), settings, now, backfill=backfill)
    return alert_ids


def replay_control(
    db: sqlite_utils.Database,
    towns: Mapping[str, TownInfo],
    settings: ControlSettings,
    now: str,
    *,
    backfill: bool = True,
    actors: ActorLexicon | None = None,
) -> list[str]:
    """Recompute every town from stored claims (after a gazetteer or lexicon change); alerts already written keep
    their ids, and alerts for changes found only now are recorded as backfill unless `backfill` is False."""
    sync_towns(db, towns.values())
    with_claims = {row[0] for row in db.execute("SELECT DISTINCT town_id FROM claims WHERE town_id IS NOT NULL")}
    with_history = {row[0] for row in db.execute("SELECT DISTINCT town_id FROM control_changes")}
    return update_towns(db, with_claims | with_history, towns, settings, now, backfill=backfill, actors=actors)


def load_evidence(
    db: sqlite_utils.Database, town_ids: Sequence[str], actors: ActorLexicon | None = None
) -> dict[str, list[Evidence]]:
    """Read the claims about these towns with their articles and independent-source keys."""
    if not town_ids:
        return {}
    # json_each keeps any number of ids to one SQL parameter (no limit on bound variables).
    rows = list(
        db.query(
            """
            SELECT c.id AS claim_id, c.article_id, c.town_id, c.place, c.gained_by, c.lost_by, c.status,
                   c.event_date, c.claimed_by, c.quote, a.published_at, a.outlet, a.url, a.title,
                   coalesce(a.cluster_id, a.duplicate_of) AS cluster_id
            FROM claims AS c JOIN articles AS a ON a.id = c.article_id
            WHERE c.town_id IN (SELECT value FROM json_each(?))
            ORDER BY c.id
            """,
            [json.dumps(list(town_ids))],
        )
    )
    clusters = {row["article_id"]: row["cluster_id"] for row in rows}
    keys = assign_source_keys(clusters, _shared_pairs(db, list(clusters)))
    by_town: dict[str, list[Evidence]] = {}
    for row in rows:
        by_town.setdefault(row["town_id"], []).append(
            Evidence(
                claim_id=row["claim_id"],
                article_id=row["article_id"],
                town_id=row["town_id"],
                place_as_written=row["place"] or "",
                gained_by=row["gained_by"],
                lost_by=row["lost_by"],
                status=row["status"],
                event_date=row["event_date"],
                published_at=row["published_at"],
                outlet=row["outlet"],
                url=row["url"],
                title=row["title"],
                quote=row["quote"] or "",
                source_key=keys[row["article_id"]],
                claimed_by=row["claimed_by"],
                reporter_side=_reporter_side(row["claimed_by"], row["outlet"], actors),
            )
        )
    return by_town


def _reporter_side(claimed_by: str | None, outlet: str | None, actors: ActorLexicon | None) -> str | None:
    # Who says it: the actor the claim is attributed to, else the side an outlet's leaning speaks for.
    if actors is None:
        return None
    side = actors.side_of(claimed_by, outlet) if claimed_by else UNKNOWN
    return side if side != UNKNOWN else actors.unnamed_gainer(outlet)


def _shared_pairs(db: sqlite_utils.Database, article_ids: Sequence[int]) -> list[tuple[int, int]]:
    if not article_ids or SHARED_PASSAGES_TABLE not in db.table_names():
        return []
    sql = (
        f"SELECT article_id, other_id FROM {SHARED_PASSAGES_TABLE} "
        "WHERE article_id IN (SELECT value FROM json_each(:ids)) AND other_id IN (SELECT value FROM json_each(:ids))"
    )
    return [(a, b) for a, b in db.execute(sql, {"ids": json.dumps(list(article_ids))}).fetchall()]


def save_town(
    db: sqlite_utils.Database,
    town: TownInfo,
    evidence: Sequence[Evidence],
    settings: ControlSettings,
    now: str,
    *,
    backfill: bool = False,
) -> list[str]:
    """Recompute one town from its evidence, rewrite its state and history, write its alerts; return their ids."""
    timeline = build_timeline(town.id, evidence, settings)
    detected = _detected_at(db, town.id, timeline.changes, settings, now)
    _write_town(db, town, timeline, now)
    _write_changes(db, town.id, timeline.changes, detected)
    existing = [
        StoredAlert(row["id"], row["kind"], row["town_id"], row["to_side"], row["event_date"])
        for row in db.query("SELECT id, kind, town_id, to_side, event_date FROM alerts WHERE town_id = ?", [town.id])
    ]
    decisions = plan_alerts(town, timeline, evidence, existing, detected, settings)
    return [d.id for d in decisions if _write_alert(db, d, now, backfill=backfill)]


def _detected_at(
    db: sqlite_utils.Database, town_id: str, changes: Sequence[Change], settings: ControlSettings, now: str
) -> list[str]:
    # A change seen before keeps the time it was first detected, even when new claims moved its date a little.
    stored = list(
        db.execute("SELECT to_side, event_date, detected_at FROM control_changes WHERE town_id = ?", [town_id])
    )
    detected: list[str] = []
    for change in changes:
        near = [
            (gap, detected_at, i)
            for i, (to_side, event_date, detected_at) in enumerate(stored)
            if to_side == change.to_side
            and (gap := abs(_days_between(event_date, change.event_date))) <= settings.merge_window_days
        ]
        if near:
            best = min(near)
            detected.append(best[1])
            stored.pop(best[2])
        else:
            detected.append(now)
    return detected


def _days_between(a: str, b: str) -> int:
    return (date.fromisoformat(a) - date.fromisoformat(b)).days


def _write_town(db: sqlite_utils.Database, town: TownInfo, timeline: Timeline, now: str) -> None:
    state = timeline.state
    current = timeline.changes[-1] if timeline.changes else None
    db.table("towns").upsert(
        {
            "id": town.id,
            "name": town.name,
            "governorate": town.governorate,
            "lat": town.lat,
            "lon": town.lon,
            "kind": town.kind,
            "watched": int(town.is_watched),
            "holder": state.holder,
            "since": state.since,
            "confidence": state.confidence,
            "claim_ids": json.dumps(list(state.claim_ids)),
            "source_count": current.source_count if current else 0,
            "spellings": json.dumps(list(state.spellings), ensure_ascii=False),
            "updated_at": now,
        },
        pk="id",
    )


def _write_changes(db: sqlite_utils.Database, town_id: str, changes: Sequence[Change], detected: Sequence[str]) -> None:
    db.execute("DELETE FROM control_changes WHERE town_id = ?", [town_id])
    rows = [
        {
            "town_id": town_id,
            "seq": seq,
            "from_side": change.from_side,
            "to_side": change.to_side,
            "event_date": change.event_date,
            "detected_at": detected_at,
            "confidence": change.confidence,
            "kind": change.kind,
            "claim_ids": json.dumps(list(change.claim_ids)),
            "dispute_ids": json.dumps(list(change.dispute_ids)),
            "outlets": json.dumps(list(change.outlets), ensure_ascii=False),
            "source_count": change.source_count,
            "is_background": int(change.is_background),
            "is_current": int(seq == len(changes)),
        }
        for seq, (change, detected_at) in enumerate(zip(changes, detected, strict=True), start=1)
    ]
    db.table("control_changes").insert_all(rows)


def _write_alert(db: sqlite_utils.Database, decision: AlertDecision, now: str, *, backfill: bool) -> bool:
    """Insert a new alert or refresh an existing one; return whether anything was written."""
    payload = json.dumps(decision.payload, ensure_ascii=False, sort_keys=True)
    row = db.execute("SELECT payload, confidence FROM alerts WHERE id = ?", [decision.id]).fetchone()
    if row is None:
        db.table("alerts").insert(
            {
                "id": decision.id,
                "kind": decision.kind,
                "town_id": decision.town_id,
                "from_side": decision.from_side,
                "to_side": decision.to_side,
                "event_date": decision.event_date,
                "confidence": decision.confidence,
                "created_at": now,
                "updated_at": now,
                "is_backfill": int(backfill),
                "payload": payload,
            }
        )
        log.info("alert created id=%s kind=%s town=%s", decision.id, decision.kind, decision.town_id)
        return True
    if row[0] == payload and row[1] == decision.confidence:
        return False
    # The kind and id stay: the alert may already be delivered under them; the payload gains the new sources.
    db.table("alerts").update(
        decision.id,
        {
            "from_side": decision.from_side,
            "event_date": decision.event_date,
            "confidence": decision.confidence,
            "updated_at": now,
            "payload": payload,
        },
    )
    return True
