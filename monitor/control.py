"""Who holds each town: the settings, towns, evidence, changes and timelines the control logic works on.

Timelines are built from evidence in `monitor.control_timeline`; the alerts they call for are planned in
`monitor.control_alerts`. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ControlSettings:
    """Tunable windows of the control logic ([control] in config.toml)."""

    # Claims for one side whose dates chain this close describe one change (one alert, updated).
    merge_window_days: int = 7
    # Independent reports naming different holders this close disagree: the change is contested.
    contest_window_days: int = 3
    # A change back to the side that lost the previous change this soon is a reversal.
    revert_window_days: int = 30
    # A change this much older than the town's current `since` is history: it never alerts.
    stale_after_days: int = 30
    # Outlets aligned with a side (outlet name -> side, any case): a report of its own side's loss concedes it.
    outlet_sides: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TownInfo:
    """A gazetteer place as the control record needs it."""

    id: str
    name: str
    governorate: str | None
    lat: float | None
    lon: float | None
    is_watched: bool
    kind: str = "town"  # gazetteer kind: village, town, hill, area, governorate...


class PlaceRecord(Protocol):
    """What the control record reads from a gazetteer place (monitor.gazetteer.Place)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def governorate(self) -> str: ...
    @property
    def lat(self) -> float | None: ...
    @property
    def lon(self) -> float | None: ...
    @property
    def is_watched(self) -> bool: ...


def towns_from_places(places: Iterable[PlaceRecord]) -> dict[str, TownInfo]:
    """Map gazetteer id -> TownInfo for every place of the gazetteer (`gazetteer.places`)."""
    return {
        p.id: TownInfo(p.id, p.name, p.governorate or None, p.lat, p.lon, bool(p.is_watched), p.kind or "town")
        for p in places
    }


@dataclass(frozen=True, slots=True)
class Evidence:
    """One stored claim about a town, with the article it came from and its independent-source key."""

    claim_id: int
    article_id: int
    town_id: str
    place_as_written: str
    gained_by: str | None
    lost_by: str | None
    status: str  # new | background | disputed
    event_date: str | None
    published_at: str | None
    outlet: str | None
    url: str | None
    title: str | None
    quote: str
    source_key: str
    claimed_by: str | None = None
    reporter_side: str | None = None  # side of the outlet, or of whoever the claim is attributed to


@dataclass(frozen=True, slots=True)
class Change:
    """One change of holder in a town's history, with the claims that report it."""

    town_id: str
    from_side: str | None
    to_side: str
    event_date: str
    confidence: str  # claimed | confirmed | contested
    kind: str  # claimed | reverted
    claim_ids: tuple[int, ...]
    dispute_ids: tuple[int, ...]
    outlets: tuple[str, ...]
    source_count: int
    is_background: bool  # reported only as history recalled: fills the record, never alerts


@dataclass(frozen=True, slots=True)
class TownState:
    """Who holds a town now, since when, how sure, and the spellings the sources used."""

    town_id: str
    holder: str | None
    since: str | None
    confidence: str | None
    claim_ids: tuple[int, ...]
    spellings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Timeline:
    """A town's changes in date order and the state they lead to."""

    changes: tuple[Change, ...]
    state: TownState
