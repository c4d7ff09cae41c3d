"""Archive scale: start-up time, peak memory and the Datasette canned queries on an archive of 100k articles.

    .venv/bin/python bench/bench_archive.py                  # 100k synthetic articles (builds in a few minutes)
    .venv/bin/python bench/bench_archive.py --articles 10000
    .venv/bin/python bench/bench_archive.py --keep /tmp/archive.db   # build once, then reuse the file

Articles are 8-20 sentences drawn at random from FA-KES (bench_dedup's generator), inserted in bulk with
their decision columns and spread over 50 feeds; one in ten is a near copy of a recent story; about one in
twenty carries a control claim about a gazetteer town, and the towns' control is replayed from those claims.
The dedup stage's signatures and passage fingerprints are computed in two processes (what
`index_stored_articles` stores). A fresh process then measures start-up as the daemon pays it
(`open_service`: open_db and migrations, load the front, load the dedup index, sync the feeds) and its peak
RSS; each canned query in monitor/datasette/queries/ then runs with sqlite3 on the archive.
Targets: start-up < 5 s, peak memory < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import configfile  # noqa: E402
from bench_dedup import edited_copy, fakes_sentences, synthetic_article  # noqa: E402

from monitor.serve import SETTINGS  # noqa: E402

TARGET_STARTUP_S = 5.0
TARGET_RSS_MB = 300.0
QUERY_LIMIT_S = 60.0
DATASETTE_LIMIT_MS = int(SETTINGS["sql_time_limit_ms"])  # slower canned queries fail in the Datasette UI
QUERY_PARAMS = {"days": "36500", "town": "Kinsabba"}  # recent_changes over the whole synthetic history
SEED = 20261122
FEEDS = 50  # as many as one batch of the schedule
COPY_SHARE = 0.1  # articles that are near copies of a recent story (for the story_clusters query)
OUTLETS = ("Reuters", "AFP", "SANA", "Zaman al-Wasl", "Al Jazeera", "Enab Baladi", "Orient News", "SOHR")
SIDES = ("government", "rebels", "isis")


def write_config(folder: Path, db_path: Path) -> Path:
    """A config naming the archive and the project's front data, with FEEDS feeds (never polled here)."""
    feeds = [(f"feed{number}", f"https://outlet{number}.example/feed.xml") for number in range(FEEDS)]
    return configfile.write_config(folder, feeds, db_path=db_path)


def article_rows(count: int, towns: list[tuple[str, str]]) -> Iterator[tuple[dict[str, object], dict | None]]:
    """(article row, claim row or None) for `count` synthetic articles; one in ten is a copy of a recent one."""
    rng = random.Random(SEED)
    sentences = fakes_sentences()
    start = date(2015, 1, 1)
    recent: list[tuple[int, int, str]] = []  # (id, cluster id, text) of the last stories, for copies
    for i in range(1, count + 1):
        copy_of = rng.choice(recent) if recent and rng.random() < COPY_SHARE else None
        text = edited_copy(rng, copy_of[2]) if copy_of else synthetic_article(rng, sentences)
        day = (start + timedelta(days=rng.randrange(0, 900))).isoformat()
        outlet = rng.choice(OUTLETS)
        town_id, town = rng.choice(towns)
        relevant = rng.random() < 0.3
        site = outlet.lower().replace(" ", "")
        article = {
            "id": i, "url": f"https://{site}.example/{i}", "canonical_url": f"https://{site}.example/{i}",
            "entry_key": f"https://{site}.example/{i}", "feed_id": 1 + i % FEEDS,
            "outlet": outlet, "title": text.split(".", 1)[0][:120], "text": text, "published_at": day,
            "fetched_at": f"{day}T12:00:00Z", "text_source": "page", "relevance_score": round(rng.random(), 4),
            "is_relevant": int(relevant), "matched_places": json.dumps([town] if relevant else []),
            "decision_reason": "synthetic", "classified_at": f"{day}T12:00:00Z",
            "cluster_id": copy_of[1] if copy_of else i, "duplicate_of": copy_of[0] if copy_of else None,
            "duplicate_kind": "near" if copy_of else None, "duplicate_similarity": 0.9 if copy_of else None,
        }
        recent = [*recent[-999:], (i, int(article["cluster_id"]), text)]
        claim = None
        if relevant and rng.random() < 0.15:
            gained, lost = rng.sample(SIDES, 2)
            claim = {"article_id": i, "place": town, "town_id": town_id, "town": town, "gained_by": gained,
                     "lost_by": lost, "status": rng.choice(("new", "new", "background")), "event_date": day,
                     "quote": f"{gained} seized {town}", "reasons": "[]", "created_at": f"{day}T12:00:00Z"}
        yield article, claim


def signatures_of(batch: list[tuple[int, str]]) -> tuple[list[tuple[int, str, bytes]], list[tuple[int, int]]]:
    """Signature rows and fingerprint rows for a batch of (id, text) (runs in a worker process)."""
    from monitor.dedup import minhash_signature, passage_fingerprints
    from monitor.store.dedup import SIGNATURE_SCHEME

    signatures = [(i, SIGNATURE_SCHEME, minhash_signature(t).astype("<u4").tobytes()) for i, t in batch]
    fingerprints = [(f, i) for i, t in batch for f in passage_fingerprints(t).tolist()]
    return signatures, fingerprints


def index_in_processes(db_path: Path, processes: int = 2, batch: int = 1000) -> int:
    """Store every article's signature and fingerprints, computed in `processes` worker processes."""
    conn = sqlite3.connect(db_path)
    rows = conn.execute("SELECT id, text FROM articles ORDER BY id").fetchall()
    batches = [rows[i : i + batch] for i in range(0, len(rows), batch)]
    with multiprocessing.get_context("forkserver").Pool(processes) as pool:
        for signatures, fingerprints in pool.imap(signatures_of, batches):
            with conn:
                conn.executemany("INSERT OR REPLACE INTO article_signatures VALUES (?, ?, ?)", signatures)
                conn.executemany("INSERT OR IGNORE INTO passage_fingerprints VALUES (?, ?)", fingerprints)
    conn.close()
    return len(rows)


