"""Town timelines: the changes of holder and the current state, recomputed from all of a town's evidence; no I/O.

A town's timeline is recomputed from ALL its evidence every time, so the result does not depend on the order
in which articles arrive:

1. Each claim gets a date: its event date, else (for a `new` claim) its publication date. Background claims
   without a date cannot be placed and only stay linked as evidence.
2. Claims for one side whose dates chain within `merge_window_days` form a run: one change, however many
   articles report it (debounce).
3. Runs of different sides whose dates fall within `contest_window_days` and come from independent sources
   disagree: they form one contested episode. Disputed claims (denials, "control is unclear") mark the episode
   they fall next to as contested.
4. Episodes in date order give the changes; an episode for the side already holding the town only adds
   evidence to the holding.

Independent sources: articles that are copies (same dedup cluster) or share wire text are one source
(`assign_source_keys`); one outlet counts once however many of its articles report a change. A change is
`confirmed` by two independent sources or by a report from the losing side, `contested` as above until two
independent, undisputed later reports of the same holder settle it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from monitor.control import Change, ControlSettings, Evidence, Timeline, TownState

_NO_SIDE = frozenset({None, "", "unknown"})


@dataclass(frozen=True, slots=True)
class _Run:
    side: str
    points: tuple[Evidence, ...]
    day: date  # the date of the change the run reports


@dataclass(frozen=True, slots=True)
class _Holding:
    holder_before: str | None
    runs: tuple[_Run, ...]  # the episode that started the holding (several when contested)
    winner: _Run
    support: tuple[Evidence, ...]  # the winner's claims plus later reports of the same holder
    disputes: tuple[Evidence, ...]  # disputes next to the episode that started the holding
    later: tuple[Evidence, ...] = ()  # reports of the same holder in later episodes
    later_disputes: tuple[Evidence, ...] = ()


def assign_source_keys(
    article_clusters: Mapping[int, int | None], shared_pairs: Iterable[tuple[int, int]]
) -> dict[int, str]:
    """Map article id -> independent-source key: copies (same cluster) and wire-sharing articles share a key."""
    parent = {article_id: article_id for article_id in article_clusters}

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def join(a: int, b: int) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    first_of_cluster: dict[int, int] = {}
    for article_id, cluster_id in sorted(article_clusters.items()):
        if cluster_id is not None:
            join(article_id, first_of_cluster.setdefault(cluster_id, article_id))
    for a, b in shared_pairs:
        if a in parent and b in parent:
            join(a, b)
    return {article_id: f"src-{root(article_id)}" for article_id in parent}


def build_timeline(town_id: str, evidence: Sequence[Evidence], settings: ControlSettings) -> Timeline:
    """Recompute a town's changes and current state from all its evidence (order of `evidence` is irrelevant)."""
    points = [e for e in evidence if e.status != "disputed" and e.gained_by not in _NO_SIDE and _day(e)]
    disputes = [e for e in evidence if e.status == "disputed" and _day(e)]
    holdings: list[_Holding] = []
    holder: str | None = None
    for runs in _episodes(_runs(points, settings), settings):
        near = tuple(d for d in disputes if _is_disputing(d, runs, settings))
        if holdings and {run.side for run in runs} == {holder}:
            last = holdings[-1]
            extra = tuple(p for run in runs for p in run.points)
            holdings[-1] = replace(
                last, support=last.support + extra, later=last.later + extra, later_disputes=last.later_disputes + near
            )
            continue
        challengers = [run for run in runs if run.side != holder] or runs
        winner = max(challengers, key=lambda run: (count_sources(run.points), run.day, run.side))
        holdings.append(_Holding(holder, tuple(runs), winner, winner.points, near))
        holder = winner.side
    changes: list[Change] = []
    for holding in holdings:
        changes.append(_change(town_id, holding, changes[-1] if changes else None, settings))
    return Timeline(changes=tuple(changes), state=_state(town_id, changes, evidence))


def _day(e: Evidence) -> date | None:
    # Background without a date is history we cannot place; a new claim without one happened around publication.
    text = e.event_date or (e.published_at if e.status != "background" else None)
    return date.fromisoformat(text[:10]) if text else None


def _point_order(e: Evidence) -> tuple[date, int]:
    return (_day(e) or date.min, e.claim_id)


def _runs(points: Sequence[Evidence], settings: ControlSettings) -> list[_Run]:
    runs: list[_Run] = []
    for side in sorted({str(p.gained_by) for p in points}):
        chain: list[Evidence] = []
        for point in sorted((p for p in points if p.gained_by == side), key=_point_order):
            if chain and (_point_order(point)[0] - _point_order(chain[-1])[0]).days > settings.merge_window_days:
                runs.append(_run(side, chain))
                chain = []
            chain.append(point)
        runs.append(_run(side, chain))
    return sorted(runs, key=lambda run: (run.day, run.side))


