"""Feed and section-page parsing (pure, no I/O): feed bytes -> ParsedFeed of clean Entries, plus HTML link finding.

feedparser is only ever given bytes (wrapped in BytesIO, so a string can never be taken for a URL or a path)
with the response headers, so the declared charset is used; `Content-Location` carries the base URL for
relative links. A bozo feed that still yields entries is used; its reason is returned in `bozo_reason`.

Entry policy on hostile input:
- a link that is not http(s) (file://, gopher://, javascript:, ...) is dropped: the entry keeps no URL, its
  key falls back to the GUID or the hash, and the drop is recorded in `Entry.problems`. Links to private
  addresses (127.0.0.1, 169.254.169.254) are kept here, because whether they may be fetched is a setting
  (`http.allow_private`) that `fetch_url` enforces for every hop;
- a date before 1990 or more than a day in the future (year 0, year 9999) becomes None, recorded in problems;
- titles lose HTML tags, entities and control characters (CR/LF become spaces); summaries become plain text.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from monitor.urls import ALLOWED_SCHEMES, normalize_url

EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)  # before any news feed existed: a broken date
FUTURE_SLACK = timedelta(days=1)  # clocks and time zones differ; further ahead is a broken date
MAX_TITLE_CHARS = 500
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml"})
BLOCK_TAGS = frozenset(
    {"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
)
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed item, cleaned: `key` is its identity (see entry_key), texts are plain text."""

    key: str
    url: str | None
    guid: str | None
    title: str | None
    summary: str | None
    published_at: str | None  # ISO-8601 UTC, e.g. 2026-11-22T06:18:00Z
    author: str | None
    problems: tuple[str, ...] = ()  # what was dropped or repaired, for the record
    source: str | None = None  # the outlet an aggregator item names (RSS <source>), e.g. Google News


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed; `is_feed` is False for a page that is not a feed (an HTML page served as one)."""

    entries: tuple[Entry, ...]
    title: str | None
    link: str | None
    is_bozo: bool
    bozo_reason: str | None
    is_feed: bool
    version: str  # feedparser's format name: rss20, atom10, rss10, ... ("" when not a feed)
    encoding: str | None


class _TextCollector(HTMLParser):
    """Collects the text of an HTML fragment, a line break at block elements, nothing from script/style."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _defuse(markup: str) -> str:
    """Escape `<![` marked sections: html.parser raises AssertionError on malformed ones (`<![;`)."""
    return markup.replace("<![", "&lt;![")


def html_to_text(markup: str | None, *, single_line: bool = False) -> str | None:
    """Plain text of an HTML fragment: tags dropped, entities decoded, whitespace tidied; None when empty."""
    if not markup:
        return None
    collector = _TextCollector()
    if "<" in markup:
        collector.feed(_defuse(markup))
        collector.close()
        text = "".join(collector.parts)
    else:
        text = unescape(markup)
    text = CONTROL_CHARS.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    if single_line:
        text = " ".join(text.split())
    else:
        lines = (" ".join(line.split()) for line in text.split("\n"))
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text or None


def entry_key(url: str | None, guid: str | None, title: str | None, summary: str | None) -> str:
    """Identity of an entry: its normalised URL, else its GUID, else sha256 of title and summary."""
    if url:
        return normalize_url(url)
    if guid and guid.strip():
        return guid.strip()
    text = " ".join(f"{title or ''}\n{summary or ''}".split())
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _iso_date(parsed: Any, now: datetime) -> tuple[str | None, str | None]:
    """(ISO UTC date, problem) from a feedparser time tuple; absurd dates give (None, problem)."""
    if not parsed:
        return None, None
    try:
        year, month, day, hour, minute, second = parsed[:6]
        when = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None, f"unreadable date {tuple(parsed[:6])!r} dropped"
    if when < EARLIEST_DATE or when > now + FUTURE_SLACK:
        return None, f"implausible date {when.isoformat()} dropped"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ"), None


def _safe_link(link: object, base_url: str) -> tuple[str | None, str | None]:
    """(absolute http(s) URL, problem): other schemes are dropped and reported."""
    if not isinstance(link, str) or not link.strip():
        return None, None
    text = CONTROL_CHARS.sub("", link.strip())
    try:
        absolute = urljoin(base_url, text)
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError:
        return None, f"malformed link {text[:200]!r} dropped"
    if scheme not in ALLOWED_SCHEMES:
        return None, f"non-http link {text[:200]!r} dropped"
    return absolute, None


