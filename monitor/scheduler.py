"""The daemon: an apscheduler 3.x tick job that picks due feeds from the database; SIGTERM stops it cleanly."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler

from monitor import notify
from monitor.config import Config

log = logging.getLogger(__name__)


def run_daemon(config: Config, tick: Callable[[Callable[[], bool]], None],
               maintenance: Callable[[], None], stop: threading.Event | None = None,
               database_path: str | None = None) -> None:
    """Run `tick` every [schedule] tick_s until SIGTERM/SIGINT (or `stop` is set), then finish in-flight writes.

    `tick` receives a `should_stop` callable and is expected to return soon after it turns true.
    """
    stop = stop or threading.Event()
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_listener(_log_job_error, EVENT_JOB_ERROR)
    job_defaults = {"coalesce": True, "max_instances": 1, "misfire_grace_time": config.schedule.misfire_grace_s}
    scheduler.add_job(tick, "interval", args=[stop.is_set], seconds=config.schedule.tick_s, id="tick",
                      next_run_time=datetime.now(UTC), **job_defaults)
    scheduler.add_job(maintenance, "interval", hours=config.schedule.maintenance_hours, id="maintenance",
                      **job_defaults)
    previous = _install_signal_handlers(stop)
    scheduler.start()
    log.info("daemon started tick_s=%d", config.schedule.tick_s)
    notify.notify_ready(f"polling due feeds every {config.schedule.tick_s}s")
    ping_every = notify.watchdog_interval()
    next_ping = time.monotonic()
    try:
        while not stop.wait(timeout=min(1.0, ping_every or 1.0)):
            if ping_every and database_path and time.monotonic() >= next_ping:
                # Pinged from the main thread, independent of a long tick: only a database that answers counts.
                notify.ping_if_database_answers(database_path)
                next_ping = time.monotonic() + ping_every
    finally:
        notify.notify_stopping("finishing in-flight writes")
        log.info("stopping: finishing in-flight writes")
        scheduler.shutdown(wait=True)
        _restore_signal_handlers(previous)
        log.info("daemon stopped")


def _log_job_error(event: JobExecutionEvent) -> None:
    log.error("job=%s failed: %r", event.job_id, event.exception)


def _install_signal_handlers(stop: threading.Event) -> dict[int, object]:
    """SIGTERM and SIGINT set the stop event (only possible from the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("signal=%s received", signal.Signals(signum).name)
        stop.set()

    return {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}


def _restore_signal_handlers(previous: dict[int, object]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]
