"""Turn an article page into text and metadata with trafilatura; no fetching here."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import trafilatura
from lxml import etree

log = logging.getLogger(__name__)

# Pages shorter than this once extracted are treated as "no text" (paywalls, index pages).
MIN_TEXT_CHARS = 200


@dataclass(frozen=True, slots=True)
class Extracted:
    """What trafilatura found on a page."""

    title: str | None
    text: str
    author: str | None
    site_name: str | None
    language: str | None
    published: str | None  # YYYY-MM-DD as found on the page
    canonical_url: str | None


def extract_article(html: bytes | str, url: str | None = None) -> Extracted | None:
    """Extract the main text and metadata of a page; None when it holds no article text."""
    try:
        # trafilatura's own deduplicate keeps process-global state; repeated text is our dedup stage's job.
        doc = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, deduplicate=False, include_comments=False, include_tables=False
        )
    except (ValueError, TypeError, etree.LxmlError) as exc:
        log.warning("extract failed url=%s error=%s", url, exc)
        return None
    if doc is None or isinstance(doc, dict):  # a dict only comes back with as_dict=True
        return None
    text = (doc.text or "").strip()
    if len(text) < MIN_TEXT_CHARS:
        return None
    return Extracted(
        title=_clean(doc.title),
        text=text,
        author=_clean(doc.author),
        site_name=_clean(doc.sitename),
        language=doc.language,
        published=doc.date,
        canonical_url=doc.url if doc.url and doc.url.startswith(("http://", "https://")) else None,
    )


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    return re.sub(r"\s+", " ", value).strip() or None
