"""Polling 1,000 local feeds through `Service.poll`: a first poll, then a round where every feed answers 304.

    .venv/bin/python bench/bench_poll.py                 # 1,000 feeds on 10 local servers
    .venv/bin/python bench/bench_poll.py --feeds 200     # a quicker run

Each feed is a small RSS body with an ETag and one item linking to a small page, so the first poll also
fetches, extracts and stores 1,000 articles. The feeds are spread over several local servers (host:port),
as real feeds are spread over outlets: the per-host limit (`http.max_per_host`, default 2) applies as in
production. Prints wall time, CPU time (this process, all threads) and requests/s. Target: the 304 round
over 1,000 feeds in under 10 s.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import configfile  # noqa: E402
from httpserver import LocalHTTPServer  # noqa: E402

from monitor.config import load_config  # noqa: E402
from monitor.service import open_service  # noqa: E402

TARGET_304_S = 10.0
PAGE = ("<!DOCTYPE html><html><head><title>Item {i}</title></head><body><article><h1>Item {i}</h1>"
        "<p>Shelling was reported near village {i} on Tuesday, a local council said in a statement.</p>"
        "<p>Residents said the road to the market was closed for the second day running.</p>"
        "</article></body></html>")


def feed_body(base: str, i: int) -> str:
    """A small RSS document with one item."""
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Feed {i}</title>"
            f"<link>{base}/</link><description>bench</description><item><title>Item {i}</title>"
            f"<link>{base}/a/{i}.html</link><guid>item-{i}</guid>"
            "<pubDate>Tue, 05 Jul 2016 12:00:00 GMT</pubDate></item></channel></rss>")


def serve_feeds(servers: list[LocalHTTPServer], count: int) -> list[tuple[str, str]]:
    """Route `count` feeds and their pages round-robin over the servers; returns (name, url) pairs."""
    feeds = []
    for i in range(count):
        server = servers[i % len(servers)]
        base = server.url("").rstrip("/")
        server.route(f"/feed/{i}.xml", feed_body(base, i), headers={"Content-Type": "application/rss+xml"},
                     etag=f'"feed-{i}-v1"')
        server.route(f"/a/{i}.html", PAGE.format(i=i), headers={"Content-Type": "text/html; charset=utf-8"})
        feeds.append((f"feed{i}", server.url(f"/feed/{i}.xml")))
    return feeds


def write_config(folder: Path, feeds: list[tuple[str, str]], workers: int) -> Path:
    """A config with every feed, private addresses allowed and a batch large enough for all of them."""
    return configfile.write_config(folder, feeds, db_path=folder / "bench.db", sections={
        "http": {"allow_private": True}, "schedule": {"batch_size": len(feeds), "workers": workers}})


def timed_round(poll, servers: list[LocalHTTPServer]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Run one poll; returns wall and CPU seconds, requests served and the feed statuses."""
    for server in servers:
        server.reset_counters()
    wall, cpu = time.perf_counter(), time.process_time()
    reports = poll()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    requests = sum(len(server.requests) for server in servers)
    statuses: dict[str, int] = {}
    for report in reports:
        statuses[report.status] = statuses.get(report.status, 0) + 1
    return {"wall_s": wall, "cpu_s": cpu, "requests": requests, "requests_per_s": requests / wall,
            "articles": sum(r.articles for r in reports), "statuses": statuses}


def run(count: int, hosts: int, workers: int) -> dict[str, dict[str, float]]:
    """Serve the feeds, poll twice through a Service, return both rounds' figures."""
    servers = [LocalHTTPServer().start() for _ in range(hosts)]
    try:
        feeds = serve_feeds(servers, count)
        with tempfile.TemporaryDirectory() as tmp:
            service = open_service(load_config(write_config(Path(tmp), feeds, workers)))
            names = [name for name, _ in feeds]
            try:
                first = timed_round(lambda: service.poll(), servers)
                second = timed_round(lambda: service.poll(names=names), servers)
            finally:
                service.close()
    finally:
        for server in servers:
            server.stop()
    return {"first": first, "not_modified": second}


def main() -> None:
    """Parse arguments, run, print each figure next to its target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=10, help="local servers (host:port) the feeds spread over")
    parser.add_argument("--workers", type=int, default=4, help="[schedule] workers (config.toml default 4)")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of text")
    args = parser.parse_args()
    figures = run(args.feeds, args.hosts, args.workers)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"polling {args.feeds} feeds on {args.hosts} local hosts, workers={args.workers}")
    for label, round_ in figures.items():
        print(f"  {label}: wall {round_['wall_s']:.2f} s, cpu {round_['cpu_s']:.2f} s, "
              f"{round_['requests']} requests, {round_['requests_per_s']:.0f} requests/s, "
              f"articles stored {round_['articles']}, feed statuses {round_['statuses']}")
    ok = figures["not_modified"]["wall_s"] < TARGET_304_S * args.feeds / 1000
    print(f"  304 round: {figures['not_modified']['wall_s']:.2f} s for {args.feeds} feeds "
          f"(target < {TARGET_304_S:.0f} s per 1,000) {'OK' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