def build_archive(db_path: Path, count: int, config_path: Path) -> None:
    """Create the archive: articles, claims, town control replayed, dedup index stored."""
    from monitor.config import load_config
    from monitor.control import towns_from_places
    from monitor.models import now_iso
    from monitor.service import configured_sources, front_from_config
    from monitor.store import feeds as feed_store
    from monitor.store import open_db
    from monitor.store.control import replay_control

    config = load_config(config_path)
    front = front_from_config(config)
    towns = towns_from_places(front.gazetteer.places)
    watched = sorted((town.id, town.name) for town in towns.values())
    started = time.perf_counter()
    db = open_db(db_path)
    feed_store.sync_feeds(db, configured_sources(config), now_iso())
    pairs = list(article_rows(count, watched))
    db["articles"].insert_all((a for a, _ in pairs), batch_size=2000)
    db["claims"].insert_all((c for _, c in pairs if c), batch_size=2000)
    inserted = time.perf_counter()
    with db.atomic():
        replay_control(db, towns, config.control, now_iso(), actors=front.actors)
    replayed = time.perf_counter()
    db.conn.close()
    indexed = index_in_processes(db_path)
    done = time.perf_counter()
    print(f"  built {count} articles ({sum(1 for _, c in pairs if c)} claims): insert {inserted - started:.1f} s, "
          f"control replay {replayed - inserted:.1f} s, dedup index of {indexed} in two processes "
          f"{done - replayed:.1f} s; db {db_path.stat().st_size / 1e6:.0f} MB")


MEASURE = """
import json, resource, sys, time
began = time.perf_counter()


def vm_hwm_mb():
    # ru_maxrss survives exec on Linux (it would count the parent's peak): VmHWM is this process's own.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024



from monitor.config import load_config
from monitor.service import open_service
imported = time.perf_counter()
service = open_service(load_config(sys.argv[1]))
opened = time.perf_counter()
print(json.dumps({
    "import_s": imported - began, "open_service_s": opened - imported, "startup_s": opened - began,
    "index_signatures": float(len(service.saver.index)),
    "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "peak_rss_mb": vm_hwm_mb(),
}))
service.close()
"""


def measure_startup(config_path: Path) -> dict[str, float]:
    """Time open_service (imports included) and read the peak RSS in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", MEASURE, str(config_path)], check=True, capture_output=True,
                         text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def canned_queries(db_path: Path, limit_s: float = QUERY_LIMIT_S) -> dict[str, tuple[float, int | None]]:
    """Seconds and row count of each Datasette canned query run with sqlite3 (None rows: stopped at limit_s)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    results: dict[str, tuple[float, int | None]] = {}
    for path in sorted((ROOT / "monitor" / "datasette" / "queries").glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        started = time.perf_counter()
        # Datasette stops a query after its sql_time_limit_ms; here a slow query is stopped at limit_s.
        deadline = started + limit_s
        conn.set_progress_handler(lambda deadline=deadline: int(time.perf_counter() > deadline), 100_000)
        try:
            rows: int | None = len(conn.execute(sql, QUERY_PARAMS).fetchall())
        except sqlite3.OperationalError:
            rows = None
        results[path.stem] = (time.perf_counter() - started, rows)
    conn.close()
    return results


def report(figures: dict[str, float], queries: dict[str, tuple[float, int | None]]) -> bool:
    """Print the figures next to the targets; True when both targets are met."""
    startup_ok = figures["startup_s"] < TARGET_STARTUP_S
    rss_ok = figures["peak_rss_mb"] < TARGET_RSS_MB
    print(f"  start-up (imports + open_service: open_db, front, dedup index of "
          f"{figures['index_signatures']:.0f}, feeds): {figures['startup_s']:.2f} s "
          f"(imports {figures['import_s']:.2f} s, open_service {figures['open_service_s']:.2f} s) "
          f"target < {TARGET_STARTUP_S:.0f} s {'OK' if startup_ok else 'MISSED'}")
    print(f"  peak RSS of the fresh process (VmHWM): {figures['peak_rss_mb']:.0f} MB "
          f"target < {TARGET_RSS_MB:.0f} MB {'OK' if rss_ok else 'MISSED'} (ru_maxrss "
          f"{figures['ru_maxrss_mb']:.0f} MB: on Linux it keeps the parent's peak across exec)")
    for name, (seconds, rows) in queries.items():
        shown = f"{rows} rows" if rows is not None else f"stopped at the {QUERY_LIMIT_S:.0f} s limit"
        ok = rows is not None and 1000 * seconds < DATASETTE_LIMIT_MS
        print(f"  canned query {name}: {1000 * seconds:.0f} ms ({shown}) target < {DATASETTE_LIMIT_MS} ms "
              f"(Datasette sql_time_limit_ms) {'OK' if ok else 'MISSED'}")
    return startup_ok and rss_ok


def main() -> None:
    """Build (or reuse) the archive, measure start-up in a fresh process, time the canned queries."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build the archive at this path, or reuse it if it exists")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = args.keep or Path(tmp) / "archive.db"
        config_path = write_config(Path(tmp), db_path.resolve())
        print(f"archive of {args.articles} articles at {db_path}")
        if not db_path.exists():
            build_archive(db_path, args.articles, config_path)
        report(measure_startup(config_path), canned_queries(db_path))


if __name__ == "__main__":
    main()
