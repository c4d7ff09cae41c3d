"""Alerts as data (pure): an outbox row parsed, the channel filters, and the rendered email message and
JSON, Slack and Discord webhook bodies.

No I/O here: channel settings live in channels.py, sending and retrying in delivery.py, and deciding whether
to alert in control.py.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

# The settings are re-exported (`X as X`): config.py imports them from monitor.alerts.
from monitor.channels import ALERT_KINDS as ALERT_KINDS
from monitor.channels import UNSAFE_IN_HEADER, EmailChannel, WebhookChannel
from monitor.channels import Channel as Channel
from monitor.channels import DeliverySettings as DeliverySettings
from monitor.channels import channel_name_problems as channel_name_problems

PAYLOAD_VERSION = 1

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


# -- reading an outbox row and filtering (pure) -------------------------------------------------


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _number(value: object) -> float | None:
    try:
        return None if value is None or value == "" else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _source(raw: dict[str, Any]) -> Source:
    return Source(
        outlet=_text(raw.get("outlet")), url=_text(raw.get("url")), title=_text(raw.get("title")),
        date=_text(raw.get("date") or raw.get("published_at")), quote=_text(raw.get("quote")),
        status=_text(raw.get("status")), independent_source=_count(raw.get("independent_source")),
    )


def alert_from_row(row: dict[str, Any]) -> Alert:
    """Build an Alert from an `alerts` row; columns win over the JSON payload, missing keys become ''."""
    raw = row.get("payload") or "{}"
    loaded = json.loads(raw) if isinstance(raw, str) else raw
    payload: dict[str, Any] = loaded if isinstance(loaded, dict) else {}
    town_raw = payload.get("town") or None
    town = None
    if isinstance(town_raw, dict) or row.get("town_id"):
        town_raw = town_raw if isinstance(town_raw, dict) else {}
        spellings = town_raw.get("spellings") or ()
        town = Town(
            id=_text(row.get("town_id") or town_raw.get("id")),
            name=_text(town_raw.get("name") or row.get("town_id")),
            spellings=tuple(str(s) for s in ([spellings] if isinstance(spellings, str) else spellings)),
            lat=_number(town_raw.get("lat")),
            lon=_number(town_raw.get("lon")),
            governorate=_text(town_raw.get("governorate")),
        )
    feed_raw = payload.get("feed")
    feed = None
    if isinstance(feed_raw, dict):
        feed = FeedStatus(*(_text(feed_raw.get(k)) for k in ("name", "url", "state", "since", "detail")))
    sources = tuple(_source(s) for s in payload.get("sources") or () if isinstance(s, dict))

    def pick(key: str) -> str:
        return _text(row.get(key) or payload.get(key))

    return Alert(
        id=_text(row.get("id") or payload.get("id")),
        kind=pick("kind"),
        town=town,
        from_side=pick("from_side"),
        to_side=pick("to_side"),
        confidence=pick("confidence"),
        event_date=pick("event_date"),
        detected_at=_text(payload.get("detected_at") or row.get("created_at")),
        sources=sources,
        feed=feed,
        is_test=bool(payload.get("is_test")),
        independent_sources=_count(payload.get("independent_sources")),
    )


def matches_channel(alert: Alert, channel: Channel) -> bool:
    """True when the channel's kind and town filters let this alert through (towns ignore feed health)."""
    if channel.kinds and alert.kind not in channel.kinds:
        return False
    if not channel.towns:
        return True
    if alert.town is None:
        return alert.kind == "feed_health"  # a feed is in no town: its kind filter alone decides
    wanted = {t.casefold() for t in channel.towns}
    town = alert.town
    names = {town.id, town.name, town.governorate, *town.spellings}
    return any(n.casefold() in wanted for n in names if n)


# -- rendering (pure) -----------------------------------------------------------------------------


def one_line(text: str) -> str:
    """The text on one line: line breaks and control characters become single spaces."""
    return " ".join(UNSAFE_IN_HEADER.sub(" ", text).split())


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
