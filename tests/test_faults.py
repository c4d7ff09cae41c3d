"""Faults: the daemon killed at random points, the database locked or full mid-write, alert channels down.

Each test checks what must survive: one row per article, every alert delivered, at most one extra copy of an
alert per crash (the at-least-once window of docs/alerts.md), nothing half-written, errors that say what
happened. Bounded in time: the daemon test kills and restarts a real `monitor run` process a few times.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from httpserver import LocalHTTPServer, RecordedRequest, Reply
from paths import ROOT, SEEDS, TEST_DATA
from seedsite import seed_rows, serve_seed_site
from test_daemon import wait_for
from test_pipeline import write_config

from monitor.channels import DeliverySettings, WebhookChannel
from monitor.config import load_config
from monitor.delivery import deliver_pending
from monitor.errors import MonitorError
from monitor.fetch import HttpSettings, build_client
from monitor.ingest import read_files
from monitor.service import Service, open_service

HTML = {"Content-Type": "text/html; charset=utf-8"}


def fault_config(folder: Path, feeds: list[tuple[str, str]], extra: str = "", processes: int = 0) -> Path:
    """A config for fault tests: private addresses allowed, one-second ticks and intervals."""
    return write_config(folder, feeds, extra, processes,
                        schedule={"tick_s": 1, "min_interval_s": 1, "default_interval_s": 1})


def query(db_path: Path, sql: str) -> list[tuple]:
    """Rows from the archive; [] while it or its tables do not exist yet (or it is busy)."""
    if not db_path.exists():
        return []
    try:
        with sqlite3.connect(db_path, timeout=5) as conn:
            return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []


# -- kill -9 while ingesting --------------------------------------------------------------------------


def mixed_pages(count: int, seed: int) -> list[tuple[str, str]]:
    """(title, page) for `count` articles mixing paragraphs of the seed articles (claims, copies, alerts)."""
    rng = random.Random(seed)
    lines = [line for row in seed_rows() for line in (SEEDS / row["file"]).read_text(encoding="utf-8").splitlines()[1:]]
    paragraphs = [line.strip() for line in lines if len(line.split()) > 8]
    pages = []
    for i in range(count):
        picked = rng.sample(paragraphs, min(len(paragraphs), rng.randint(3, 8)))
        title = f"Front report {i}: {picked[0][:60]}"
        body = "".join(f"<p>{p}</p>" for p in picked)
        pages.append((title, f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}"
                             "</article></body></html>"))
    return pages


def serve_front_site(server: LocalHTTPServer, pages: int) -> list[tuple[str, str]]:
    """The seed feed, a feed of mixed pages and a feed of real pages; a webhook receiver at /hook."""
    feeds = [("seeds", serve_seed_site(server))]
    base = server.url("").rstrip("/")
    items = []
    for i, (title, page) in enumerate(mixed_pages(pages, seed=9)):
        server.route(f"/mixed/{i}.html", page, headers=HTML)
        day = 1 + i % 27
        items.append(f"<item><title>{title}</title><link>{base}/mixed/{i}.html</link><guid>mixed-{i}</guid>"
                     f"<pubDate>Mon, {day:02d} Aug 2016 10:00:00 GMT</pubDate></item>")
    real = sorted((TEST_DATA / "pages").glob("*.html"))
    for path in real:
        server.route(f"/real/{path.name}", path, headers=HTML)
        items.append(f"<item><title>Page {path.stem[:8]}</title><link>{base}/real/{path.name}</link></item>")
    rss = f"<?xml version='1.0'?><rss version='2.0'><channel><title>Mixed</title>{''.join(items)}</channel></rss>"
    server.route("/mixed.xml", rss, headers={"Content-Type": "application/rss+xml"}, etag='"mixed-v1"')
    feeds.append(("mixed", server.url("/mixed.xml")))
    server.route("/hook", handler=lambda request: Reply(200, b"ok"))
    return feeds


def webhook_section(url: str, timeout_s: float = 1.0) -> str:
    """[[alerts.webhook]] for the local receiver, with fast retries so the crash window is short."""
    return (f'[alerts.delivery]\nbackoff_base_s = 1\n[[alerts.webhook]]\nname = "hook"\nurl = "{url}"\n'
            f"timeout_s = {timeout_s}\n")


def start_daemon(config: Path, log: Path) -> subprocess.Popen:
    """`monitor run` as a real process, its log appended to `log`; it and its children carry a marker."""
    env = dict(os.environ, MONITOR_FAULT_TEST=str(config.parent))
    with log.open("ab") as handle:
        return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                                stdout=handle, stderr=handle, cwd=ROOT, env=env)


def marked_processes(folder: Path) -> list[int]:
    """Processes still alive that a daemon of this test started (worker processes left by a kill)."""
    marker = f"MONITOR_FAULT_TEST={folder}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def end_leftovers(folder: Path) -> int:
    """SIGKILL the processes a killed daemon left behind (only this test's, by their marker); how many."""
    leftovers = marked_processes(folder)
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(leftovers)


def is_settled(db: Path, expected_entries: int) -> bool:
    """Every entry stored and every queued delivery delivered."""
    done = query(db, "SELECT count(*) FROM entries WHERE state = 'done'")
    pending = query(db, "SELECT count(*) FROM deliveries WHERE state != 'delivered'")
    unqueued = query(db, "SELECT count(*) FROM alerts a WHERE is_backfill = 0 AND NOT EXISTS "
                         "(SELECT 1 FROM deliveries d WHERE d.alert_id = a.id)")
    return bool(done and pending and unqueued) and done[0][0] == expected_entries and pending[0][0] == 0 \
        and unqueued[0][0] == 0


def count(db: Path, sql: str) -> int:
    """A count from the archive; 0 while it does not exist yet."""
    rows = query(db, sql)
    return int(rows[0][0]) if rows else 0


def kill_point(db: Path, rng: random.Random, expected_entries: int) -> Callable[[], bool]:
    """A random moment to kill at: once a random number of articles are stored, or of alerts delivered."""
    stored = count(db, "SELECT count(*) FROM articles")
    alerts = count(db, "SELECT count(*) FROM alerts WHERE is_backfill = 0")
    delivered = count(db, "SELECT count(*) FROM deliveries WHERE state = 'delivered'")
    if stored < expected_entries and (delivered >= alerts or rng.random() < 0.6):
        target = rng.randint(stored + 1, expected_entries)
        return lambda: count(db, "SELECT count(*) FROM articles") >= target
    if delivered < alerts:
        target = rng.randint(delivered + 1, alerts)
        return lambda: count(db, "SELECT count(*) FROM deliveries WHERE state = 'delivered'") >= target
    moment = time.monotonic() + rng.uniform(0.5, 2.0)  # all done: kill while it idles or re-polls
    return lambda: time.monotonic() >= moment


def kill_and_restart(config: Path, db: Path, log: Path, kills: int, rng: random.Random,
                     expected_entries: int) -> int:
    """Start the daemon and SIGKILL it at a random point, `kills` times; returns how many kills hit work."""
    hits = 0
    for _ in range(kills):
        reached = kill_point(db, rng, expected_entries)
        process = start_daemon(config, log)
        try:
            hit = wait_for(lambda p=process, r=reached: r() or p.poll() is not None, 20, 0.02)
            assert process.poll() is None, "the daemon exited by itself"
            time.sleep(rng.uniform(0, 0.2))  # a random extra moment, so kills do not all land on a commit
            hits += int(hit)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
    return hits


def run_until_settled(config: Path, db: Path, log: Path, expected_entries: int, timeout: float) -> int:
    """Run the daemon until everything is stored and delivered, then SIGTERM; returns its exit code."""
    started = log.read_text().count("daemon started") if log.exists() else 0
    process = start_daemon(config, log)
    try:
        running = wait_for(lambda: log.read_text().count("daemon started") > started, 30)
        settled = running and wait_for(lambda: is_settled(db, expected_entries) or process.poll() is not None,
                                       timeout, 0.2)
        assert settled and process.poll() is None, f"not settled: {log.read_text()[-3000:]}"
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def check_archive_after_crashes(db: Path, hook_requests: list[RecordedRequest], kills: int) -> None:
    """Integrity, one article per entry, every alert delivered once plus at most one copy per crash."""
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert query(db, "SELECT entry_key, count(*) FROM articles GROUP BY entry_key HAVING count(*) > 1") == []
    assert query(db, "SELECT url, count(*) FROM articles WHERE url IS NOT NULL GROUP BY url HAVING count(*) > 1") == []
    assert query(db, "SELECT count(*) FROM entries WHERE state = 'done' AND article_id IS NULL") == [(0,)]
    assert query(db, "SELECT count(*) FROM entries e LEFT JOIN articles a ON a.id = e.article_id "
                     "WHERE a.id IS NULL") == [(0,)]
    alerts = {row[0] for row in query(db, "SELECT id FROM alerts WHERE is_backfill = 0")}
    assert alerts, "the feed set produced no alert: the test would prove nothing"
    delivered = {row[0] for row in query(db, "SELECT alert_id FROM deliveries WHERE state = 'delivered'")}
    assert delivered == alerts
    received = Counter(request.headers.get("idempotency-key") for request in hook_requests)
    assert set(received) == alerts
    extra = sum(count - 1 for count in received.values())
    assert extra <= kills, f"{extra} repeated deliveries for {kills} crashes: {received.most_common(3)}"


def reference_alerts(folder: Path, feeds: list[tuple[str, str]]) -> set[tuple[str, str, str]]:
    """(town, kind, to_side) of the alerts the same feed set gives with no crash, in this process."""
    service = open_service(load_config(fault_config(folder, feeds)))
    try:
        while service.poll(names=[name for name, _ in feeds]) and service.db.execute(
                "SELECT count(*) FROM entries WHERE state = 'pending'").fetchone()[0]:
            pass
        return {(r[0], r[1], r[2]) for r in service.db.execute(
            "SELECT town_id, kind, to_side FROM alerts WHERE is_backfill = 0")}
    finally:
        service.close()


def crash_scenario(tmp_path: Path, server: LocalHTTPServer, pages: int, kills: int, seed: int,
                   processes: int) -> int:
    """Kill the daemon `kills` times while it ingests, finish with a clean run, check everything.

    Returns how many processes the killed daemons left behind (ended here).
    """
    feeds = serve_front_site(server, pages)
    expected_entries = 5 + pages + len(list((TEST_DATA / "pages").glob("*.html")))
    config = fault_config(tmp_path, feeds, webhook_section(server.url("/hook")), processes=processes)
    db, log = tmp_path / "monitor.db", tmp_path / "daemon.log"
    try:
        hits = kill_and_restart(config, db, log, kills, random.Random(seed), expected_entries)
        assert hits == kills, "a kill point was never reached"
        code = run_until_settled(config, db, log, expected_entries, timeout=60)
    finally:
        wait_for(lambda: not marked_processes(tmp_path), 3)  # worker processes of a clean stop exit on their own
        leftovers = end_leftovers(tmp_path)
    assert code == 0, log.read_text()[-3000:]
    check_archive_after_crashes(db, server.requests_to("/hook"), kills)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
    reference_folder = tmp_path / "reference"
    reference_folder.mkdir()
    expected = reference_alerts(reference_folder, feeds)
    got = {(r[0], r[1], r[2]) for r in query(db, "SELECT town_id, kind, to_side FROM alerts WHERE is_backfill = 0")}
    assert expected <= got, f"alerts lost to crashes {sorted(expected - got)} (seed {seed})"
    return leftovers


def test_daemon_killed_at_random_points_loses_and_repeats_nothing(http_server, tmp_path: Path) -> None:
    assert crash_scenario(tmp_path, http_server, pages=30, kills=4, seed=20261122, processes=0) == 0


@pytest.mark.slow
def test_daemon_with_worker_processes_killed_many_times(http_server, tmp_path: Path) -> None:
    leftovers = crash_scenario(tmp_path, http_server, pages=30, kills=6, seed=7, processes=2)
    assert leftovers == 0, f"kill -9 of the daemon left {leftovers} worker/forkserver processes running"


# -- database locked or full during a write ---------------------------------------------------------


@pytest.fixture
def seed_service(http_server, tmp_path: Path) -> Iterator[Service]:
    """A service on the seed feed, analysing inline."""
    feed_url = serve_seed_site(http_server)
    service = open_service(load_config(fault_config(tmp_path, [("coast", feed_url)])))
    yield service
    service.close()


def counts(db_path: Path) -> dict[str, int]:
    """Row counts of the tables one article's transaction writes, read by another connection."""
    tables = ("articles", "claims", "article_signatures", "passage_fingerprints", "entries")
    with sqlite3.connect(db_path) as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables}


