"""Alert channels: config checks, rendering (email, JSON, Slack, Discord) and sending to real local servers."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from httpserver import LocalHTTPServer
from smtpserver import SMTPTestServer

from monitor.alerts import (
    Alert,
    DeliverySettings,
    EmailChannel,
    FeedStatus,
    Source,
    Town,
    WebhookChannel,
    alert_from_row,
    alert_summary,
    channel_name_problems,
    header_safe,
    map_url,
    matches_channel,
    message_id,
    render_email,
    render_webhook,
    sign_body,
    webhook_payload,
)
from monitor.delivery import read_secret, send_email, send_webhook
from monitor.errors import AlertError

NOW = datetime(2026, 11, 22, 6, 30, tzinfo=UTC)
TOWN = Town("kinsabba", "Kinsabba", ("Kinsabba", "Kansaba", "Kinsibba"), 35.7347, 36.1264, "Latakia")
SOURCES = (
    Source("Wire A", "https://example.org/a", "Rebels seize Kansaba", "2016-07-01",
           "rebels seized Kansaba and the surrounding hills"),
    Source("Outlet B", "https://example.net/b", "Fighting in Jabal al-Akrad", "2016-07-02", ""),
)
ALERT = Alert("a1b2c3", "claimed", TOWN, "government", "rebels", "claimed", "2016-07-01",
              "2026-11-22T06:00:00Z", SOURCES)


def email_channel(**changes: object) -> EmailChannel:
    base = EmailChannel(name="ops-mail", host="127.0.0.1", port=25, tls="none", from_addr="monitor@example.org",
                        to=("analyst@example.org", "desk@example.org"))
    return replace(base, **changes)


def webhook_channel(**changes: object) -> WebhookChannel:
    return replace(WebhookChannel(name="ops-hook", url="https://hooks.example.org/T000/B000"), **changes)


def parts(message: email.message.Message) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.walk() if not part.is_multipart()}


# -- config checks: one bad value per validator -----------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"tls": "ssl"}, "x.tls: must be one of none, starttls, implicit"),
        ({"port": 0}, "x.port: must be between 1 and 65535"),
        ({"username": "u", "password_env": "A", "password_file": "/f", "tls": "starttls"},
         "x: set password_env or password_file, not both"),
        ({"password_env": "SMTP_PASSWORD"}, "x.username: required when a password is set"),
        ({"username": "u", "tls": "starttls"}, "x.password_env: set password_env or password_file"),
        ({"username": "u", "password_env": "P", "host": "mail.example.org"}, "would send the password in clear"),
        ({"to": ("analyst.example.org",)}, "x.to[0]: not an email address"),
        ({"from_addr": "monitor@example.org\r\nBcc: x@evil"}, "x.from: not an email address"),
        ({"to": ()}, "x.to: at least one address"),
        ({"kinds": ("captured",)}, "x.kinds: unknown kind 'captured'"),
        ({"timeout_s": 0.0}, "x.timeout_s: must be more than 0"),
        ({"name": " "}, "x.name: must not be empty"),
        ({"host": ""}, "x.host: must be a host name"),
    ],
)
def test_email_channel_problems(changes: dict[str, object], expected: str) -> None:
    assert email_channel().problems("x") == []
    assert any(expected in problem for problem in email_channel(**changes).problems("x"))


def test_channel_names_must_be_unique_across_kinds() -> None:
    assert channel_name_problems([email_channel(), webhook_channel()]) == []
    assert channel_name_problems([email_channel(), webhook_channel(name="ops-mail")]) == [
        "alerts: channel name 'ops-mail' is used twice"]


def test_describe_shows_where_alerts_go_but_no_secret() -> None:
    mail = email_channel(username="alice", password_env="SMTP_PASSWORD", kinds=("claimed",))
    assert mail.describe() == ("ops-mail: email via 127.0.0.1:25 tls=none, login alice with password from "
                               "$SMTP_PASSWORD, to analyst@example.org, desk@example.org, kinds claimed")
    hook = webhook_channel(secret_file="/run/credentials/hook", headers={"Authorization": "Bearer t0k"})
    line = hook.describe()
    assert line == ("ops-hook: webhook (json) to https://hooks.example.org/…, signed, secret from file "
                    "/run/credentials/hook, headers Authorization")
    assert "T000" not in line and "t0k" not in line


def test_email_login_over_plain_smtp_is_allowed_on_loopback() -> None:
    assert email_channel(username="u", password_env="P").problems("x") == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"url": "ftp://example.org/hook"}, "x.url: must be an http(s) URL"),
        ({"url": "hooks.example.org/path"}, "x.url: must be an http(s) URL"),
        ({"url": "https://hooks.example.org:99999/path"}, "x.url: must be an http(s) URL"),
        ({"format": "teams"}, "x.format: must be one of json, slack, discord"),
        ({"secret_env": "A", "secret_file": "/f"}, "x: set secret_env or secret_file, not both"),
        ({"headers": {"Idempotency-Key": "1"}}, "'Idempotency-Key' is not a header name"),
        ({"headers": {"Bad Name": "1"}}, "'Bad Name' is not a header name"),
        ({"headers": {"Authorization": "Bearer a\r\nX-Evil: 1"}}, "x.headers.Authorization: must not contain"),
        ({"kinds": ("feed-health",)}, "x.kinds: unknown kind"),
        ({"timeout_s": -1.0}, "x.timeout_s: must be more than 0"),
    ],
)
def test_webhook_channel_problems(changes: dict[str, object], expected: str) -> None:
    assert webhook_channel(headers={"Authorization": "Bearer t"}).problems("x") == []
    assert any(expected in problem for problem in webhook_channel(**changes).problems("x"))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"max_attempts": 0}, "d.max_attempts: must be at least 1"),
        ({"backoff_base_s": 0.0}, "d.backoff_base_s: must be more than 0"),
        ({"backoff_cap_s": 10.0}, "d.backoff_cap_s: must not be less than backoff_base_s"),
        ({"feed_silent_factor": 0.5}, "d.feed_silent_factor: must be 0 (off) or at least 1"),
    ],
)
def test_delivery_settings_problems(changes: dict[str, object], expected: str) -> None:
    assert DeliverySettings().problems("d") == []
    assert DeliverySettings(**changes).problems("d") == [expected]  # type: ignore[arg-type]


# -- filters --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kinds", "towns", "expected"),
    [
        ((), (), True),
        (("claimed", "reverted"), (), True),
        (("confirmed",), (), False),
        ((), ("kansaba",), True),  # a spelling, any case
        ((), ("Latakia",), True),  # a governorate
        ((), ("kinsabba",), True),  # the town id
        ((), ("Jisr al-Shughur", "Idlib"), False),
    ],
)
def test_channel_filters(kinds: tuple[str, ...], towns: tuple[str, ...], expected: bool) -> None:
    assert matches_channel(ALERT, email_channel(kinds=kinds, towns=towns)) is expected
    assert matches_channel(ALERT, webhook_channel(kinds=kinds, towns=towns)) is expected


def test_town_filter_lets_feed_health_through_but_kind_filter_decides() -> None:
    feed_alert = Alert("f1", "feed_health", None, "", "", "", "2026-11-22", "2026-11-22T06:00:00Z",
                       feed=FeedStatus("SANA", "https://sana.example/rss", "failing", "2026-11-21T00:00:00Z", "x"))
    assert matches_channel(feed_alert, email_channel(towns=("Kinsabba",)))
    assert not matches_channel(feed_alert, email_channel(kinds=("claimed",)))
    assert not matches_channel(replace(ALERT, town=None), email_channel(towns=("Kinsabba",)))


# -- reading an outbox row -------------------------------------------------------------------------


def test_alert_from_row_reads_columns_and_payload() -> None:
    payload = {
        "town": {"name": "Kinsabba", "spellings": ["Kansaba"], "lat": 35.7, "lon": 36.1, "governorate": "Latakia"},
        "detected_at": "2026-11-22T06:00:00Z",
        "sources": [{"outlet": "Wire A", "url": "https://example.org/a", "title": "T", "date": "2016-07-01",
                     "quote": "q"}],
    }
    row = {"id": "x1", "kind": "confirmed", "town_id": "kinsabba", "from_side": "rebels", "to_side": "government",
           "event_date": "2016-07-16", "confidence": "confirmed", "created_at": "2026-11-22T06:01:00Z",
           "payload": json.dumps(payload)}
    alert = alert_from_row(row)
    assert (alert.id, alert.kind, alert.to_side, alert.event_date) == ("x1", "confirmed", "government", "2016-07-16")
    assert alert.town == Town("kinsabba", "Kinsabba", ("Kansaba",), 35.7, 36.1, "Latakia")
    assert alert.sources[0].quote == "q" and alert.detected_at == "2026-11-22T06:00:00Z"


def test_alert_from_row_reads_the_control_payload_shape() -> None:
    # monitor.control_alerts.alert_payload names the date `published_at` and numbers independent sources
    payload = {"independent_sources": 1, "sources": [
        {"outlet": "Wire A", "url": "https://example.org/a", "title": "T", "published_at": "2016-07-01",
         "quote": "q", "status": "disputed", "independent_source": 1, "place": "Kansaba"}]}
    alert = alert_from_row({"id": "x", "kind": "contested", "payload": json.dumps(payload)})
    assert alert.sources == (Source("Wire A", "https://example.org/a", "T", "2016-07-01", "q", "disputed", 1),)
    assert alert.independent_sources == 1
    text = render_email(alert, email_channel(), NOW).get_body(("plain",)).get_content()
    assert "1. Wire A: T (2016-07-01) [source 1, disputes it]" in text and "Independent sources: 1" in text


# -- rendering -------------------------------------------------------------------------------------


def test_email_has_subject_parts_sources_quotes_and_map_link() -> None:
    message = render_email(ALERT, email_channel(), NOW)
    assert message["Subject"] == "[monitor] Kinsabba: government -> rebels (claimed)"
    assert message["Message-ID"] == "<alert.a1b2c3@example.org>"
    assert message["To"] == "analyst@example.org, desk@example.org"
    body = parts(message)
    link = "https://www.openstreetmap.org/?mlat=35.73470&mlon=36.12640#map=13/35.73470/36.12640"
    for content in (body["text/plain"], body["text/html"]):
        assert "Wire A" in content and "Outlet B" in content and "Kansaba" in content
        assert "rebels seized Kansaba and the surrounding hills" in content
        assert link in content.replace("&amp;", "&")
    assert '<a href="https://example.org/a">Rebels seize Kansaba</a>' in body["text/html"]


def test_message_id_is_stable_and_safe_for_any_alert_id() -> None:
    assert message_id("a1b2c3", "m@example.org") == message_id("a1b2c3", "m@example.org")
    odd = message_id("town:kinsabba/rebels\r\n2016", "m@example.org")
    assert odd.startswith("<alert.") and odd.endswith("@example.org>") and "\n" not in odd and "/" not in odd


def test_cr_lf_in_titles_and_names_cannot_inject_headers() -> None:
    evil_town = replace(TOWN, name="Kinsabba\r\nBcc: spy@evil.example")
    evil = replace(ALERT, town=evil_town, sources=(replace(SOURCES[0], title="Seized\r\nX-Evil: 1\n\nbody"),))
    raw = render_email(evil, email_channel(), NOW).as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    header_block = raw.split(b"\n\n", 1)[0]
    assert not any(line.startswith((b"Bcc", b"X-Evil")) for line in header_block.splitlines())
    decoded = "\n".join(parts(parsed).values())
    assert not any(line.startswith(("Bcc", "X-Evil")) for line in decoded.splitlines())
    assert "1. Wire A: Seized X-Evil: 1 body (2016-07-01)" in parts(parsed)["text/plain"]
    # Python may fold a long subject right after "Subject:"; unfolding leaves that space in front
    assert parsed["Subject"].strip() == "[monitor] Kinsabba Bcc: spy@evil.example: government -> rebels (claimed)"
    assert header_safe("a\u2028b\x00c\td") == "a b c d"


def test_html_is_escaped_and_only_web_links_become_links() -> None:
    source = Source("<b>Outlet</b>", "javascript:alert(1)", "<script>x</script>", "2016-07-01", "a < b")
    html_part = parts(render_email(replace(ALERT, sources=(source,)), email_channel(), NOW))["text/html"]
    assert "<script>" not in html_part and "&lt;script&gt;" in html_part
    assert "javascript:" not in html_part and "a &lt; b" in html_part


def test_webhook_payload_has_the_documented_fields() -> None:
    payload = webhook_payload(ALERT)
    assert {"id", "kind", "town", "from_side", "to_side", "confidence", "event_date", "sources"} <= set(payload)
    assert payload["town"]["name"] == "Kinsabba" and payload["town"]["lat"] == 35.7347
    assert payload["town"]["map_url"] == map_url(35.7347, 36.1264)
    assert payload["sources"][0] == {"outlet": "Wire A", "url": "https://example.org/a",
                                     "title": "Rebels seize Kansaba", "date": "2016-07-01",
                                     "quote": "rebels seized Kansaba and the surrounding hills",
                                     "status": None, "independent_source": None}
    assert payload["summary"] == alert_summary(ALERT) == "Kinsabba: government -> rebels (claimed)"


def test_webhook_request_carries_idempotency_key_signature_and_custom_headers() -> None:
    channel = webhook_channel(headers={"Authorization": "Bearer t0k"})
    request = render_webhook(ALERT, channel, "s3cret")
    assert request.headers["Idempotency-Key"] == "a1b2c3"
    assert request.headers["Authorization"] == "Bearer t0k"
    expected = hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Monitor-Signature"] == f"sha256={expected}" == sign_body(request.body, "s3cret")
    assert "X-Monitor-Signature" not in render_webhook(ALERT, channel, None).headers
    assert json.loads(request.body)["id"] == "a1b2c3"


def test_slack_and_discord_shapes_never_ping_from_a_title() -> None:
    noisy = replace(ALERT, sources=(replace(SOURCES[0], title="<!channel> @everyone look"),))
    slack = json.loads(render_webhook(noisy, webhook_channel(format="slack"), None).body)
    assert slack["text"] == "Kinsabba: government -&gt; rebels (claimed)"
    block = slack["blocks"][0]["text"]["text"]
    assert "<!channel>" not in block and "&lt;!channel&gt;" in block
    assert "<https://example.org/a|&lt;!channel&gt; @everyone look>" in block
    discord = json.loads(render_webhook(noisy, webhook_channel(format="discord"), None).body)
    assert discord["allowed_mentions"] == {"parse": []}
    assert discord["embeds"][0]["url"] == map_url(35.7347, 36.1264)
    assert "[<!channel> @everyone look](https://example.org/a)" in discord["embeds"][0]["description"]


# -- secrets ---------------------------------------------------------------------------------------


def test_secrets_come_from_env_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_TEST_SECRET", "from-env")
    assert read_secret("MONITOR_TEST_SECRET", None, "c") == "from-env"
    (tmp_path / "smtp-password").write_text("from-file\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert read_secret(None, "$CREDENTIALS_DIRECTORY/smtp-password", "c") == "from-file"
    assert read_secret(None, None, "c") is None
    with pytest.raises(AlertError, match="secret not set channel=c env=MONITOR_UNSET"):
        read_secret("MONITOR_UNSET", None, "c")
    with pytest.raises(AlertError, match="secret file unreadable channel=c"):
        read_secret(None, str(tmp_path / "missing"), "c")


# -- sending to real local servers -----------------------------------------------------------------


def test_send_email_plain(smtp_server: SMTPTestServer) -> None:
    detail = send_email(email_channel(port=smtp_server.port), render_email(ALERT, email_channel(), NOW))
    mail = smtp_server.wait_for_messages(1)[0]
    assert mail.rcpt_tos == ("analyst@example.org", "desk@example.org") and "2 recipient" in detail
    assert email.message_from_bytes(mail.content)["Subject"] == "[monitor] Kinsabba: government -> rebels (claimed)"


def test_send_email_with_starttls_and_login(
    smtp_factory: Callable[..., SMTPTestServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp_factory(login=("alice", "s3cret"), starttls=True)
    monkeypatch.setenv("MONITOR_SMTP_PASSWORD", "s3cret")
    channel = email_channel(host="localhost", port=server.port, tls="starttls", username="alice",
                            password_env="MONITOR_SMTP_PASSWORD")
    send_email(channel, render_email(ALERT, channel, NOW))
    assert server.wait_for_messages(1)[0].login == "alice"


def test_send_email_with_implicit_tls(
    smtp_factory: Callable[..., SMTPTestServer], tmp_path: Path
) -> None:
    server = smtp_factory(login=("alice", "s3cret"), implicit_tls=True)
    (tmp_path / "password").write_text("s3cret\n")
    channel = email_channel(host="localhost", port=server.port, tls="implicit", username="alice",
                            password_file=str(tmp_path / "password"))
    send_email(channel, render_email(ALERT, channel, NOW))
    assert server.wait_for_messages(1)[0].login == "alice"


def test_wrong_password_names_the_channel_and_never_shows_the_password(
    smtp_factory: Callable[..., SMTPTestServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp_factory(login=("alice", "s3cret"), starttls=True)
    monkeypatch.setenv("MONITOR_SMTP_PASSWORD", "wrong-one")
    channel = email_channel(host="localhost", port=server.port, tls="starttls", username="alice",
                            password_env="MONITOR_SMTP_PASSWORD")
    with pytest.raises(AlertError) as caught:
        send_email(channel, render_email(ALERT, channel, NOW))
    text = caught.value.describe()
    assert "smtp login refused" in text and "channel=ops-mail" in text and "password_env" in text
    assert "wrong-one" not in text and server.messages == []


def test_starttls_against_a_server_without_it_is_a_clear_error(smtp_server: SMTPTestServer) -> None:
    channel = email_channel(port=smtp_server.port, tls="starttls")
    with pytest.raises(AlertError, match=r"lacks a feature.*STARTTLS.*channel=ops-mail"):
        send_email(channel, render_email(ALERT, channel, NOW))


@pytest.fixture
def silent_socket() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung SMTP server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        yield listener.getsockname()[1]


def test_smtp_timeout_is_an_alert_error(silent_socket: int) -> None:
    channel = email_channel(port=silent_socket, timeout_s=0.3)
    with pytest.raises(AlertError, match="smtp server timed out channel=ops-mail"):
        send_email(channel, render_email(ALERT, channel, NOW))


def test_webhook_errors_hide_the_url_path(http_server: LocalHTTPServer) -> None:
    http_server.route("/T000/secret-token", status=404, body="no_service")
    channel = webhook_channel(url=http_server.url("/T000/secret-token"))
    request = render_webhook(ALERT, channel, None)
    with httpx.Client() as client, pytest.raises(AlertError) as caught:
        send_webhook(channel, request.body, request.headers, client)
    text = caught.value.describe()
    assert "webhook answered 404" in text and "answer=no_service" in text and "secret-token" not in text
