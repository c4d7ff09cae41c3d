"""Throughput and memory of copy detection at 10k and 100k synthetic articles, against trafilatura extraction.

    .venv/bin/python bench/bench_dedup.py              # 10k and 100k (the 100k archive takes a few minutes)
    .venv/bin/python bench/bench_dedup.py 10000        # one size

Synthetic articles are 8-20 sentences drawn at random from FA-KES. Each size builds an archive in a temporary
directory (bulk-indexed with `index_stored_articles`), then a fresh process measures what the daemon pays:
loading the index on start, checking one new article (signature + LSH query: is it a copy?), recording it
(`record_article`: repeats, copies, shared passages, altered facts, writes), and peak memory. The FA-KES replay
measures the same two costs on real text. Targets: checking and recording one article each < 10% of trafilatura
extraction of one page, index load (100k) < 5 s, memory < 300 MB.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor import dedup  # noqa: E402
from monitor.store import open_db  # noqa: E402
from monitor.store.dedup import index_stored_articles, load_index, record_article  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
SEED = 20261122
TARGET_SHARE = 0.10  # of one trafilatura extraction, for checking and for recording one article
CHECKS = 200  # new articles checked per size: half fresh stories, half edited copies of stored ones


def fakes_sentences() -> list[str]:
    """Return the sentences of FA-KES (Latin-1 CSV), long enough to be sentences."""
    with (SHARED / "fa-kes" / "fakes.csv").open(encoding="latin-1", newline="") as handle:
        texts = [row["article_content"] for row in csv.DictReader(handle)]
    sentences = (s.strip() for t in texts for s in re.split(r"(?<=[.!?])\s+", t))
    return sorted({s for s in sentences if len(s.split()) >= 6})


def synthetic_article(rng: random.Random, sentences: list[str]) -> str:
    """Return one article: 8-20 random sentences in paragraphs of two."""
    picked = rng.sample(sentences, rng.randint(8, 20))
    return "\n".join(" ".join(picked[i : i + 2]) for i in range(0, len(picked), 2))


def edited_copy(rng: random.Random, text: str) -> str:
    """Return `text` with a new first line, one paragraph dropped and a footer, as another outlet would."""
    paragraphs = text.split("\n")
    del paragraphs[rng.randrange(1, len(paragraphs))]
    return "\n".join(["Breaking: the story as filed by our wire service", *paragraphs, "Share this article"])


def build_archive(path: Path, size: int, sentences: list[str]) -> None:
    """Create an archive of `size` synthetic articles and index them in bulk."""
    rng = random.Random(SEED)
    db = open_db(path)
    started = time.perf_counter()
    rows = ({"id": i + 1, "outlet": "synthetic", "text": synthetic_article(rng, sentences)} for i in range(size))
    db["articles"].insert_all(rows, batch_size=2000)
    indexed = index_stored_articles(db)
    elapsed = time.perf_counter() - started
    print(
        f"  built {size} articles, indexed {indexed} in {elapsed:.1f} s ({size / elapsed:.0f}/s); "
        f"db {path.stat().st_size / 1e6:.0f} MB"
    )
    db.conn.close()


def peak_rss_mb() -> float:
    """Return this process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(path: Path) -> dict[str, float]:
    """In this (fresh) process: load the index, check CHECKS new articles, report times and peak memory."""
    sentences = fakes_sentences()
    db = open_db(path)
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    index = load_index(db)
    load_s = time.perf_counter() - started
    rss_loaded = peak_rss_mb()
    rng = random.Random(SEED + 1)
    stored = db.execute("SELECT id, text FROM articles ORDER BY random() LIMIT ?", [CHECKS // 2]).fetchall()
    news = [synthetic_article(rng, sentences) for _ in range(CHECKS // 2)]
    copies = [edited_copy(rng, text) for _, text in stored]
    timings: dict[str, list[float]] = {"fresh": [], "copy": [], "find_only": []}
    kinds: list[str] = []
    for label, texts in (("fresh", news), ("copy", copies)):
        for text in texts:
            article_id = int(db["articles"].insert({"outlet": "bench", "text": text}).last_pk)
            t0 = time.perf_counter()
            index.find_near(dedup.minhash_signature(text))
            timings["find_only"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            outcome = record_article(db, index, article_id, text)
            timings[label].append(time.perf_counter() - t0)
            kinds.append(outcome.kind)
    found = sum(1 for k in kinds[CHECKS // 2 :] if k in ("near", "altered"))
    return {
        "articles": len(index),
        "load_s": load_s,
        "rss_before_load_mb": rss_before,  # interpreter, numpy, datasketch (imports scipy), sqlite-utils
        "peak_rss_after_load_mb": rss_loaded,
        "check_fresh_ms": 1000 * sorted(timings["fresh"])[len(timings["fresh"]) // 2],
        "check_copy_ms": 1000 * sorted(timings["copy"])[len(timings["copy"]) // 2],
        "find_only_ms": 1000 * sorted(timings["find_only"])[len(timings["find_only"]) // 2],
        "copies_found": found / (CHECKS // 2),
        "fresh_linked": sum(1 for k in kinds[: CHECKS // 2] if k != "original") / (CHECKS // 2),
        "peak_rss_mb": peak_rss_mb(),
    }


def trafilatura_ms() -> float:
    """Return the median time of trafilatura's bare_extraction on the extraction-benchmark pages."""
    from trafilatura import bare_extraction

    folder = SHARED / "article-extraction-benchmark"
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    times = []
    for page in sorted((folder / "html").glob("*.html.gz")):
        html = gzip.decompress(page.read_bytes()).decode("utf-8", errors="replace")
        url = truth.get(page.name.removesuffix(".html.gz"), {}).get("url", "https://example.org/")
        started = time.perf_counter()
        bare_extraction(html, url=url, with_metadata=True, deduplicate=False)
        times.append(time.perf_counter() - started)
    times.sort()
    print(
        f"trafilatura bare_extraction: {len(times)} pages, median {1000 * times[len(times) // 2]:.1f} ms, "
        f"mean {1000 * sum(times) / len(times):.1f} ms"
    )
    return 1000 * times[len(times) // 2]


def ratio_line(label: str, ms: float, extract_ms: float) -> str:
    """Return one figure as milliseconds and as a share of one trafilatura extraction, against the target."""
    return f"{label}: {ms:.2f} ms = {100 * ms / extract_ms:.1f}% of one extraction (target < {TARGET_SHARE:.0%})"


def fakes_replay(extract_ms: float) -> None:
    """Record the 804 real FA-KES articles in row order (real wire copies and shared paragraphs)."""
    with (SHARED / "fa-kes" / "fakes.csv").open(encoding="latin-1", newline="") as handle:
        texts = [row["article_content"] for row in csv.DictReader(handle)]
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "fakes.db")
        index = load_index(db)
        checks, records, kinds = [], [], []
        for text in texts:
            article_id = int(db["articles"].insert({"outlet": "fakes", "text": text}).last_pk)
            started = time.perf_counter()
            index.find_near(dedup.minhash_signature(text))
            checks.append(time.perf_counter() - started)
            started = time.perf_counter()
            kinds.append(record_article(db, index, article_id, text).kind)
            records.append(time.perf_counter() - started)
        shared_rows = db["shared_passages"].count
        db.conn.close()
    checks.sort()
    records.sort()
    counts = {kind: kinds.count(kind) for kind in sorted(set(kinds))}
    print(f"FA-KES replay: {len(texts)} articles recorded; kinds {counts}; shared_passages rows {shared_rows}")
    print("  " + ratio_line("check (signature + LSH query), median", 1000 * checks[len(checks) // 2], extract_ms))
    print("  " + ratio_line("record_article (everything), median", 1000 * records[len(records) // 2], extract_ms))
    print(f"  record_article p90 {1000 * records[int(0.9 * len(records))]:.2f} ms")


def main(sizes: list[int]) -> None:
    """Build each archive, measure it in a fresh process and print figures against the targets."""
    extract_ms = trafilatura_ms()
    fakes_replay(extract_ms)
    sentences = fakes_sentences()
    print(f"{len(sentences)} FA-KES sentences")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.db"
            print(f"\n{size} articles:")
            build_archive(path, size, sentences)
            out = subprocess.run(
                [sys.executable, __file__, "--measure", str(path)], check=True, capture_output=True, text=True
            )
            figures = json.loads(out.stdout.strip().splitlines()[-1])
        for key, value in figures.items():
            print(f"  {key}: {value:.3f}")
        print("  " + ratio_line("check (signature + LSH query), median", figures["find_only_ms"], extract_ms))
        print("  " + ratio_line("record_article, edited copy, median", figures["check_copy_ms"], extract_ms))
        print("  " + ratio_line("record_article, fresh story, median", figures["check_fresh_ms"], extract_ms))
        print(
            f"  index load {figures['load_s']:.2f} s (target for 100k < 5 s); "
            f"peak RSS {figures['peak_rss_mb']:.0f} MB (target < 300 MB)"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(Path(sys.argv[2]))))
    else:
        main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