def fault_after_polls(start_fault: Callable[[], None]) -> Callable[[], bool]:
    """A should_stop hook that starts the fault once the polls are saved, just before articles are written."""
    started: list[bool] = []

    def should_stop() -> bool:
        if not started:
            started.append(True)
            start_fault()
        return False

    return should_stop


def test_database_locked_while_storing_articles_is_a_store_error(seed_service: Service, tmp_path: Path) -> None:
    db_path = tmp_path / "monitor.db"
    seed_service.db.execute("PRAGMA busy_timeout = 200")  # the daemon waits 30 s; the test need not
    blocker = sqlite3.connect(db_path, isolation_level=None)

    def lock() -> None:
        blocker.execute("BEGIN EXCLUSIVE")

    with pytest.raises((MonitorError, sqlite3.OperationalError), match="locked") as failure:
        seed_service.poll(names=["coast"], should_stop=fault_after_polls(lock))
    blocker.execute("ROLLBACK")
    blocker.close()
    assert isinstance(failure.value, MonitorError), f"a raw {type(failure.value).__name__} left the pipeline"
    after = counts(db_path)
    assert after["articles"] == after["claims"] == after["article_signatures"] == 0
    assert query(db_path, "SELECT count(*) FROM entries WHERE state = 'pending'") == [(5,)]
    seed_service.poll(names=["coast"])
    assert query(db_path, "SELECT count(*) FROM entries WHERE state = 'done'") == [(5,)]
    assert counts(db_path)["articles"] == 5


