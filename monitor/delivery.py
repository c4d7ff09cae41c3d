"""The outbox loop: queue a delivery per (alert, channel), send what is due (smtplib, httpx), record, back off.

At least once: a delivery is marked delivered only after the channel accepted it, and the alert id is the
idempotency key (webhook `Idempotency-Key`, email `Message-ID`), so a resend after a crash can be recognised.
"""

from __future__ import annotations

import logging
import os
import random
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlite_utils

from monitor.alerts import Alert, Source, Town, alert_from_row, matches_channel, render_email, render_webhook
from monitor.channels import Channel, DeliverySettings, EmailChannel, WebhookChannel
from monitor.errors import AlertError
from monitor.store import outbox

log = logging.getLogger(__name__)

QUEUE_BATCH = 500


# -- sending ---------------------------------------------------------------------------------------


def read_secret(env: str | None, file: str | None, channel: str) -> str | None:
    """The secret from the named environment variable or file (trailing newline dropped); None if unset."""
    if env:
        value = os.environ.get(env)
        if not value:
            raise AlertError("secret not set", channel=channel, env=env, hint=f"export {env} in the service's env")
        return value
    if file:
        path = Path(os.path.expanduser(os.path.expandvars(file)))
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise AlertError("secret file unreadable", channel=channel, file=str(path),
                             hint="check the path (systemd: $CREDENTIALS_DIRECTORY) and its permissions") from exc
    return None


def _smtp_session(channel: EmailChannel, message: EmailMessage, password: str | None) -> dict[str, Any]:
    context = ssl.create_default_context()
    if channel.tls == "implicit":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(channel.host, channel.port, timeout=channel.timeout_s, context=context)
    else:
        smtp = smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout_s)
    try:
        if channel.tls == "starttls":
            smtp.starttls(context=context)
        if channel.username:
            smtp.login(channel.username, password or "")
        refused = smtp.send_message(message, from_addr=channel.from_addr, to_addrs=list(channel.to))
    finally:
        try:  # the message is accepted once send_message returns: a failed QUIT must not cause a resend
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
    return refused


def send_email(channel: EmailChannel, message: EmailMessage) -> str:
    """Send one message through the channel's SMTP server; raises AlertError naming the channel."""
    password = read_secret(channel.password_env, channel.password_file, channel.name)
    where = {"channel": channel.name, "server": f"{channel.host}:{channel.port}"}
    try:
        refused = _smtp_session(channel, message, password)
    except smtplib.SMTPAuthenticationError as exc:
        raise AlertError(f"smtp login refused ({exc.smtp_code})", **where,
                         hint="check username and the password in password_env/password_file") from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise AlertError(f"smtp server lacks a feature: {exc}", **where,
                         hint="check tls (starttls needs a server offering STARTTLS) and username") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise AlertError("smtp server refused every recipient", **where, hint="check the to addresses") from exc
    except smtplib.SMTPServerDisconnected as exc:
        if isinstance(exc.__context__, TimeoutError):  # smtplib reports a read timeout as a disconnect
            raise AlertError("smtp server timed out", **where, hint="check host, port and timeout_s") from exc
        raise AlertError(f"smtp server hung up: {exc}", **where, hint="check the smtp settings") from exc
    except smtplib.SMTPException as exc:
        raise AlertError(f"smtp error: {exc}", **where, hint="check the smtp settings") from exc
    except ssl.SSLError as exc:
        raise AlertError(f"tls failed: {exc.reason or exc}", **where,
                         hint="check tls and port (587 starttls, 465 implicit) and the server certificate") from exc
    except TimeoutError as exc:
        raise AlertError("smtp server timed out", **where, hint="check host, port and timeout_s") from exc
    except OSError as exc:
        raise AlertError(f"cannot reach smtp server: {exc.strerror or exc}", **where,
                         hint="check host and port, and that the server is up") from exc
    if refused:
        log.warning("some recipients refused channel=%s refused=%s", channel.name, ",".join(sorted(refused)))
        return f"accepted for {len(channel.to) - len(refused)} of {len(channel.to)} recipients"
    return f"accepted by {channel.host}:{channel.port} for {len(channel.to)} recipient(s)"


