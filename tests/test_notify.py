"""sd_notify over a real datagram socket (path and abstract namespace), WATCHDOG_USEC, and the DB-gated ping."""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor import notify
from monitor.notify import DatabaseCheck


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, dict[str, str]]]:
    """A bound datagram socket standing in for systemd, and the environment naming it."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    yield sock, {"NOTIFY_SOCKET": str(path)}
    sock.close()


def received(sock: socket.socket) -> list[bytes]:
    """Every datagram already queued on the socket, without waiting for more."""
    messages = []
    sock.setblocking(False)
    try:
        while True:
            messages.append(sock.recv(4096))
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(5)
    return messages


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "monitor.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE feeds (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    return path


def test_ready_stopping_and_watchdog_reach_a_path_socket(listener: tuple[socket.socket, dict[str, str]]) -> None:
    sock, env = listener
    assert notify.notify_ready("polling 12 feeds", env)
    assert sock.recv(4096) == b"READY=1\nSTATUS=polling 12 feeds"
    assert notify.notify_watchdog(env)
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert notify.notify_stopping(environ=env)
    assert sock.recv(4096) == b"STOPPING=1"


def test_status_cannot_inject_a_second_assignment(listener: tuple[socket.socket, dict[str, str]]) -> None:
    sock, env = listener
    assert notify.notify_ready("ok\nWATCHDOG=1", env)
    assert sock.recv(4096) == b"READY=1\nSTATUS=ok WATCHDOG=1"


def test_abstract_namespace_socket() -> None:
    name = f"monitor-test-{os.getpid()}-{id(object())}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(5)
        assert notify.notify_address({"NOTIFY_SOCKET": "@" + name}) == b"\0" + name.encode()
        assert notify.notify("READY=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(4096) == b"READY=1"


def test_without_systemd_every_call_is_a_no_op(tmp_path: Path) -> None:
    assert notify.notify_ready(environ={}) is False
    assert notify.notify_address({"NOTIFY_SOCKET": "relative/path"}) is None
    # A socket that went away: the daemon logs and carries on.
    assert notify.notify_watchdog({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}) is False


@pytest.mark.parametrize(
    ("env", "pid", "expected"),
    [
        ({"WATCHDOG_USEC": "120000000"}, 42, 60.0),
        ({"WATCHDOG_USEC": "120000000", "WATCHDOG_PID": "42"}, 42, 60.0),
        ({"WATCHDOG_USEC": "120000000", "WATCHDOG_PID": "7"}, 42, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, 42, None),
        ({"WATCHDOG_USEC": "soon"}, 42, None),
        ({}, 42, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], pid: int, expected: float | None) -> None:
    assert notify.watchdog_interval(env, pid=pid) == expected


def test_should_ping_only_when_the_database_answered_in_time() -> None:
    assert notify.should_ping_watchdog(DatabaseCheck(answered=True, elapsed_s=0.01), max_elapsed_s=5)
    assert not notify.should_ping_watchdog(DatabaseCheck(answered=False, elapsed_s=0.01, error="locked"), 5)
    assert not notify.should_ping_watchdog(DatabaseCheck(answered=True, elapsed_s=6.0), max_elapsed_s=5)


def test_check_database_answers_on_a_readable_archive(archive: Path) -> None:
    check = notify.check_database(archive)
    assert check.answered and check.error is None


def test_check_database_fails_on_missing_and_locked_archives(tmp_path: Path, archive: Path) -> None:
    missing = notify.check_database(tmp_path / "absent.db")
    assert not missing.answered and missing.error
    assert not (tmp_path / "absent.db").exists()  # the check is read-only: it never creates the file
    holder = sqlite3.connect(archive, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        locked = notify.check_database(archive, timeout_s=0.05)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not locked.answered and "locked" in (locked.error or "")


def test_database_file_names_the_connections_file(archive: Path) -> None:
    conn = sqlite3.connect(archive)
    try:
        assert notify.database_file(conn) == str(archive.resolve())
    finally:
        conn.close()
    memory = sqlite3.connect(":memory:")
    assert notify.database_file(memory) is None
    memory.close()


def test_ping_is_sent_only_while_the_database_answers(
    listener: tuple[socket.socket, dict[str, str]], archive: Path, tmp_path: Path
) -> None:
    sock, env = listener
    assert notify.ping_if_database_answers(archive, env)
    assert received(sock) == [b"WATCHDOG=1"]
    assert not notify.ping_if_database_answers(tmp_path / "absent.db", env)
    assert received(sock) == []