def test_database_locked_while_storing_articles_is_retried(seed_service: Service, tmp_path: Path) -> None:
    """What the daemon sees: the pass fails with 'database is locked'; the next pass stores everything."""
    db_path = tmp_path / "monitor.db"
    seed_service.db.execute("PRAGMA busy_timeout = 200")
    blocker = sqlite3.connect(db_path, isolation_level=None)
    with pytest.raises(Exception, match="locked"):  # whichever type leaks, its message must say what happened
        seed_service.poll(names=["coast"], should_stop=fault_after_polls(lambda: blocker.execute("BEGIN EXCLUSIVE")))
    blocker.execute("ROLLBACK")
    blocker.close()
    assert counts(db_path)["articles"] == 0  # nothing half-written
    assert query(db_path, "SELECT count(*) FROM entries WHERE state = 'pending'") == [(5,)]
    reports = seed_service.poll(names=["coast"])
    assert reports[0].status == "not_modified" and reports[0].articles == 5
    assert query(db_path, "PRAGMA integrity_check") == [("ok",)]


def test_disk_full_while_storing_articles_is_retried(seed_service: Service, tmp_path: Path) -> None:
    db_path = tmp_path / "monitor.db"

    def fill_disk() -> None:
        pages = seed_service.db.execute("PRAGMA page_count").fetchone()[0]
        seed_service.db.execute(f"PRAGMA max_page_count = {pages + 2}")

    with pytest.raises(Exception, match="full"):  # whichever type leaks, its message must say what happened
        seed_service.poll(names=["coast"], should_stop=fault_after_polls(fill_disk))
    seed_service.db.execute("PRAGMA max_page_count = 1073741823")
    stored_while_full = counts(db_path)["articles"]
    pending = query(db_path, "SELECT count(*) FROM entries WHERE state = 'pending'")[0][0]
    assert stored_while_full + pending == 5 and pending > 0  # each article either whole or still pending
    assert query(db_path, "SELECT count(*) FROM claims c LEFT JOIN articles a ON a.id = c.article_id "
                          "WHERE a.id IS NULL") == [(0,)]
    seed_service.poll(names=["coast"])
    assert query(db_path, "SELECT count(*) FROM entries WHERE state = 'done'") == [(5,)]
    assert counts(db_path)["articles"] == 5
    assert query(db_path, "PRAGMA integrity_check") == [("ok",)]


