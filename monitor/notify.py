"""The systemd notify protocol (READY, STOPPING, WATCHDOG) over $NOTIFY_SOCKET, and the database check gating pings.

Outside systemd ($NOTIFY_SOCKET unset) every call is a no-op returning False, so the daemon runs unchanged from a
terminal. The watchdog is pinged only after a fresh read of the archive answered (miniflux pings after a DB
ping): a daemon whose database is locked, missing or unreadable stops pinging and systemd restarts it.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# A check slower than this counts as failed: a database that takes longer to answer one read is not healthy.
DEFAULT_CHECK_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class DatabaseCheck:
    """The outcome of one `SELECT 1`-style read of the archive."""

    answered: bool
    elapsed_s: float
    error: str | None = None


def notify(message: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send one sd_notify datagram (e.g. "READY=1"); return False when not run by systemd or the send fails."""
    address = notify_address(environ)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as exc:
        # A lost notification must never stop the daemon; systemd's timeouts will tell the operator.
        log.warning("sd_notify failed message=%s error=%s", message.split("=", 1)[0], exc)
        return False
    return True


def notify_address(environ: Mapping[str, str] | None = None) -> str | bytes | None:
    """The socket address named by $NOTIFY_SOCKET: a path, or an abstract name ('@...' becomes a leading NUL)."""
    value = (os.environ if environ is None else environ).get("NOTIFY_SOCKET", "")
    if not value or value[0] not in "/@":
        return None
    if value.startswith("@"):
        return b"\0" + value[1:].encode("utf-8")
    return value


def notify_ready(status: str | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Tell systemd start-up is complete (Type=notify), with an optional status line."""
    return notify(_with_status("READY=1", status), environ)


def notify_stopping(status: str | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Tell systemd the daemon is shutting down and finishing in-flight writes."""
    return notify(_with_status("STOPPING=1", status), environ)


def notify_watchdog(environ: Mapping[str, str] | None = None) -> bool:
    """Ping the watchdog; call only after a database check answered (see `should_ping_watchdog`)."""
    return notify("WATCHDOG=1", environ)


def _with_status(message: str, status: str | None) -> str:
    # A newline in the status would start a new assignment in the datagram.
    return f"{message}\nSTATUS={' '.join(status.split())}" if status else message


def watchdog_interval(environ: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """Seconds between watchdog pings (half of $WATCHDOG_USEC), or None when no watchdog is set for this process."""
    env = os.environ if environ is None else environ
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    watched_pid = env.get("WATCHDOG_PID")
    if watched_pid and watched_pid != str(os.getpid() if pid is None else pid):
        return None
    if usec <= 0:
        return None
    # Half the deadline, as sd_watchdog_enabled(3) advises, leaves room for one late ping.
    return usec / 1_000_000 / 2


def check_database(path: Path | str, timeout_s: float = DEFAULT_CHECK_TIMEOUT_S) -> DatabaseCheck:
    """Read the archive once through a fresh read-only connection; never raises."""
    started = time.monotonic()
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout_s)
        try:
            # sqlite_master lives on page 1: reading it proves the file is there, readable and not locked out.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return DatabaseCheck(answered=False, elapsed_s=time.monotonic() - started, error=str(exc))
    return DatabaseCheck(answered=True, elapsed_s=time.monotonic() - started)


def database_file(conn: sqlite3.Connection) -> str | None:
    """The file behind a connection's main database, for `check_database`; None for an in-memory database."""
    for _seq, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return file or None
    return None


def should_ping_watchdog(check: DatabaseCheck, max_elapsed_s: float = DEFAULT_CHECK_TIMEOUT_S) -> bool:
    """Ping only when the database answered, and within `max_elapsed_s`."""
    return check.answered and check.elapsed_s <= max_elapsed_s


def ping_if_database_answers(path: Path | str, environ: Mapping[str, str] | None = None,
                             timeout_s: float = DEFAULT_CHECK_TIMEOUT_S) -> bool:
    """Check the database and ping the watchdog only if it answered; return whether a ping was sent."""
    check = check_database(path, timeout_s)
    if not should_ping_watchdog(check, timeout_s):
        log.warning("watchdog ping withheld: database did not answer db=%s elapsed_s=%.2f error=%s",
                    path, check.elapsed_s, check.error)
        return False
    return notify_watchdog(environ)