def _retry_after_s(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else None


def send_webhook(channel: WebhookChannel, body: bytes, headers: dict[str, str], client: httpx.Client) -> str:
    """POST the body; a 2xx answer means accepted. The URL may hold a token, so errors show its host only."""
    where = {"channel": channel.name, "host": urlsplit(channel.url).hostname}
    try:
        response = client.post(
            channel.url, content=body, headers=headers, timeout=channel.timeout_s, follow_redirects=False
        )
    except httpx.TimeoutException as exc:
        raise AlertError("webhook timed out", **where, hint="the receiver answered slower than timeout_s") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise AlertError(f"webhook unreachable: {type(exc).__name__}", **where,
                         hint="check the url and that the receiver is up") from exc
    if not 200 <= response.status_code < 300:
        answer = " ".join(response.text[:200].split())
        raise AlertError(f"webhook answered {response.status_code}", **where, answer=answer or None,
                         retry_after_s=_retry_after_s(response), hint="check the url, format and headers")
    return f"HTTP {response.status_code}"


def send_alert(alert: Alert, channel: Channel, client: httpx.Client, now: datetime) -> str:
    """Render and send one alert on one channel; returns what the channel answered, raises AlertError."""
    if isinstance(channel, EmailChannel):
        return send_email(channel, render_email(alert, channel, now))
    secret = read_secret(channel.secret_env, channel.secret_file, channel.name)
    request = render_webhook(alert, channel, secret)
    return send_webhook(channel, request.body, request.headers, client)


# -- the loop --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one pass over the outbox did."""

    queued: int = 0  # deliveries created for new alerts
    delivered: int = 0
    retrying: int = 0  # failed this time, will be retried
    failed: int = 0  # failed for the last allowed time: shown in `monitor status`
    deferred: int = 0  # due but not tried: channel unknown or already failing in this pass
    errors: tuple[str, ...] = ()


def retry_delay_s(attempts: int, settings: DeliverySettings, jitter: float) -> float:
    """Exponential backoff with equal jitter: half the capped delay, plus jitter (0..1) times the other half."""
    delay = min(settings.backoff_cap_s, settings.backoff_base_s * 2 ** max(attempts - 1, 0))
    return delay * (0.5 + 0.5 * jitter)


def _channel_kind(channel: Channel) -> str:
    return "email" if isinstance(channel, EmailChannel) else "webhook"


def queue_deliveries(db: sqlite_utils.Database, channels: list[Channel], now: datetime) -> int:
    """Create pending deliveries for alerts never queued (backfill alerts never are); returns how many."""
    created = 0
    while batch := outbox.unqueued_alerts(db, QUEUE_BATCH):
        for row in batch:
            try:
                alert = alert_from_row(row)
                targets = [(c.name, _channel_kind(c)) for c in channels if matches_channel(alert, c)]
            except (ValueError, TypeError) as exc:
                log.error("alert payload unreadable alert=%s error=%s", row.get("id"), exc)
                targets = [(c.name, _channel_kind(c)) for c in channels]  # the send will record the error
            created += outbox.queue_alert(db, str(row["id"]), targets, now)
        if len(batch) < QUEUE_BATCH:
            break
    return created


def _attempt(
    db: sqlite_utils.Database, row: dict[str, Any], channel: Channel, client: httpx.Client,
    now: datetime, settings: DeliverySettings, jitter: float,
) -> tuple[str, str]:
    """Claim, send and record one delivery; returns (outcome, detail)."""
    if row["attempts"] >= settings.max_attempts:  # every allowed attempt ended in a crash, not an answer
        error = f"gave up: {row['attempts']} attempts never finished; last error: {row['last_error'] or 'none'}"
        outbox.record_failure(db, row["id"], error, now, give_up=True)
        return "failed", error
    attempts = row["attempts"] + 1
    retry_at = now + timedelta(seconds=retry_delay_s(attempts, settings, jitter))
    # While the send runs the row is leased: a crash leaves it due again after the lease, not never.
    lease = max(retry_at, now + timedelta(seconds=5 * channel.timeout_s))
    if not outbox.claim_delivery(db, row["id"], row["attempts"], now, lease):
        return "deferred", "taken by another process"
    try:
        alert = alert_from_row({**row, "id": row["alert_id"], "created_at": row["alert_created_at"]})
        detail = send_alert(alert, channel, client, now)
    except (ValueError, TypeError) as exc:
        unreadable = AlertError(f"alert unreadable: {exc}", channel=channel.name, alert=row["alert_id"])
        outbox.record_failure(db, row["id"], unreadable.describe(), retry_at, give_up=True)
        return "failed", unreadable.describe()
    except AlertError as exc:
        wait = exc.context.get("retry_after_s")
        if isinstance(wait, float):
            retry_at = max(retry_at, now + timedelta(seconds=min(wait, settings.backoff_cap_s)))
        give_up = attempts >= settings.max_attempts
        outbox.record_failure(db, row["id"], exc.describe(), retry_at, give_up=give_up)
        log.warning("alert not delivered alert=%s attempt=%d/%d %s", row["alert_id"], attempts,
                    settings.max_attempts, exc.describe())
        return ("failed" if give_up else "retrying"), exc.describe()
    outbox.mark_delivered(db, row["id"], now, detail)
    log.info("alert delivered alert=%s channel=%s %s", row["alert_id"], channel.name, detail)
    return "delivered", detail


def deliver_pending(
    db: sqlite_utils.Database, channels: list[Channel], client: httpx.Client, now: datetime, *,
    settings: DeliverySettings | None = None, rng: random.Random | None = None, limit: int = 100,
) -> DeliveryReport:
    """Queue new alerts, then send every due delivery once; a channel that fails is left for the next pass."""
    settings = settings or DeliverySettings()
    rng = rng or random.Random()
    queued = queue_deliveries(db, channels, now)
    by_name = {channel.name: channel for channel in channels}
    failing: set[str] = set()  # one failure per channel per pass: a down server costs one timeout, not N
    counts = dict.fromkeys(("delivered", "retrying", "failed", "deferred"), 0)
    errors: list[str] = []
    for row in outbox.due_deliveries(db, now, limit):
        channel = by_name.get(row["channel"])
        if channel is None or channel.name in failing:
            counts["deferred"] += 1
            continue
        outcome, detail = _attempt(db, row, channel, client, now, settings, rng.random())
        counts[outcome] += 1
        if outcome in ("retrying", "failed"):
            failing.add(channel.name)
            errors.append(detail)
    return DeliveryReport(queued=queued, errors=tuple(errors), **counts)


def requeue_failed(db: sqlite_utils.Database) -> int:
    """Make failed deliveries pending again, due now (`monitor alerts retry`); returns how many."""
    count = outbox.requeue_failed_deliveries(db)
    log.info("failed deliveries requeued count=%d", count)
    return count


@dataclass(frozen=True, slots=True)
class ChannelResult:
    """The outcome of a test alert on one channel."""

    channel: str
    kind: str  # email | webhook
    ok: bool
    detail: str  # what the channel answered, or the error with its hint


def example_alert(now: datetime) -> Alert:
    """A harmless example alert, marked as a test in its subject and payload."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Alert(
        id=f"test-{stamp}", kind="test", town=Town("test", "Test town", (), None, None, ""),
        from_side="side A", to_side="side B", confidence="claimed", event_date=now.date().isoformat(),
        detected_at=outbox.iso(now), is_test=True,
        sources=(Source("monitor", "", "Test alert from monitor test-alert", now.date().isoformat(), ""),),
    )


def send_test_alert(channels: list[Channel], client: httpx.Client, now: datetime | None = None) -> list[ChannelResult]:
    """Send a test alert through every channel, filters ignored, and report each result (no database)."""
    now = now or datetime.now(UTC)
    alert = example_alert(now)
    results = []
    for channel in channels:
        try:
            results.append(ChannelResult(channel.name, _channel_kind(channel), True,
                                         send_alert(alert, channel, client, now)))
        except AlertError as exc:
            results.append(ChannelResult(channel.name, _channel_kind(channel), False, exc.describe()))
    return results