# -- alert channels down for an hour ---------------------------------------------------------------


def test_channels_down_for_an_hour_then_everything_delivered_once(tmp_path: Path) -> None:
    service = open_service(load_config(fault_config(tmp_path, [])))
    for article in read_files([SEEDS]):  # the seed articles give several changes of control, so alerts
        service.saver.save(article, None)
    alerts = {row[0] for row in service.db.execute("SELECT id FROM alerts WHERE is_backfill = 0")}
    assert len(alerts) >= 3
    receiver = LocalHTTPServer().start()
    port = receiver.port
    receiver.stop()  # down: connections are refused
    channel = WebhookChannel(name="hook", url=f"http://127.0.0.1:{port}/hook", timeout_s=1.0)
    client = build_client(HttpSettings(allow_private=True))
    settings, rng = DeliverySettings(), random.Random(3)
    start = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    try:
        for minute in range(0, 61):  # the daemon's tick, every minute, for an hour
            report = deliver_pending(service.db, [channel], client, start + timedelta(minutes=minute),
                                     settings=settings, rng=rng)
            assert report.delivered == 0 and report.failed == 0
        states = dict(service.db.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall())
        assert states == {"pending": len(alerts)}
        errors = [row[0] for row in service.db.execute("SELECT last_error FROM deliveries WHERE last_error > ''")]
        assert errors and all("webhook unreachable" in error and "hook" in error for error in errors)
        receiver = LocalHTTPServer(port=port).start()
        receiver.route("/hook", handler=lambda request: Reply(200, b"ok"))
        minute = 61
        while service.db.execute("SELECT count(*) FROM deliveries WHERE state != 'delivered'").fetchone()[0]:
            now = start + timedelta(minutes=minute)
            deliver_pending(service.db, [channel], client, now, settings=settings, rng=rng)
            minute += 1
            assert minute < 61 + 6 * 60, "still undelivered six hours after the receiver came back"
        keys = Counter(request.headers["idempotency-key"] for request in receiver.requests_to("/hook"))
        assert set(keys) == alerts and set(keys.values()) == {1}
        bodies = [json.loads(request.body) for request in receiver.requests_to("/hook")]
        assert {body["id"] for body in bodies} == alerts
        assert minute - 61 <= 65, f"last delivery {minute - 61} min after the receiver returned"
    finally:
        receiver.stop()
        client.close()
        service.close()