def _entry(raw: Any, base_url: str, now: datetime) -> Entry:
    problems: list[str] = []
    url, problem = _safe_link(raw.get("link"), base_url)
    problems += [problem] if problem else []
    guid = raw.get("id") if isinstance(raw.get("id"), str) and raw.get("id").strip() else None
    title = html_to_text(raw.get("title"), single_line=True)
    if title and len(title) > MAX_TITLE_CHARS:
        title = title[:MAX_TITLE_CHARS].rstrip() + "…"
        problems.append("title truncated")
    summary = html_to_text(raw.get("summary"))
    # dict.get: FeedParserDict.get maps updated_parsed to published_parsed with a DeprecationWarning
    published_at, problem = _iso_date(
        dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed"), now
    )
    written = dict.get(raw, "published") or dict.get(raw, "updated")
    if problem is None and published_at is None and isinstance(written, str) and written.strip():
        problem = f"unreadable date {written.strip()[:80]!r} dropped"  # feedparser could not read it (year 0)
    problems += [problem] if problem else []
    author = html_to_text(raw.get("author"), single_line=True)
    key = entry_key(url, guid, title, summary)
    source = html_to_text((raw.get("source") or {}).get("title"), single_line=True) or None
    return Entry(key, url, guid, title, summary, published_at, author, tuple(problems), source)


def _describe(error: object) -> str | None:
    if error is None:
        return None
    return f"{type(error).__name__}: {error}"[:300]


def parse_feed(
    body: bytes, headers: dict[str, str], base_url: str, *, now: datetime | None = None
) -> ParsedFeed:
    """Parse feed bytes (RSS, Atom, RDF) into clean entries; never raises on malformed input."""
    response_headers = {name.lower(): value for name, value in headers.items()}
    response_headers["content-location"] = base_url  # the base for relative links inside the feed
    response_headers.setdefault("content-type", "application/xml")  # local files come without headers
    parsed = feedparser.parse(io.BytesIO(body), response_headers=response_headers)
    moment = now or datetime.now(UTC)
    entries = tuple(_entry(raw, base_url, moment) for raw in parsed.entries)
    version = parsed.get("version") or ""
    feed = parsed.get("feed", {})
    link, _ = _safe_link(feed.get("link"), base_url)
    return ParsedFeed(
        entries=entries,
        title=html_to_text(feed.get("title"), single_line=True),
        link=link,
        is_bozo=bool(parsed.get("bozo")),
        bozo_reason=_describe(parsed.get("bozo_exception")) if parsed.get("bozo") else None,
        is_feed=bool(entries) or (bool(version) and not _looks_like_html(body)),
        version=version,
        encoding=parsed.get("encoding"),
    )


def _looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


# -- HTML pages: feed autodiscovery and section-page article links ------------------------------------


class _LinkCollector(HTMLParser):
    """Collects <base href>, <link> and <a href> elements in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.links: list[dict[str, str]] = []
        self.anchors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): (value or "") for name, value in attrs}
        if tag == "base" and values.get("href") and self.base is None:
            self.base = values["href"]
        elif tag == "link":
            self.links.append(values)
        elif tag == "a" and values.get("href"):
            self.anchors.append(values["href"])


def _collect(html: bytes | str, base_url: str) -> tuple[_LinkCollector, str]:
    text = html.decode("utf-8", errors="replace") if isinstance(html, bytes) else html
    collector = _LinkCollector()
    collector.feed(_defuse(text))
    collector.close()
    base = base_url
    if collector.base:
        resolved, _ = _safe_link(collector.base, base_url)
        base = resolved or base_url
    return collector, base


def discover_feed_links(html: bytes | str, base_url: str) -> list[str]:
    """Feed URLs announced by `<link rel="alternate" type="application/rss+xml|atom+xml">`, in page order."""
    collector, base = _collect(html, base_url)
    found: list[str] = []
    for attrs in collector.links:
        rels = attrs.get("rel", "").lower().split()
        kind = attrs.get("type", "").split(";")[0].strip().lower()
        if "alternate" in rels and kind in FEED_TYPES:
            url, _ = _safe_link(attrs.get("href"), base)
            if url and url not in found:
                found.append(url)
    return found


def _site(host: str | None) -> str:
    host = (host or "").lower().rstrip(".")
    return host.removeprefix("www.")


def find_article_links(html: bytes | str, base_url: str, link_pattern: str | None) -> list[str]:
    """Same-site links of a section page matching `link_pattern` (re.search), normalised, de-duplicated."""
    pattern = re.compile(link_pattern) if link_pattern else None
    collector, base = _collect(html, base_url)
    site = _site(urlsplit(base_url).hostname)
    page = normalize_url(base_url)
    found: dict[str, None] = {}
    for href in collector.anchors:
        url, _ = _safe_link(href, base)
        if url is None:
            continue
        try:
            host = urlsplit(url).hostname
        except ValueError:
            continue
        if _site(host) != site or (pattern is not None and not pattern.search(url)):
            continue
        normalized = normalize_url(url)
        if normalized != page:
            found.setdefault(normalized, None)
    return list(found)
