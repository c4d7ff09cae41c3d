"""Alert planning: which alerts a watched town's timeline calls for, with stable ids and their payloads; no I/O.

Alerts (`plan_alerts`), for watched towns only: every change reported by at least one `new` claim and not
stale gets a `claimed` (or `reverted`) alert; the current change also gets `confirmed` or `contested` when it
is. Ids are stable and reused for the same change, so reprocessing updates an alert and never repeats it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from monitor.control import Change, ControlSettings, Evidence, Timeline, TownInfo

PRIMARY_KINDS = frozenset({"claimed", "reverted"})


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """An alert already in the outbox, as the planner needs it to reuse its id."""

    id: str
    kind: str
    town_id: str
    to_side: str | None
    event_date: str | None


@dataclass(frozen=True, slots=True)
class AlertDecision:
    """An alert to write (new id) or update (existing id) in the outbox."""

    id: str
    kind: str  # claimed | confirmed | contested | reverted
    town_id: str
    from_side: str | None
    to_side: str
    event_date: str
    confidence: str
    payload: dict[str, object] = field(hash=False, compare=True)


def plan_alerts(
    town: TownInfo,
    timeline: Timeline,
    evidence: Sequence[Evidence],
    existing: Sequence[StoredAlert],
    detected_at: Sequence[str],
    settings: ControlSettings,
) -> list[AlertDecision]:
    """Decide the alerts a town's timeline calls for, reusing the ids of matching alerts already written."""
    if not town.is_watched or not timeline.changes:
        return []
    by_claim = {e.claim_id: e for e in evidence}
    last = len(timeline.changes) - 1
    decisions: list[AlertDecision] = []
    taken: set[str] = set()
    for index, (change, detected) in enumerate(zip(timeline.changes, detected_at, strict=True)):
        if change.is_background or _is_stale(change, timeline.changes[last], settings):
            continue
        # Confirmation and dispute matter for the current holding only, not for a change already undone.
        kinds = [change.kind] + ([change.confidence] if index == last and change.confidence != "claimed" else [])
        for wanted in kinds:
            alert_id, kind = _alert_id(town.id, change, wanted, existing, taken, settings)
            taken.add(alert_id)
            payload = alert_payload(alert_id, kind, town, change, by_claim, detected)
            decisions.append(
                AlertDecision(
                    id=alert_id,
                    kind=kind,
                    town_id=town.id,
                    from_side=change.from_side,
                    to_side=change.to_side,
                    event_date=change.event_date,
                    confidence=change.confidence,
                    payload=payload,
                )
            )
    return decisions


def _is_stale(change: Change, latest: Change, settings: ControlSettings) -> bool:
    age = date.fromisoformat(latest.event_date) - date.fromisoformat(change.event_date)
    return age.days > settings.stale_after_days


def _alert_id(
    town_id: str,
    change: Change,
    kind: str,
    existing: Sequence[StoredAlert],
    taken: set[str],
    settings: ControlSettings,
) -> tuple[str, str]:
    # An alert already written for this change keeps its id and kind even when later claims shift the change's
    # date or turn a claim into a reversal: reprocessing updates it and never adds a second one.
    family = PRIMARY_KINDS if kind in PRIMARY_KINDS else {kind}
    day = date.fromisoformat(change.event_date)
    matches = [
        (abs((date.fromisoformat(a.event_date) - day).days), a.id, a.kind)
        for a in existing
        if a.kind in family and a.to_side == change.to_side and a.event_date and a.id not in taken
    ]
    near = [m for m in matches if m[0] <= settings.merge_window_days]
    if near:
        _, alert_id, stored_kind = min(near)
        return alert_id, stored_kind
    key = f"{town_id}|{change.to_side}|{kind}|{change.event_date}"
    return hashlib.sha256(key.encode()).hexdigest()[:20], kind


def alert_payload(
    alert_id: str,
    kind: str,
    town: TownInfo,
    change: Change,
    by_claim: Mapping[int, Evidence],
    detected_at: str,
) -> dict[str, object]:
    """Build the JSON payload of an alert: town, sides, kind, confidence, dates and every source with its quote."""
    claims = [by_claim[c] for c in (*change.claim_ids, *change.dispute_ids) if c in by_claim]
    return {
        "id": alert_id,
        "kind": kind,
        "summary": f"{town.name}: {change.from_side or 'unknown'} -> {change.to_side} ({kind})",
        "town": {
            "id": town.id,
            "name": town.name,
            "spellings": sorted({c.place_as_written for c in claims if c.place_as_written}),
            "governorate": town.governorate,
            "lat": town.lat,
            "lon": town.lon,
        },
        "from_side": change.from_side,
        "to_side": change.to_side,
        "confidence": change.confidence,
        "event_date": change.event_date,
        "detected_at": detected_at,
        "independent_sources": change.source_count,
        "sources": _sources(claims),
    }


def _sources(claims: Sequence[Evidence]) -> list[dict[str, object]]:
    # Sources are numbered by independent source within the alert (copies and wire text share a number); the
    # stored source keys themselves are not shown: they are article ids that may change with later articles.
    seen: dict[tuple[str, str], dict[str, object]] = {}
    numbers: dict[str, int] = {}
    for claim in sorted(claims, key=lambda c: (c.published_at or "", c.url or "", c.claim_id)):
        seen.setdefault(
            (claim.url or str(claim.article_id), claim.quote),
            {
                "outlet": claim.outlet,
                "url": claim.url,
                "title": claim.title,
                "published_at": claim.published_at,
                "quote": claim.quote,
                "place": claim.place_as_written,
                "status": claim.status,
                "claimed_by": claim.claimed_by,
                "independent_source": numbers.setdefault(claim.source_key, len(numbers) + 1),
            },
        )
    return list(seen.values())
