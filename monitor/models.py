"""The article record that flows from fetching or ingesting into analysis and the archive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Article:
    """One article as fetched or ingested, before analysis."""

    url: str | None
    title: str
    text: str
    outlet: str | None = None
    canonical_url: str | None = None
    entry_key: str | None = None
    feed_id: int | None = None
    summary: str | None = None
    author: str | None = None
    site_name: str | None = None
    language: str | None = None
    published_at: str | None = None  # feed date first, page date second
    feed_published_at: str | None = None
    page_published_at: str | None = None
    fetched_at: str | None = None
    text_source: str = "page"  # page | summary | file
    extract_note: str | None = None
    is_text_repeated: bool = False  # the page held its own text more than once; stored once


def now_iso(now: datetime | None = None) -> str:
    """An ISO-8601 UTC timestamp with seconds, the form of every *_at column."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
