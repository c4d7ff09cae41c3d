"""Alert channels and their settings, and rendering an alert into an email or a webhook body (pure).

No I/O here: sending and retrying live in delivery.py; deciding whether to alert lives in control.py.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import ipaddress
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

ALERT_KINDS = ("claimed", "confirmed", "contested", "reverted", "feed_health")
TLS_MODES = ("none", "starttls", "implicit")
WEBHOOK_FORMATS = ("json", "slack", "discord")
PAYLOAD_VERSION = 1
# Headers the monitor sets itself; a custom header must not replace them.
RESERVED_HEADERS = {"content-type", "content-length", "host", "idempotency-key", "x-monitor-signature"}
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_UNSAFE_IN_HEADER = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _filter_problems(kinds: tuple[str, ...], timeout_s: float, path: str) -> list[str]:
    problems = [f"{path}.kinds: unknown kind {k!r} (one of {', '.join(ALERT_KINDS)})" for k in kinds
                if k not in ALERT_KINDS]
    if timeout_s <= 0:
        problems.append(f"{path}.timeout_s: must be more than 0")
    return problems


def _secret_problems(env: str | None, file: str | None, path: str, names: tuple[str, str]) -> list[str]:
    if env and file:
        return [f"{path}: set {names[0]} or {names[1]}, not both"]
    return []


def _secret_origin(env: str | None, file: str | None) -> str:
    return f"${env}" if env else f"file {file}"


def _filters(channel: EmailChannel | WebhookChannel) -> str:
    kinds = f", kinds {'/'.join(channel.kinds)}" if channel.kinds else ""
    return kinds + (f", towns {'/'.join(channel.towns)}" if channel.towns else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailChannel:
    """An SMTP destination; the password comes from an environment variable or a file, never the config."""

    name: str
    host: str
    from_addr: str  # key `from` in config.toml
    to: tuple[str, ...]
    port: int = 587
    tls: str = "starttls"  # none | starttls | implicit (SMTPS, usually port 465)
    username: str | None = None
    password_env: str | None = None  # name of the environment variable holding the password
    password_file: str | None = None  # e.g. $CREDENTIALS_DIRECTORY/smtp-password (systemd LoadCredential)
    kinds: tuple[str, ...] = ()  # only these alert kinds; empty means every kind
    towns: tuple[str, ...] = ()  # only these towns (id, name, spelling) or governorates; empty means all
    timeout_s: float = 30.0

    def problems(self, path: str) -> list[str]:
        """Cross-field checks, each prefixed with its key path."""
        problems = _filter_problems(self.kinds, self.timeout_s, path)
        problems += _secret_problems(self.password_env, self.password_file, path, ("password_env", "password_file"))
        if not self.name.strip():
            problems.append(f"{path}.name: must not be empty")
        if not self.host.strip() or _UNSAFE_IN_HEADER.search(self.host):
            problems.append(f"{path}.host: must be a host name")
        if not 0 < self.port < 65536:
            problems.append(f"{path}.port: must be between 1 and 65535")
        if self.tls not in TLS_MODES:
            problems.append(f"{path}.tls: must be one of {', '.join(TLS_MODES)}, got {self.tls!r}")
        has_password = bool(self.password_env or self.password_file)
        if has_password and not self.username:
            problems.append(f"{path}.username: required when a password is set")
        if self.username and not has_password:
            problems.append(f"{path}.password_env: set password_env or password_file for the login")
        if self.username and self.tls == "none" and not _is_loopback(self.host):
            problems.append(f"{path}.tls: a login over tls = \"none\" would send the password in clear")
        for key, address in [("from", self.from_addr), *((f"to[{i}]", a) for i, a in enumerate(self.to))]:
            if "@" not in address or _UNSAFE_IN_HEADER.search(address):
                problems.append(f"{path}.{key}: not an email address: {address!r}")
        if not self.to:
            problems.append(f"{path}.to: at least one address")
        return problems

    def describe(self) -> str:
        """One line for check-config: where mail goes and how it logs in; never the password itself."""
        login = f"login {self.username} with password from {_secret_origin(self.password_env, self.password_file)}"
        return (f"{self.name}: email via {self.host}:{self.port} tls={self.tls}, "
                f"{login if self.username else 'no login'}, to {', '.join(self.to)}{_filters(self)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookChannel:
    """An HTTP(S) endpoint receiving a JSON POST; the HMAC secret comes from the environment or a file."""

    name: str
    url: str
    secret_env: str | None = None
    secret_file: str | None = None
    format: str = "json"  # json | slack | discord
    headers: dict[str, str] = field(default_factory=dict)  # extra request headers, e.g. Authorization
    kinds: tuple[str, ...] = ()
    towns: tuple[str, ...] = ()
    timeout_s: float = 10.0

    def problems(self, path: str) -> list[str]:
        """Cross-field checks, each prefixed with its key path."""
        problems = _filter_problems(self.kinds, self.timeout_s, path)
        problems += _secret_problems(self.secret_env, self.secret_file, path, ("secret_env", "secret_file"))
        if not self.name.strip():
            problems.append(f"{path}.name: must not be empty")
        parts = urlsplit(self.url)
        try:
            parts.port  # noqa: B018 - raises on a port out of range
        except ValueError:
            parts = urlsplit("")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"{path}.url: must be an http(s) URL")
        if self.format not in WEBHOOK_FORMATS:
            problems.append(f"{path}.format: must be one of {', '.join(WEBHOOK_FORMATS)}, got {self.format!r}")
        for name, value in self.headers.items():
            if not _HEADER_NAME.match(name) or name.lower() in RESERVED_HEADERS:
                problems.append(f"{path}.headers: {name!r} is not a header name the monitor lets you set")
            if _UNSAFE_IN_HEADER.search(value):
                problems.append(f"{path}.headers.{name}: must not contain line breaks or control characters")
        return problems

    def describe(self) -> str:
        """One line for check-config: host only (the URL path may be a token), header names, secret origin."""
        parts = urlsplit(self.url)
        signed = self.secret_env or self.secret_file
        return (f"{self.name}: webhook ({self.format}) to {parts.scheme}://{parts.netloc}/…, "
                f"{'signed, secret from ' + _secret_origin(self.secret_env, self.secret_file) if signed else 'unsigned'}"
                f"{', headers ' + ', '.join(self.headers) if self.headers else ''}{_filters(self)}")


Channel = EmailChannel | WebhookChannel


def channel_name_problems(channels: list[Channel]) -> list[str]:
    """Channel names must be unique across email and webhook: deliveries are recorded per name."""
    names = [channel.name for channel in channels]
    return [f"alerts: channel name {name!r} is used twice" for name in sorted(set(names)) if names.count(name) > 1]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverySettings:
    """Retries of the outbox and the thresholds of feed-health alerts."""

    max_attempts: int = 8  # then the delivery is marked failed (`monitor alerts retry` requeues)
    backoff_base_s: float = 60.0  # first retry after about this long, doubling each attempt
    backoff_cap_s: float = 6 * 3600.0  # longest wait between two attempts
    feed_failing_after_s: float = 6 * 3600.0  # a feed failing this long alerts; 0 disables
    feed_silent_factor: float = 5.0  # silent this many times its usual gap between entries alerts; 0 disables
    feed_silent_min_s: float = 24 * 3600.0  # never call a feed silent sooner than this

    def problems(self, path: str) -> list[str]:
        """Cross-field checks, each prefixed with its key path."""
        problems = []
        if self.max_attempts < 1:
            problems.append(f"{path}.max_attempts: must be at least 1")
        if self.backoff_base_s <= 0:
            problems.append(f"{path}.backoff_base_s: must be more than 0")
        if self.backoff_cap_s < self.backoff_base_s:
            problems.append(f"{path}.backoff_cap_s: must not be less than backoff_base_s")
        if 0 < self.feed_silent_factor < 1:
            problems.append(f"{path}.feed_silent_factor: must be 0 (off) or at least 1")
        return problems


# -- the alert as read from the outbox ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Source:
    """One report behind an alert."""

    outlet: str
    url: str
    title: str
    date: str  # publication date of the report
    quote: str
    status: str = ""  # new | background | disputed (the report disputes the change)
    independent_source: int | None = None  # copies and shared wire text share a number


@dataclass(frozen=True, slots=True)
class Town:
    """The place an alert is about."""

    id: str
    name: str
    spellings: tuple[str, ...]
    lat: float | None
    lon: float | None
    governorate: str


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """The feed a feed-health alert is about; state is failing, silent or recovered."""

    name: str
    url: str
    state: str
    since: str
    detail: str


@dataclass(frozen=True, slots=True)
class Alert:
    """One outbox row, parsed: what every renderer works from."""

    id: str
    kind: str
    town: Town | None
    from_side: str
    to_side: str
    confidence: str
    event_date: str
    detected_at: str
    sources: tuple[Source, ...] = ()
    feed: FeedStatus | None = None
    is_test: bool = False
    independent_sources: int | None = None


# -- rendering (pure) -----------------------------------------------------------------------------


def one_line(text: str) -> str:
    """The text on one line: line breaks and control characters become single spaces."""
    return " ".join(_UNSAFE_IN_HEADER.sub(" ", text).split())


def header_safe(text: str, limit: int = 200) -> str:
    """Make text safe for a mail header: no CR/LF or control characters (no header injection), bounded."""
    flat = one_line(text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def map_url(lat: float | None, lon: float | None) -> str:
    """An OpenStreetMap link centred on the coordinates, or '' without them."""
    if lat is None or lon is None:
        return ""
    return f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=13/{lat:.5f}/{lon:.5f}"


def alert_summary(alert: Alert) -> str:
    """One line: `Kinsabba: government -> rebels (claimed)`, or the feed and its state for feed health."""
    if alert.feed is not None:
        return one_line(f"feed {alert.feed.name}: {alert.feed.state} (feed health)")
    place = alert.town.name if alert.town else "unknown place"
    change = f"{alert.from_side or 'unknown'} -> {alert.to_side or 'unknown'}"
    return one_line(f"{'TEST ' if alert.is_test else ''}{place}: {change} ({alert.kind})")


def _web_url(url: str) -> str:
    """The URL if it is http(s), else '' (a source URL must never become a javascript: link)."""
    return url if urlsplit(url).scheme in ("http", "https") else ""


def _facts(alert: Alert) -> list[tuple[str, str]]:
    if alert.feed is not None:
        feed = alert.feed
        return [("Feed", feed.name), ("URL", feed.url), ("State", feed.state), ("Since", feed.since),
                ("Detail", feed.detail), ("Alert id", alert.id)]
    town = alert.town
    facts = [
        ("Place", f"{town.name} ({town.governorate})" if town and town.governorate else (town.name if town else "")),
        ("Also spelled", ", ".join(s for s in (town.spellings if town else ()) if s != (town and town.name))),
        ("Change", f"{alert.from_side or 'unknown'} -> {alert.to_side or 'unknown'}"),
        ("Kind", alert.kind), ("Confidence", alert.confidence),
        ("Independent sources", "" if alert.independent_sources is None else str(alert.independent_sources)),
        ("Event date", alert.event_date),
        ("Detected at", alert.detected_at), ("Map", map_url(town.lat, town.lon) if town else ""),
        ("Alert id", alert.id),
    ]
    return [(label, one_line(value)) for label, value in facts if value]


def _marks(source: Source) -> str:
    """Notes after a source: which independent source it is, and whether it disputes the change."""
    marks = [f"source {source.independent_source}"] if source.independent_source is not None else []
    marks += ["disputes it"] if source.status == "disputed" else []
    return f" [{', '.join(marks)}]" if marks else ""


def render_text(alert: Alert) -> str:
    """The plain-text body: facts, then each source with its quote."""
    lines = [alert_summary(alert), ""] + [f"{label}: {value}" for label, value in _facts(alert)]
    if alert.sources:
        lines += ["", f"Sources ({len(alert.sources)}):"]
    for number, source in enumerate(alert.sources, 1):
        head = f"{number}. {source.outlet or 'unknown outlet'}: {source.title} ({source.date}){_marks(source)}"
        quote = f"\"{source.quote}\"" if source.quote else ""
        lines += [one_line(head)] + [f"   {one_line(line)}" for line in (source.url, quote) if line]
    return "\n".join(lines) + "\n"


def render_html(alert: Alert) -> str:
    """The HTML body: the same facts, sources as links, quotes as blockquotes; everything escaped."""
    esc = html.escape
    rows = []
    for label, value in _facts(alert):
        link = _web_url(value) if label in ("Map", "URL") else ""
        cell = f'<a href="{esc(link)}">{esc(value)}</a>' if link else esc(value)
        rows.append(f"<tr><th align=\"left\">{esc(label)}</th><td>{cell}</td></tr>")
    items = []
    for source in alert.sources:
        title = esc(one_line(source.title or source.url or "untitled"))
        url = _web_url(source.url)
        head = f'<a href="{esc(url)}">{title}</a>' if url else title
        quote = f"<blockquote>{esc(one_line(source.quote))}</blockquote>" if source.quote else ""
        items.append(f"<li>{esc(source.outlet or 'unknown outlet')}: {head} ({esc(source.date)})"
                     f"{esc(_marks(source))}{quote}</li>")
    sources = f"<h3>Sources ({len(items)})</h3><ol>{''.join(items)}</ol>" if items else ""
    return (
        f"<!DOCTYPE html><html><body><h2>{esc(alert_summary(alert))}</h2>"
        f"<table>{''.join(rows)}</table>{sources}</body></html>\n"
    )


def message_id(alert_id: str, from_addr: str) -> str:
    """A Message-ID derived from the alert id alone, so a resent alert carries the same one."""
    local = alert_id if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", alert_id) else hashlib.sha256(
        alert_id.encode("utf-8")).hexdigest()[:32]
    domain = from_addr.rpartition("@")[2].strip(" >")
    domain = domain if re.fullmatch(r"[A-Za-z0-9.-]{1,253}", domain) else "monitor.invalid"
    return f"<alert.{local}@{domain}>"


def render_email(alert: Alert, channel: EmailChannel, now: datetime) -> EmailMessage:
    """The email for one alert on one channel: plain text and HTML parts, injection-safe headers."""
    message = EmailMessage()
    message["Subject"] = header_safe(f"[monitor] {alert_summary(alert)}")
    message["From"] = header_safe(channel.from_addr)
    message["To"] = ", ".join(header_safe(address) for address in channel.to)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(alert.id, channel.from_addr)
    message["Auto-Submitted"] = "auto-generated"  # tells vacation responders not to answer
    message["X-Monitor-Alert-Id"] = header_safe(alert.id)
    message["X-Monitor-Kind"] = header_safe(alert.kind)
    message.set_content(render_text(alert))
    message.add_alternative(render_html(alert), subtype="html")
    return message


def webhook_payload(alert: Alert) -> dict[str, Any]:
    """The documented JSON payload (docs/alerts.md): the alert's fields, town and sources."""
    town = alert.town
    return {
        "version": PAYLOAD_VERSION,
        "id": alert.id,
        "kind": alert.kind,
        "summary": alert_summary(alert),
        "town": None if town is None else {
            "id": town.id, "name": town.name, "spellings": list(town.spellings), "lat": town.lat,
            "lon": town.lon, "governorate": town.governorate, "map_url": map_url(town.lat, town.lon),
        },
        "from_side": alert.from_side or None,
        "to_side": alert.to_side or None,
        "confidence": alert.confidence or None,
        "event_date": alert.event_date or None,
        "detected_at": alert.detected_at or None,
        "independent_sources": alert.independent_sources,
        "sources": [
            {"outlet": s.outlet, "url": s.url, "title": s.title, "date": s.date, "quote": s.quote,
             "status": s.status or None, "independent_source": s.independent_source}
            for s in alert.sources
        ],
        "feed": None if alert.feed is None else {
            "name": alert.feed.name, "url": alert.feed.url, "state": alert.feed.state,
            "since": alert.feed.since, "detail": alert.feed.detail,
        },
        "is_test": alert.is_test,
    }


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chat_lines(alert: Alert, link: str) -> list[str]:
    """Fact and source lines shared by the Slack and Discord shapes; `link(url, label)` formats a link."""
    lines = [f"{label}: {value}" for label, value in _facts(alert) if label not in ("Map", "Alert id")]
    for source in alert.sources[:10]:
        url = _web_url(source.url)
        title = one_line(source.title or source.url or "untitled")
        lines.append(f"• {one_line(source.outlet)}: " + (link.format(url=url, label=title) if url else title))
    return lines


