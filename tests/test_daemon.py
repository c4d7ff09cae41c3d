"""The daemon as a real process: it polls, logs one line per feed and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from seedsite import serve_seed_site
from test_pipeline import write_config

from monitor.config import Config
from monitor.scheduler import run_daemon


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll `condition` until it is true or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def query_one(db_path: Path, sql: str) -> tuple | None:
    """One row from the archive, None while it or its tables do not exist yet."""
    if not db_path.exists():
        return None
    with sqlite3.connect(db_path) as conn:
        try:
            return conn.execute(sql).fetchone()
        except sqlite3.OperationalError:
            return None


def run_daemon_until(config: Path, condition: Callable[[], bool], timeout: float = 90) -> tuple[int, str]:
    """Start `monitor run`, wait for `condition`, send SIGTERM; returns (exit code, stderr)."""
    with subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            reached = wait_for(lambda: condition() or process.poll() is not None, timeout)
            assert reached and process.poll() is None, "the daemon stopped or never reached the condition"
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    return process.returncode, stderr


def test_daemon_polls_and_stops_cleanly_on_sigterm(http_server, tmp_path: Path) -> None:
    feed_url = serve_seed_site(http_server)
    config = write_config(tmp_path, [("coast", feed_url)], processes=2, schedule={"tick_s": 1})
    count = "SELECT count(*) FROM articles"
    code, stderr = run_daemon_until(config, lambda: query_one(tmp_path / "monitor.db", count) == (5,))
    assert code == 0, stderr
    assert "feed=coast status=ok" in stderr
    assert "daemon stopped" in stderr
    assert "Traceback" not in stderr


def test_daemon_keeps_running_when_a_feed_cannot_be_reached(tmp_path: Path) -> None:
    # Port 9 (discard) on loopback refuses the connection at once, as an unreachable host does.
    config = write_config(tmp_path, [("offline", "http://127.0.0.1:9/feed.xml")], schedule={"tick_s": 1})
    errors = "SELECT error_count FROM feeds WHERE name = 'offline' AND error_count >= 1"
    code, stderr = run_daemon_until(config, lambda: query_one(tmp_path / "monitor.db", errors) is not None)
    assert code == 0, stderr
    assert "feed=offline status=error" in stderr


def test_daemon_tells_systemd_ready_pings_while_the_db_answers_and_stopping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify.sock"))
    listener.settimeout(10)
    archive = tmp_path / "monitor.db"
    sqlite3.connect(archive).close()
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # a ping every 0.1 s
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    stop = threading.Event()
    daemon = threading.Thread(target=run_daemon, args=(Config(), lambda should_stop: None, lambda: None, stop),
                              kwargs={"database_path": str(archive)})
    daemon.start()
    try:
        assert listener.recv(4096).startswith(b"READY=1")
        assert listener.recv(4096) == b"WATCHDOG=1"
        archive.rename(tmp_path / "moved.db")  # the database stops answering: so must the pings
        listener.settimeout(0.5)
        late: list[bytes] = []
        with pytest.raises(TimeoutError):
            while True:
                late.append(listener.recv(4096))
        assert late in ([], [b"WATCHDOG=1"])  # at most the one ping already on its way
    finally:
        stop.set()
        daemon.join(timeout=10)
    listener.settimeout(5)
    assert listener.recv(4096).startswith(b"STOPPING=1")
    listener.close()
