"""The outbox: queueing, delivery to a real SMTP server and a real HTTP receiver, retries, crashes, feed health."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import logging
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlite_utils
from httpserver import LocalHTTPServer, RecordedRequest, Reply
from hypothesis import given
from hypothesis import strategies as st
from smtpserver import SMTPTestServer, free_port

from monitor.alerts import Channel, DeliverySettings, EmailChannel, WebhookChannel
from monitor.delivery import (
    deliver_pending,
    queue_deliveries,
    requeue_failed,
    retry_delay_s,
    send_test_alert,
)
from monitor.feedhealth import assess_feed, feed_health_alerts, usual_gap_s
from monitor.store import open_db, outbox

T0 = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=1)  # past any backoff used here
SETTINGS = DeliverySettings(max_attempts=3, backoff_base_s=60.0, backoff_cap_s=600.0)
SECRET = "hook-s3cret"
ALERT_COLUMNS = ("id", "kind", "town_id", "from_side", "to_side", "event_date", "confidence", "created_at",
                 "updated_at", "is_backfill", "payload")


def ensure_alerts_table(db: sqlite_utils.Database) -> None:
    """The outbox table as issue 6 defines it, for databases where the control migration is absent."""
    if not db["alerts"].exists():
        db["alerts"].create({name: (int if name == "is_backfill" else str) for name in ALERT_COLUMNS}, pk="id")


def add_alert(db: sqlite_utils.Database, alert_id: str, *, kind: str = "claimed", town: str = "Kinsabba",
              governorate: str = "Latakia", backfill: bool = False, title: str = "Rebels seize Kansaba") -> None:
    ensure_alerts_table(db)
    payload = {
        "id": alert_id, "kind": kind,
        "town": {"id": town.lower(), "name": town, "spellings": [town, "Kansaba"], "governorate": governorate,
                 "lat": 35.7347, "lon": 36.1264},
        "from_side": "government", "to_side": "rebels", "confidence": "claimed", "event_date": "2016-07-01",
        "detected_at": "2026-11-22T06:55:00Z", "independent_sources": 1,
        "sources": [{"outlet": "Wire A", "url": "https://example.org/a", "title": title,
                     "published_at": "2016-07-01", "quote": "rebels seized Kansaba and the hills",
                     "status": "new", "independent_source": 1}],
    }
    db["alerts"].insert({
        "id": alert_id, "kind": kind, "town_id": town.lower(), "from_side": "government", "to_side": "rebels",
        "event_date": "2016-07-01", "confidence": "claimed", "created_at": "2026-11-22T06:55:00Z",
        "updated_at": "2026-11-22T06:55:00Z", "is_backfill": int(backfill), "payload": json.dumps(payload),
    })


def deliveries(db: sqlite_utils.Database) -> dict[tuple[str, str], dict[str, Any]]:
    return {(row["alert_id"], row["channel"]): row for row in db["deliveries"].rows}


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as shared:
        yield shared


@pytest.fixture
def hook(http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch) -> WebhookChannel:
    monkeypatch.setenv("MONITOR_HOOK_SECRET", SECRET)
    http_server.route("/hook", status=200, body="ok")
    return WebhookChannel(name="ops-hook", url=http_server.url("/hook"), secret_env="MONITOR_HOOK_SECRET",
                          headers={"Authorization": "Bearer t0k"}, timeout_s=2.0)


def mail_channel(port: int, **changes: Any) -> EmailChannel:
    base = EmailChannel(name="ops-mail", host="127.0.0.1", port=port, tls="none", from_addr="monitor@example.org",
                        to=("analyst@example.org",), timeout_s=2.0)
    return replace(base, **changes)


def deliver(db: sqlite_utils.Database, channels: list[Channel], client: httpx.Client, now: datetime = T0,
            **kwargs: Any) -> Any:
    return deliver_pending(db, channels, client, now, settings=SETTINGS, **kwargs)


# -- the whole path --------------------------------------------------------------------------------


def test_control_change_alert_reaches_both_channels_once(
    db: sqlite_utils.Database, smtp_server: SMTPTestServer, http_server: LocalHTTPServer,
    hook: WebhookChannel, client: httpx.Client,
) -> None:
    add_alert(db, "alert-kinsabba-1")
    channels: list[Channel] = [mail_channel(smtp_server.port), hook]
    report = deliver(db, channels, client)
    assert (report.queued, report.delivered, report.retrying) == (2, 2, 0)

    mail = email.message_from_bytes(smtp_server.wait_for_messages(1)[0].content, policy=email.policy.default)
    assert mail["Subject"] == "[monitor] Kinsabba: government -> rebels (claimed)"
    assert mail["Message-ID"] == "<alert.alert-kinsabba-1@example.org>"
    plain = mail.get_body(("plain",)).get_content()
    assert "rebels seized Kansaba and the hills" in plain and "openstreetmap.org/?mlat=35.73470" in plain
    assert "Rebels seize Kansaba" in mail.get_body(("html",)).get_content()

    posted = http_server.wait_for_requests(1, path="/hook")[0]
    assert posted.headers["idempotency-key"] == "alert-kinsabba-1"
    assert posted.headers["authorization"] == "Bearer t0k"
    body = json.loads(posted.body)
    assert body["town"]["name"] == "Kinsabba" and body["to_side"] == "rebels" and body["kind"] == "claimed"
    assert body["sources"][0]["date"] == "2016-07-01"

    rows = deliveries(db)
    assert {row["state"] for row in rows.values()} == {"delivered"}
    assert rows[("alert-kinsabba-1", "ops-mail")]["delivered_at"] == "2026-11-22T07:00:00Z"
    again = deliver(db, channels, client, LATER)
    assert (again.queued, again.delivered) == (0, 0)
    assert len(smtp_server.messages) == 1 and len(http_server.requests_to("/hook")) == 1


def test_a_title_with_cr_lf_reaches_only_the_configured_recipients(
    db: sqlite_utils.Database, smtp_server: SMTPTestServer, client: httpx.Client
) -> None:
    add_alert(db, "crlf", town="Kinsabba\r\nBcc: spy@evil.example", title="Seized\r\nTo: spy@evil.example")
    assert deliver(db, [mail_channel(smtp_server.port)], client).delivered == 1
    received = smtp_server.wait_for_messages(1)[0]
    assert received.rcpt_tos == ("analyst@example.org",)
    mail = email.message_from_bytes(received.content, policy=email.policy.default)
    assert mail["Bcc"] is None and mail["To"] == "analyst@example.org"
    assert mail["Subject"].strip() == "[monitor] Kinsabba Bcc: spy@evil.example: government -> rebels (claimed)"


def test_receiver_can_verify_the_hmac_signature(
    db: sqlite_utils.Database, http_server: LocalHTTPServer, hook: WebhookChannel, client: httpx.Client
) -> None:
    def verify(request: RecordedRequest) -> Reply:
        expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        good = hmac.compare_digest(request.headers.get("x-monitor-signature", ""), expected)
        return Reply(204 if good else 401)

    http_server.route("/hook", handler=verify)
    add_alert(db, "signed")
    assert deliver(db, [hook], client).delivered == 1
    tampered = replace(hook, name="other-secret", secret_env="MONITOR_OTHER_SECRET")
    add_alert(db, "signed-wrong")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MONITOR_OTHER_SECRET", "not-the-receivers")
        report = deliver(db, [tampered], client)
    assert report.retrying == 1 and "webhook answered 401" in report.errors[0]


# -- failures and retries --------------------------------------------------------------------------


def test_smtp_down_then_up_delivers_once(
    db: sqlite_utils.Database, smtp_factory: Callable[..., SMTPTestServer], client: httpx.Client
) -> None:
    port = free_port()
    channels: list[Channel] = [mail_channel(port)]
    add_alert(db, "while-down")
    down = deliver(db, channels, client)
    assert (down.delivered, down.retrying) == (0, 1)
    row = deliveries(db)[("while-down", "ops-mail")]
    assert row["state"] == "pending" and row["attempts"] == 1
    assert "cannot reach smtp server" in row["last_error"] and "channel=ops-mail" in row["last_error"]

    server = smtp_factory(port=port)
    assert deliver(db, channels, client, T0 + timedelta(seconds=1)).delivered == 0  # still backing off
    assert deliver(db, channels, client, LATER).delivered == 1
    assert deliver(db, channels, client, LATER + timedelta(days=1)).delivered == 0
    assert len(server.wait_for_messages(1)) == 1


def test_webhook_500_then_200(
    db: sqlite_utils.Database, http_server: LocalHTTPServer, hook: WebhookChannel, client: httpx.Client
) -> None:
    http_server.route("/hook", status=[500, 200], body="busy")
    add_alert(db, "flaky")
    first = deliver(db, [hook], client)
    assert first.retrying == 1 and "webhook answered 500" in first.errors[0] and "channel=ops-hook" in first.errors[0]
    row = deliveries(db)[("flaky", "ops-hook")]
    retry_at = datetime.fromisoformat(row["next_try_at"].replace("Z", "+00:00"))
    assert T0 + timedelta(seconds=30) <= retry_at <= T0 + timedelta(seconds=60)  # base 60 s, equal jitter
    assert deliver(db, [hook], client, LATER).delivered == 1
    keys = [r.headers["idempotency-key"] for r in http_server.requests_to("/hook")]
    assert keys == ["flaky", "flaky"]


def test_webhook_timeout_is_retried(
    db: sqlite_utils.Database, http_server: LocalHTTPServer, hook: WebhookChannel, client: httpx.Client
) -> None:
    http_server.route("/slow", hang=True)
    slow = replace(hook, url=http_server.url("/slow"), timeout_s=0.3)
    add_alert(db, "slow")
    report = deliver(db, [slow], client)
    assert report.retrying == 1 and "webhook timed out" in report.errors[0]
    assert deliveries(db)[("slow", "ops-hook")]["state"] == "pending"
    assert deliver(db, [replace(slow, url=hook.url)], client, LATER).delivered == 1


class ProcessKilled(BaseException):
    """Stands for SIGKILL: nothing in the monitor may catch it."""


class DiesAfterSend(httpx.BaseTransport):
    """A real transport that lets the request reach the receiver, then 'kills the process' before it returns."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        response.close()
        raise ProcessKilled

    def close(self) -> None:
        self.inner.close()