def _run(side: str, chain: list[Evidence]) -> _Run:
    # Dates the texts state outweigh publication dates; the most reported one wins, the earliest on a tie.
    stated = Counter(date.fromisoformat(p.event_date[:10]) for p in chain if p.event_date)
    day = min(stated, key=lambda d: (-stated[d], d)) if stated else min(_point_order(p)[0] for p in chain)
    return _Run(side=side, points=tuple(chain), day=day)


def _episodes(runs: list[_Run], settings: ControlSettings) -> list[list[_Run]]:
    episodes: list[list[_Run]] = []
    for run in runs:
        current = episodes[-1] if episodes else None
        if (
            current
            and (run.day - current[-1].day).days <= settings.contest_window_days
            and run.side not in {r.side for r in current}
            and _independent(run.points, [p for r in current for p in r.points])
        ):
            current.append(run)
        else:
            episodes.append([run])
    return episodes


def _independent(left: Sequence[Evidence], right: Sequence[Evidence]) -> bool:
    # A single source narrating "taken on Friday, retaken on Saturday" is a sequence, not a disagreement.
    return {p.source_key for p in left} != {p.source_key for p in right} or len({p.source_key for p in left}) > 1


def _is_disputing(dispute: Evidence, runs: list[_Run], settings: ControlSettings) -> bool:
    day = _day(dispute)
    return day is not None and any(
        abs((day - run.day).days) <= settings.contest_window_days
        and (dispute.gained_by in _NO_SIDE or dispute.gained_by == run.side)
        for run in runs
    )


def count_sources(points: Iterable[Evidence]) -> int:
    """Count independent sources: one per source key, and one per outlet however many keys it has."""
    groups: list[tuple[set[str], set[str]]] = []
    for point in points:
        keys, outlets = {point.source_key}, {(point.outlet or "").strip().lower()} - {""}
        for group in [g for g in groups if g[0] & keys or g[1] & outlets]:
            groups.remove(group)
            keys |= group[0]
            outlets |= group[1]
        groups.append((keys, outlets))
    return len(groups)


def _change(town_id: str, holding: _Holding, previous: Change | None, settings: ControlSettings) -> Change:
    winner = holding.winner
    from_side = holding.holder_before
    if from_side is None:
        from_side = _most_common(p.lost_by for p in winner.points)
    is_reversal = (
        previous is not None
        and previous.from_side == winner.side
        and (winner.day - date.fromisoformat(previous.event_date)).days <= settings.revert_window_days
    )
    points = [p for run in holding.runs for p in run.points] + list(holding.support)
    # Later reports from two independent sources, undisputed, settle a contest in favour of the holder.
    settled = count_sources(holding.later) >= 2 and not holding.later_disputes
    disagreed = len(holding.runs) > 1 or bool(holding.disputes)
    contested = (disagreed and not settled) or bool(holding.later_disputes)
    return Change(
        town_id=town_id,
        from_side=from_side,
        to_side=winner.side,
        event_date=winner.day.isoformat(),
        confidence=_confidence(holding.support, from_side, contested, settings),
        kind="reverted" if is_reversal else "claimed",
        claim_ids=tuple(sorted({p.claim_id for p in points})),
        dispute_ids=tuple(sorted({d.claim_id for d in holding.disputes + holding.later_disputes})),
        outlets=tuple(sorted({p.outlet for p in points if p.outlet})),
        source_count=count_sources(holding.support),
        # Only the reports of the change itself decide: a later "rebels, who hold X" does not make it news.
        is_background=all(p.status == "background" for p in winner.points),
    )


def _confidence(points: Sequence[Evidence], losing_side: str | None, contested: bool, settings: ControlSettings) -> str:
    if contested:
        return "contested"
    sides = {outlet.strip().lower(): side for outlet, side in settings.outlet_sides.items()}
    conceded = losing_side not in _NO_SIDE and any(
        (p.reporter_side or sides.get((p.outlet or "").strip().lower())) == losing_side for p in points
    )
    return "confirmed" if conceded or count_sources(points) >= 2 else "claimed"


def _most_common(values: Iterable[str | None]) -> str | None:
    counts = Counter(v for v in values if v not in _NO_SIDE)
    return min(counts, key=lambda v: (-counts[v], v)) if counts else None


def _state(town_id: str, changes: list[Change], evidence: Sequence[Evidence]) -> TownState:
    spellings = tuple(sorted({e.place_as_written for e in evidence if e.place_as_written}))
    if not changes:
        return TownState(town_id, None, None, None, (), spellings)
    last = changes[-1]
    return TownState(town_id, last.to_side, last.event_date, last.confidence, last.claim_ids, spellings)
