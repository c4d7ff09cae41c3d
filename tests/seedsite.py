"""The five seed articles rendered as a small news site (HTML pages + an RSS feed) on the local server."""

from __future__ import annotations

import csv
import html
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from paths import SEEDS

NAV = "<nav><a href='/'>Home</a> | <a href='/syria'>Syria</a> | <a href='/about'>About us</a></nav>"
FOOTER = "<footer><p>Copyright 2016. All rights reserved. Subscribe to our newsletter.</p></footer>"


def seed_rows() -> list[dict[str, str]]:
    """Rows of seeds/published.csv (file, published, outlet)."""
    with (SEEDS / "published.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def seed_page(path: Path) -> tuple[str, str]:
    """(title, HTML page) for one seed text file: first line the title, other lines paragraphs."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    title = lines[0]
    paragraphs = "\n".join(f"<p>{html.escape(line)}</p>" for line in lines[1:])
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body>{NAV}<article><h1>{html.escape(title)}</h1>{paragraphs}</article>{FOOTER}</body></html>")
    return title, page


def seed_feed(base_url: str, rows: list[dict[str, str]]) -> str:
    """An aggregator RSS feed of the seed pages; each item names its outlet in <source>."""
    items = []
    for row in rows:
        title, _ = seed_page(SEEDS / row["file"])
        published = datetime.fromisoformat(row["published"]).replace(hour=12, tzinfo=UTC)
        items.append(
            f"<item><title>{html.escape(title)}</title><link>{base_url}/news/{row['file']}.html</link>"
            f"<guid>{row['file']}</guid><pubDate>{format_datetime(published)}</pubDate>"
            f"<source url='{base_url}/'>{html.escape(row['outlet'])}</source>"
            f"<description>{html.escape(title)}</description></item>"
        )
    return ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Coast news</title>"
            f"<link>{base_url}/</link><description>seeds</description>{''.join(items)}</channel></rss>")


def serve_seed_site(server, etag: str | None = '"seeds-v1"') -> str:  # type: ignore[no-untyped-def]
    """Route the seed pages and their feed on `server`; returns the feed URL."""
    rows = seed_rows()
    for row in rows:
        _, page = seed_page(SEEDS / row["file"])
        server.route(f"/news/{row['file']}.html", page, headers={"Content-Type": "text/html; charset=utf-8"})
    base = server.url("").rstrip("/")
    server.route("/feed.xml", seed_feed(base, rows), headers={"Content-Type": "application/rss+xml"}, etag=etag)
    return server.url("/feed.xml")