def test_killed_between_send_and_mark_delivers_at_most_once_more(
    db: sqlite_utils.Database, tmp_path: Path, http_server: LocalHTTPServer, hook: WebhookChannel,
    client: httpx.Client,
) -> None:
    add_alert(db, "crash")
    with httpx.Client(transport=DiesAfterSend()) as dying, pytest.raises(ProcessKilled):
        deliver(db, [hook], dying)
    assert len(http_server.requests_to("/hook")) == 1  # the receiver has it; the monitor never heard back
    db.conn.close()

    restarted = open_db(tmp_path / "monitor.db")  # a fresh process on the same archive
    row = deliveries(restarted)[("crash", "ops-hook")]
    assert (row["state"], row["attempts"], row["delivered_at"]) == ("pending", 1, None)
    assert deliver(restarted, [hook], client, T0).delivered == 0  # leased while the dead send was in flight
    assert deliver(restarted, [hook], client, LATER).delivered == 1
    assert deliver(restarted, [hook], client, LATER + timedelta(days=1)).delivered == 0
    keys = [r.headers["idempotency-key"] for r in http_server.requests_to("/hook")]
    assert keys == ["crash", "crash"]


CHILD = """
import sys
from datetime import datetime
import httpx
from monitor.channels import WebhookChannel
from monitor.delivery import deliver_pending
from monitor.store import open_db

db = open_db(sys.argv[1])
hook = WebhookChannel(name="ops-hook", url=sys.argv[2], timeout_s=30.0)
with httpx.Client() as client:
    deliver_pending(db, [hook], client, datetime.fromisoformat(sys.argv[3]))
"""


