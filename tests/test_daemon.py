"""The daemon as a real process: it polls, logs one line per feed and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from seedsite import serve_seed_site
from test_pipeline import write_config


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
    config = write_config(tmp_path, [("coast", feed_url)], extra="[schedule]\ntick_s = 1\n")
    count = "SELECT count(*) FROM articles"
    code, stderr = run_daemon_until(config, lambda: query_one(tmp_path / "monitor.db", count) == (5,))
    assert code == 0, stderr
    assert "feed=coast status=ok" in stderr
    assert "daemon stopped" in stderr
    assert "Traceback" not in stderr


def test_daemon_keeps_running_when_a_feed_cannot_be_reached(tmp_path: Path) -> None:
    # Port 9 (discard) on loopback refuses the connection at once, as an unreachable host does.
    config = write_config(tmp_path, [("offline", "http://127.0.0.1:9/feed.xml")], extra="[schedule]\ntick_s = 1\n")
    errors = "SELECT error_count FROM feeds WHERE name = 'offline' AND error_count >= 1"
    code, stderr = run_daemon_until(config, lambda: query_one(tmp_path / "monitor.db", errors) is not None)
    assert code == 0, stderr
    assert "feed=offline status=error" in stderr
