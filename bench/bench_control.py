"""Time the control logic: timelines from synthetic evidence, and a full replay of a synthetic archive.

Usage: .venv/bin/python bench/bench_control.py [--towns 200] [--claims-per-town 50]
Target: a replay of 10k claims well under a minute (it runs after gazetteer or lexicon edits).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from monitor.control import ControlSettings, Evidence, TownInfo
from monitor.control_timeline import build_timeline
from monitor.store import open_db
from monitor.store.control import replay_control

SIDES = ("government", "rebels", "isis")
OUTLETS = ("Reuters", "AFP", "SANA", "Zaman al-Wasl", "Al Jazeera", "Enab Baladi")


def synthetic_claims(towns: int, per_town: int, seed: int = 7) -> list[dict[str, object]]:
    """Claims spread over two years, sides changing now and then, outlets and statuses mixed."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    start = date(2015, 1, 1)
    for town in range(towns):
        side = rng.choice(SIDES)
        day = start
        for _ in range(per_town):
            day += timedelta(days=rng.randint(0, 12))
            if rng.random() < 0.2:
                side = rng.choice(SIDES)
            status = rng.choices(("new", "background", "disputed"), (0.7, 0.25, 0.05))[0]
            rows.append(
                {
                    "town_id": f"t{town}",
                    "gained_by": side,
                    "lost_by": "unknown",
                    "status": status,
                    "event_date": day.isoformat(),
                    "claimed_by": None,
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--towns", type=int, default=200)
    parser.add_argument("--claims-per-town", type=int, default=50)
    args = parser.parse_args()
    claims = synthetic_claims(args.towns, args.claims_per_town)
    towns = {f"t{i}": TownInfo(f"t{i}", f"Town {i}", "Latakia", 35.5, 36.0, True) for i in range(args.towns)}
    settings = ControlSettings()

    evidence: dict[str, list[Evidence]] = {}
    for claim_id, row in enumerate(claims, start=1):
        evidence.setdefault(str(row["town_id"]), []).append(
            Evidence(
                claim_id,
                claim_id,
                str(row["town_id"]),
                "Town",
                str(row["gained_by"]),
                None,
                str(row["status"]),
                str(row["event_date"]),
                str(row["event_date"]),
                OUTLETS[claim_id % len(OUTLETS)],
                None,
                None,
                "quote",
                f"src-{claim_id}",
            )
        )
    began = time.perf_counter()
    changes = sum(len(build_timeline(t, points, settings).changes) for t, points in evidence.items())
    pure = time.perf_counter() - began
    print(f"build_timeline: {len(claims)} claims, {args.towns} towns, {changes} changes in {pure:.3f} s")

    with tempfile.TemporaryDirectory() as folder:
        db = open_db(Path(folder) / "bench.db")
        db["articles"].insert_all(
            (
                {"id": i, "outlet": OUTLETS[i % len(OUTLETS)], "published_at": row["event_date"], "url": f"u{i}"}
                for i, row in enumerate(claims, start=1)
            ),
            pk="id",
        )
        db["claims"].insert_all(
            ({"id": i, "article_id": i, "place": "Town", "quote": "quote", **row} for i, row in enumerate(claims, 1)),
            pk="id",
        )
        began = time.perf_counter()
        written = replay_control(db, towns, settings, "2026-11-22T00:00:00Z")
        first = time.perf_counter() - began
        began = time.perf_counter()
        again = replay_control(db, towns, settings, "2026-11-23T00:00:00Z")
        second = time.perf_counter() - began
    print(f"replay (first): {first:.2f} s, {len(written)} alerts written")
    print(f"replay (again, nothing new): {second:.2f} s, {len(again)} alerts written")


if __name__ == "__main__":
    main()