def test_a_daemon_killed_mid_send_resends_once_with_the_same_key(
    db: sqlite_utils.Database, tmp_path: Path, http_server: LocalHTTPServer, client: httpx.Client
) -> None:
    child: list[subprocess.Popen[bytes]] = []

    def kill_the_sender(request: RecordedRequest) -> Reply:
        child[0].kill()  # SIGKILL while the sender waits for our answer: it can never mark the delivery
        child[0].wait(timeout=30)
        return Reply(200)

    http_server.route("/kill", handler=kill_the_sender)
    add_alert(db, "killed")
    child.append(subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "monitor.db"),
                                   http_server.url("/kill"), T0.isoformat()]))
    assert child[0].wait(timeout=60) == -signal.SIGKILL
    row = deliveries(db)[("killed", "ops-hook")]
    assert (row["state"], row["attempts"]) == ("pending", 1)

    http_server.route("/kill", status=200)
    hook = WebhookChannel(name="ops-hook", url=http_server.url("/kill"))
    assert deliver(db, [hook], client, LATER).delivered == 1
    assert deliver(db, [hook], client, LATER + timedelta(days=1)).delivered == 0
    assert [r.headers["idempotency-key"] for r in http_server.requests_to("/kill")] == ["killed", "killed"]


def test_wrong_password_names_the_channel_and_keeps_the_alert(
    db: sqlite_utils.Database, smtp_factory: Callable[..., SMTPTestServer], client: httpx.Client,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    server = smtp_factory(login=("alice", "s3cret"), starttls=True)
    channel = mail_channel(server.port, host="localhost", tls="starttls", username="alice",
                           password_env="MONITOR_SMTP_PASSWORD")
    monkeypatch.setenv("MONITOR_SMTP_PASSWORD", "hunter2")
    add_alert(db, "guarded")
    with caplog.at_level(logging.DEBUG):
        report = deliver(db, [channel], client)
    assert report.retrying == 1 and "smtp login refused" in report.errors[0]
    assert "channel=ops-mail" in report.errors[0] and "hunter2" not in caplog.text + report.errors[0]
    row = deliveries(db)[("guarded", "ops-mail")]
    assert row["state"] == "pending" and "smtp login refused" in row["last_error"]
    assert db["alerts"].get("guarded")["id"] == "guarded"

    monkeypatch.setenv("MONITOR_SMTP_PASSWORD", "s3cret")
    assert deliver(db, [channel], client, LATER).delivered == 1
    assert server.wait_for_messages(1)[0].login == "alice"


def test_failed_after_max_attempts_then_requeued(
    db: sqlite_utils.Database, http_server: LocalHTTPServer, hook: WebhookChannel, client: httpx.Client
) -> None:
    http_server.route("/hook", status=503)
    add_alert(db, "stubborn")
    outcomes = [deliver(db, [hook], client, T0 + timedelta(days=day)) for day in range(4)]
    assert [(r.retrying, r.failed) for r in outcomes] == [(1, 0), (1, 0), (0, 1), (0, 0)]
    assert outbox.delivery_counts(db) == {"pending": 0, "delivered": 0, "failed": 1}
    assert requeue_failed(db) == 1
    http_server.route("/hook", status=200)
    assert deliver(db, [hook], client, T0 + timedelta(days=4)).delivered == 1
    assert outbox.delivery_counts(db)["delivered"] == 1


def test_a_delivery_whose_attempts_all_crashed_is_failed_not_retried_forever(
    db: sqlite_utils.Database, http_server: LocalHTTPServer, hook: WebhookChannel, client: httpx.Client
) -> None:
    add_alert(db, "poison")
    for day in range(SETTINGS.max_attempts):
        with httpx.Client(transport=DiesAfterSend()) as dying, pytest.raises(ProcessKilled):
            deliver(db, [hook], dying, T0 + timedelta(days=day))
    report = deliver(db, [hook], client, LATER + timedelta(days=SETTINGS.max_attempts))
    assert (report.delivered, report.failed) == (0, 1) and "3 attempts never finished" in report.errors[0]
    assert len(http_server.requests_to("/hook")) == SETTINGS.max_attempts


def test_retry_after_pushes_the_next_try(
    db: sqlite_utils.Database, http_server: LocalHTTPServer, hook: WebhookChannel, client: httpx.Client
) -> None:
    http_server.route("/hook", status=429, headers={"Retry-After": "500"})
    add_alert(db, "throttled")
    deliver(db, [hook], client)
    assert deliveries(db)[("throttled", "ops-hook")]["next_try_at"] == "2026-11-22T07:08:20Z"


def test_a_failing_channel_is_tried_once_per_pass_and_blocks_no_other(
    db: sqlite_utils.Database, hook: WebhookChannel, client: httpx.Client
) -> None:
    add_alert(db, "one")
    add_alert(db, "two")
    report = deliver(db, [mail_channel(free_port()), hook], client)
    assert (report.delivered, report.retrying, report.deferred) == (2, 1, 1)


def test_a_delivery_for_a_removed_channel_waits(db: sqlite_utils.Database, hook: WebhookChannel,
                                                client: httpx.Client) -> None:
    add_alert(db, "orphan")
    queue_deliveries(db, [replace(hook, name="old-name")], T0)
    report = deliver(db, [hook], client)
    assert report.deferred == 1 and deliveries(db)[("orphan", "old-name")]["state"] == "pending"


def test_a_claimed_delivery_cannot_be_claimed_twice(db: sqlite_utils.Database, hook: WebhookChannel) -> None:
    add_alert(db, "race")
    queue_deliveries(db, [hook], T0)
    row_id = deliveries(db)[("race", "ops-hook")]["id"]
    assert outbox.claim_delivery(db, row_id, 0, T0, T0 + timedelta(minutes=5))
    assert not outbox.claim_delivery(db, row_id, 0, T0, T0 + timedelta(minutes=5))


# -- queueing --------------------------------------------------------------------------------------


def test_channel_filters_decide_the_deliveries(db: sqlite_utils.Database, hook: WebhookChannel) -> None:
    add_alert(db, "latakia-claimed")
    add_alert(db, "idlib-confirmed", kind="confirmed", town="Jisr al-Shughur", governorate="Idlib")
    mail = mail_channel(25, kinds=("confirmed", "reverted"))
    coast = replace(hook, towns=("Latakia",))
    assert queue_deliveries(db, [mail, coast], T0) == 2
    assert set(deliveries(db)) == {("idlib-confirmed", "ops-mail"), ("latakia-claimed", "ops-hook")}


def test_backfill_alerts_are_never_queued(
    db: sqlite_utils.Database, http_server: LocalHTTPServer, hook: WebhookChannel, client: httpx.Client
) -> None:
    add_alert(db, "from-the-archive", backfill=True)
    report = deliver(db, [hook], client)
    assert (report.queued, report.delivered) == (0, 0)
    assert deliveries(db) == {} and http_server.requests_to("/hook") == []


def test_a_channel_added_later_gets_only_new_alerts(
    db: sqlite_utils.Database, hook: WebhookChannel, client: httpx.Client
) -> None:
    add_alert(db, "before")
    deliver(db, [hook], client)
    mail = mail_channel(free_port())
    add_alert(db, "after")
    queue_deliveries(db, [hook, mail], T0)
    assert set(deliveries(db)) == {("before", "ops-hook"), ("after", "ops-hook"), ("after", "ops-mail")}


# -- test alert ------------------------------------------------------------------------------------


def test_send_test_alert_reports_each_channel(
    smtp_server: SMTPTestServer, http_server: LocalHTTPServer, hook: WebhookChannel, client: httpx.Client
) -> None:
    broken = replace(hook, name="broken-hook", url=http_server.url("/missing"))
    results = send_test_alert([mail_channel(smtp_server.port, kinds=("reverted",)), hook, broken], client, T0)
    assert [(r.channel, r.kind, r.ok) for r in results] == [
        ("ops-mail", "email", True), ("ops-hook", "webhook", True), ("broken-hook", "webhook", False)]
    assert "webhook answered 404" in results[2].detail
    subject = email.message_from_bytes(smtp_server.wait_for_messages(1)[0].content)["Subject"]
    assert subject.startswith("[monitor] TEST ")
    assert json.loads(http_server.requests_to("/hook")[0].body)["is_test"] is True


# -- backoff ---------------------------------------------------------------------------------------


@given(attempts=st.integers(1, 60), jitter=st.floats(0, 1))
def test_retry_delay_is_bounded_and_grows(attempts: int, jitter: float) -> None:
    delay = retry_delay_s(attempts, SETTINGS, jitter)
    assert SETTINGS.backoff_base_s / 2 <= delay <= SETTINGS.backoff_cap_s
    assert retry_delay_s(attempts + 1, SETTINGS, jitter) >= delay


# -- feed health -----------------------------------------------------------------------------------


def add_feed(db: sqlite_utils.Database, name: str, **columns: Any) -> int:
    row = {"name": name, "url": f"https://{name}.example/rss", "kind": "feed", "created_at": "2026-11-01T00:00:00Z",
           "error_count": 0, **columns}
    return db["feeds"].insert(row).last_pk


def test_a_failing_feed_alerts_once_and_once_on_recovery(
    db: sqlite_utils.Database, smtp_server: SMTPTestServer, client: httpx.Client
) -> None:
    settings = replace(SETTINGS, feed_failing_after_s=6 * 3600)
    ensure_alerts_table(db)
    feed = add_feed(db, "coastnews", error_count=9, last_error="HTTP 503",
                    last_success_at=(T0 - timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert feed_health_alerts(db, T0 - timedelta(hours=2), settings) == []  # failing 5 h: not yet
    written = feed_health_alerts(db, T0, settings)
    assert written == [f"feed_health:{feed}:failing:2026-11-22T00:00:00Z"]
    assert feed_health_alerts(db, T0 + timedelta(hours=1), settings) == []  # same episode: no second alert

    report = deliver(db, [mail_channel(smtp_server.port, kinds=("feed_health",))], client)
    assert report.delivered == 1
    mail = email.message_from_bytes(smtp_server.wait_for_messages(1)[0].content, policy=email.policy.default)
    assert mail["Subject"] == "[monitor] feed coastnews: failing (feed health)"
    assert "HTTP 503" in mail.get_body(("plain",)).get_content()

    db["feeds"].update(feed, {"error_count": 0, "last_error": None, "last_success_at": "2026-11-22T08:00:00Z"})
    assert feed_health_alerts(db, T0 + timedelta(hours=2), settings) == [
        f"feed_health:{feed}:recovered:2026-11-22T00:00:00Z"]
    assert feed_health_alerts(db, T0 + timedelta(hours=3), settings) == []


def test_a_feed_silent_far_beyond_its_cadence_alerts(db: sqlite_utils.Database) -> None:
    ensure_alerts_table(db)
    feed = add_feed(db, "hourly", last_entry_at="2026-11-20T07:00:00Z")
    hours = [T0 - timedelta(days=2, hours=h) for h in range(12)]
    db["entries"].insert_all([{"key": f"e{i}", "feed_id": feed, "published_at": t.strftime("%Y-%m-%dT%H:%M:%SZ")}
                              for i, t in enumerate(hours)])
    settings = replace(SETTINGS, feed_silent_factor=5.0, feed_silent_min_s=3600.0)
    assert feed_health_alerts(db, T0, settings) == [f"feed_health:{feed}:silent:2026-11-20T07:00:00Z"]
    alert = db["alerts"].get(f"feed_health:{feed}:silent:2026-11-20T07:00:00Z")
    assert "no new entry for 48.0 h; it usually publishes every 1.0 h" in alert["payload"]


def test_feed_assessment_needs_enough_history() -> None:
    assert usual_gap_s(["2026-11-22T00:00:00Z", "2026-11-22T01:00:00Z"]) is None
    feed = {"error_count": 0, "last_entry_at": "2026-11-01T00:00:00Z"}
    assert assess_feed(feed, [], T0, SETTINGS).state == "ok"  # no cadence known: never "silent"


def test_test_alert_from_a_config_file_reaches_a_local_smtp_server(
    tmp_path: Path, smtp_factory: Callable[..., SMTPTestServer], client: httpx.Client
) -> None:
    from monitor.config import load_config

    server = smtp_factory(login=("alice", "s3cret"), starttls=True)
    (tmp_path / "smtp-password").write_text("s3cret\n")
    (tmp_path / "config.toml").write_text(f"""
[[alerts.email]]
name = "desk"
host = "localhost"
port = {server.port}
tls = "starttls"
username = "alice"
password_file = "{tmp_path / 'smtp-password'}"
from = "monitor@example.org"
to = ["analyst@example.org", "editor@example.org"]
""")
    config = load_config(tmp_path / "config.toml")
    results = send_test_alert([*config.alerts.email, *config.alerts.webhook], client, T0)
    assert [(r.channel, r.ok) for r in results] == [("desk", True)]
    mail = server.wait_for_messages(1)[0]
    assert mail.login == "alice" and mail.rcpt_tos == ("analyst@example.org", "editor@example.org")


def test_alert_list_shows_each_delivery_state_and_undelivered_alerts(
    db: sqlite_utils.Database, hook: WebhookChannel, client: httpx.Client
) -> None:
    add_alert(db, "sent")
    deliver(db, [hook, mail_channel(free_port())], client)
    add_alert(db, "archive", backfill=True)
    rows = {(r["alert_id"], r["channel"]): r for r in outbox.list_alerts(db)}
    assert rows[("sent", "ops-hook")]["state"] == "delivered"
    assert rows[("sent", "ops-mail")]["state"] == "pending" and rows[("sent", "ops-mail")]["attempts"] == 1
    assert rows[("archive", None)]["is_backfill"] == 1
    assert [r["channel"] for r in outbox.list_alerts(db, state="pending")] == ["ops-mail"]
