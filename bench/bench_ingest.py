"""Ingest throughput: the whole pipeline on real news pages against bare trafilatura extraction, same run.

    .venv/bin/python bench/bench_ingest.py                # every page once (204 pages), two rounds
    .venv/bin/python bench/bench_ingest.py --repeat 3     # each page served 3 times under distinct URLs

Pages: ../shared/data/article-extraction-benchmark/html/*.html.gz (gunzipped in memory, 181) and
../shared/data/trafilatura-eval/pages/*.html (23). Bare: `trafilatura.bare_extraction(html, url=...,
with_metadata=True, deduplicate=False)` on each page in this process, one core. Pipeline: the pages listed
in RSS feeds on local HTTP servers (several host:ports, as outlets are), polled once through `Service.poll`
with the configured worker processes (fetch, parse, extract, classify, dedup, claims, control, store).
The worker pool is started by a one-page warm-up pass first, as a running daemon has it started already.
Bare and pipeline alternate for --rounds rounds (load from other processes hits both alike); prints
articles/s of both (medians) and the ratio. Target: pipeline >= 0.8x bare extraction.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import configfile  # noqa: E402
from httpserver import LocalHTTPServer  # noqa: E402

from monitor.config import load_config  # noqa: E402
from monitor.service import open_service  # noqa: E402

TARGET_RATIO = 0.8
HOSTS = 4
PER_FEED = 20


def load_pages() -> list[tuple[str, bytes]]:
    """(original URL, HTML bytes) of every benchmark page."""
    pages = []
    folder = SHARED / "article-extraction-benchmark"
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    for path in sorted((folder / "html").glob("*.html.gz")):
        url = truth.get(path.name.removesuffix(".html.gz"), {}).get("url") or f"https://example.org/{path.name}"
        pages.append((url, gzip.decompress(path.read_bytes())))
    subset = json.loads((SHARED / "trafilatura-eval" / "evaldata_english_news_subset.json").read_text("utf-8"))
    urls = {record["file"]: url for url, record in subset.items()}
    for path in sorted((SHARED / "trafilatura-eval" / "pages").glob("*.html")):
        pages.append((urls.get(path.name, f"https://example.org/{path.name}"), path.read_bytes()))
    return pages


def bare_throughput(pages: list[tuple[str, bytes]]) -> tuple[float, int, float]:
    """(seconds, pages with text, CPU seconds) of bare trafilatura extraction of every page, one core."""
    from trafilatura import bare_extraction

    extracted = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for url, body in pages:
        result = bare_extraction(body.decode("utf-8", errors="replace"), url=url, with_metadata=True,
                                 deduplicate=False)
        extracted += int(bool(result and result.text))
    return time.perf_counter() - wall, extracted, time.process_time() - cpu


def serve_pages(servers: list[LocalHTTPServer], pages: list[tuple[str, bytes]]) -> list[tuple[str, str]]:
    """Route each page on a server and list them in feeds of PER_FEED items; returns (name, url) feeds."""
    items: dict[int, list[str]] = {}
    for i, (_, body) in enumerate(pages):
        server_index = (i // PER_FEED) % len(servers)
        server = servers[server_index]
        server.route(f"/article/{i}.html", body, headers={"Content-Type": "text/html"})
        items.setdefault(i // PER_FEED, []).append(
            f"<item><title>Article {i}</title><link>{html.escape(server.url(f'/article/{i}.html'))}</link>"
            f"<guid>article-{i}</guid><pubDate>Tue, 05 Jul 2016 12:00:00 GMT</pubDate></item>")
    feeds = []
    for number, entries in items.items():
        server = servers[number % len(servers)]
        rss = ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Bench</title>"
               f"{''.join(entries)}</channel></rss>")
        server.route(f"/feed/{number}.xml", rss, headers={"Content-Type": "application/rss+xml"})
        feeds.append((f"feed{number}", server.url(f"/feed/{number}.xml")))
    return feeds


def warmup_feed(server: LocalHTTPServer, body: bytes) -> tuple[str, str]:
    """A one-page feed polled before the timed pass."""
    server.route("/warmup/page.html", body, headers={"Content-Type": "text/html"})
    rss = ("<?xml version='1.0'?><rss version='2.0'><channel><title>Warm-up</title><item><title>Warm-up</title>"
           f"<link>{server.url('/warmup/page.html')}</link></item></channel></rss>")
    server.route("/warmup/feed.xml", rss, headers={"Content-Type": "application/rss+xml"})
    return "warmup", server.url("/warmup/feed.xml")


def write_config(folder: Path, feeds: list[tuple[str, str]], processes: int | None) -> Path:
    """Private addresses allowed, every feed in one batch, all its entries in one pass."""
    schedule: dict[str, object] = {"batch_size": len(feeds) + 1, "articles_per_feed": PER_FEED}
    if processes is not None:
        schedule["processes"] = processes
    return configfile.write_config(folder, feeds, db_path=folder / "bench.db",
                                   sections={"http": {"allow_private": True}, "schedule": schedule})


def pipeline_throughput(pages: list[tuple[str, bytes]], processes: int | None) -> dict[str, float]:
    """Seconds and counts of one Service.poll over feeds listing every page (after a warm-up pass)."""
    servers = [LocalHTTPServer().start() for _ in range(HOSTS)]
    try:
        feeds = serve_pages(servers, pages)
        warm = warmup_feed(servers[0], pages[0][1])
        with tempfile.TemporaryDirectory() as tmp:
            service = open_service(load_config(write_config(Path(tmp), [*feeds, warm], processes)))
            try:
                service.poll(names=["warmup"])  # starts the worker processes, as in a running daemon
                wall, cpu = time.perf_counter(), time.process_time()
                reports = service.poll(names=[name for name, _ in feeds])
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                texts = service.db.execute("SELECT count(*) FROM articles WHERE text_source = 'page'").fetchone()[0]
                workers = getattr(getattr(service, "analysis", None), "processes", 0)
            finally:
                service.close()
    finally:
        for server in servers:
            server.stop()
    return {"seconds": wall, "cpu_main_s": cpu, "articles": sum(r.articles for r in reports),
            "kept": sum(r.kept for r in reports), "page_texts": texts, "processes": workers}


def main() -> None:
    """Alternate bare extraction and the pipeline on the same pages; print both rates and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="serve each page this many times")
    parser.add_argument("--rounds", type=int, default=2, help="alternate bare and pipeline this many times")
    parser.add_argument("--processes", type=int, default=None, help="[schedule] processes (default: config's)")
    args = parser.parse_args()
    pages = load_pages() * args.repeat
    print(f"ingest: {len(pages)} real pages ({len(pages) // args.repeat} distinct), {args.rounds} rounds "
          f"alternating bare and pipeline (load average {os.getloadavg()[0]:.2f})")
    bare_rates, rates = [], []
    for round_number in range(1, args.rounds + 1):
        bare_s, extracted, bare_cpu = bare_throughput(pages)
        bare_rates.append(len(pages) / bare_s)
        print(f"  round {round_number} bare trafilatura.bare_extraction (one core): {len(pages)} pages in "
              f"{bare_s:.2f} s = {bare_rates[-1]:.1f} articles/s ({extracted} with text, cpu {bare_cpu:.2f} s)")
        figures = pipeline_throughput(pages, args.processes)
        rates.append(figures["articles"] / figures["seconds"])
        print(f"  round {round_number} pipeline Service.poll (fetch, parse, extract, classify, dedup, claims, "
              f"store; {figures['processes']} worker processes): {figures['articles']:.0f} articles in "
              f"{figures['seconds']:.2f} s = {rates[-1]:.1f} articles/s ({figures['page_texts']:.0f} with page "
              f"text, {figures['kept']:.0f} kept; main-process cpu {figures['cpu_main_s']:.2f} s)")
    bare_rate, rate = statistics.median(bare_rates), statistics.median(rates)
    ratio = rate / bare_rate
    print(f"  bare {bare_rate:.1f} articles/s, pipeline {rate:.1f} articles/s (medians over {args.rounds} rounds)")
    print(f"  ratio pipeline / bare = {ratio:.2f} (target >= {TARGET_RATIO}) "
          f"{'OK' if ratio >= TARGET_RATIO else 'MISSED'}")


if __name__ == "__main__":
    main()