def slack_payload(alert: Alert) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook body (text plus one mrkdwn section)."""
    def esc(text: str) -> str:  # Slack's only escapes; they also stop <!channel> pings from titles
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "¦")

    town = alert.town
    lines = [esc(line) for line in _chat_lines(alert, "\x00{url}\x01{label}\x02")]
    lines = [re.sub("\x00(.*?)\x01(.*?)\x02", r"<\1|\2>", line) for line in lines]
    where = map_url(town.lat, town.lon) if town else ""
    lines += [f"<{where}|map>"] if where else []
    body = f"*{esc(alert_summary(alert))}*\n" + "\n".join(lines)
    return {
        "text": _clip(esc(alert_summary(alert)), 3000),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": _clip(body, 3000)}}],
        "unfurl_links": False,
    }


def discord_payload(alert: Alert) -> dict[str, Any]:
    """A Discord-compatible webhook body (content plus one embed); mentions in titles never ping."""
    town = alert.town
    embed: dict[str, Any] = {
        "title": _clip(alert_summary(alert), 256),
        "description": _clip("\n".join(_chat_lines(alert, "[{label}]({url})")), 4096),
        "footer": {"text": _clip(f"alert {alert.id}", 2048)},
    }
    where = map_url(town.lat, town.lon) if town else ""
    if where:
        embed["url"] = where
    return {"content": _clip(alert_summary(alert), 2000), "embeds": [embed], "allowed_mentions": {"parse": []}}


def sign_body(body: bytes, secret: str) -> str:
    """The signature header value: `sha256=` and the hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """The exact bytes and headers of one webhook POST."""

    body: bytes
    headers: dict[str, str]


def render_webhook(alert: Alert, channel: WebhookChannel, secret: str | None) -> WebhookRequest:
    """The body in the channel's format, with Idempotency-Key and, given a secret, the signature header."""
    shapes = {"slack": slack_payload, "discord": discord_payload}
    payload = shapes.get(channel.format, webhook_payload)(alert)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = dict(channel.headers)
    headers["Content-Type"] = "application/json; charset=utf-8"
    headers["Idempotency-Key"] = header_safe(alert.id, limit=1000)
    if secret:
        headers["X-Monitor-Signature"] = sign_body(body, secret)
    return WebhookRequest(body, headers)
