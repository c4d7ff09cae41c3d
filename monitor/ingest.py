"""Getting articles into the archive: the writer-side steps for one analysed article, and local files."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sqlite_utils

from monitor.analyze import Analysis, Front, analyze_article
from monitor.control import ControlSettings, TownInfo, towns_from_places
from monitor.dedup import DedupIndex
from monitor.errors import MonitorError
from monitor.extract import extract_article
from monitor.feeds import html_to_text
from monitor.models import Article, now_iso
from monitor.store.articles import save_article
from monitor.store.claims import save_claims
from monitor.store.control import sync_towns, update_towns
from monitor.store.dedup import load_index, record_article
from monitor.urls import normalize_url

log = logging.getLogger(__name__)

FILE_SUFFIXES = (".txt", ".html", ".htm", ".jsonl")


@dataclass(frozen=True, slots=True)
class Stored:
    """What saving one article did."""

    article_id: int
    is_relevant: bool
    duplicate_kind: str  # original | exact | url | near | altered
    claims: int
    alerts: tuple[str, ...]


@dataclass(slots=True)
class ArticleSaver:
    """The writer side of one article: store, fold copies, claims, town control, alerts (the single writer).

    Everything for one article is written in one transaction, so a crash leaves nothing half-written and
    the entry is fetched again. With `backfill`, control changes are recorded without queueing alerts.
    """

    db: sqlite_utils.Database
    front: Front
    control: ControlSettings
    backfill: bool = False
    index: DedupIndex = field(init=False)
    towns: dict[str, TownInfo] = field(init=False)
    sides: dict[str, str] = field(init=False)  # lexicon phrase -> side, for spotting altered copies

    def __post_init__(self) -> None:
        self.index = load_index(self.db)
        self.towns = towns_from_places(self.front.gazetteer.places)
        self.sides = dict(self.front.actors.phrases)
        with self.db.atomic():
            sync_towns(self.db, self.towns.values())

    def save(self, article: Article, analysis: Analysis | None) -> Stored:
        """Store the article with its decision, copies, claims and the towns they touch."""
        if analysis is None:
            analysis = analyze_article(article, self.front)
        page_text = article.text  # as fetched: the copy stage folds and records repeated blocks itself
        article = analysis.article
        if article.url and not article.canonical_url:
            article = replace(article, canonical_url=normalize_url(article.url))
        try:
            with self.db.atomic():
                return self._write(article, analysis, page_text)
        except BaseException:
            self.reload_index()
            raise

    def reload_index(self) -> None:
        """Rebuild the copy index from what was committed (after a rolled-back write left a signature in it)."""
        self.index = load_index(self.db)

    def _write(self, article: Article, analysis: Analysis, page_text: str) -> Stored:
        article_id = save_article(self.db, article, decision_columns(analysis))
        copies = record_article(self.db, self.index, article_id, page_text, article.canonical_url,
                                sides=self.sides)
        save_claims(self.db, article_id, list(analysis.claims))
        town_ids = {claim.town_id for claim in analysis.claims if claim.town_id}
        alerts = update_towns(self.db, town_ids, self.towns, self.control, now_iso(), backfill=self.backfill,
                              actors=self.front.actors) if town_ids else []
        log.info("article=%d kept=%s copy=%s claims=%d alerts=%d title=%r", article_id,
                 analysis.verdict.is_relevant, copies.kind, len(analysis.claims), len(alerts), article.title[:80])
        return Stored(article_id, analysis.verdict.is_relevant, copies.kind, len(analysis.claims), tuple(alerts))


def decision_columns(analysis: Analysis) -> dict[str, Any]:
    """The relevance decision as article columns."""
    verdict = analysis.verdict
    return {
        "relevance_score": round(verdict.score, 4),
        "is_relevant": int(verdict.is_relevant),
        "matched_places": list(verdict.places),
        "nearest_seed": verdict.nearest_seed,
        "seed_similarity": round(verdict.seed_similarity, 4),
        "decision_reason": verdict.reason,
        "classified_at": now_iso(),
    }


def read_files(paths: list[Path]) -> Iterator[Article]:
    """Articles from local .txt, .html and .jsonl files (folders are read recursively)."""
    for path in expand_paths(paths):
        dates = published_dates(path.parent)
        if path.suffix == ".jsonl":
            yield from read_jsonl(path)
        elif path.suffix in (".html", ".htm"):
            yield read_html(path, dates.get(path.name, {}))
        else:
            yield read_txt(path, dates.get(path.name, {}))


def expand_paths(paths: list[Path]) -> Iterator[Path]:
    """Files named, and the article files inside folders named, in name order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in FILE_SUFFIXES and p.is_file())
        elif path.suffix in FILE_SUFFIXES:
            yield path
        else:
            raise MonitorError("not an article file", path=str(path), hint="give .txt, .html or .jsonl files")


def published_dates(folder: Path) -> dict[str, dict[str, str]]:
    """Dates and outlets of the files in a folder, from its published.csv (as seeds/ has)."""
    index = folder / "published.csv"
    if not index.exists():
        return {}
    with index.open(encoding="utf-8", newline="") as handle:
        return {row["file"]: row for row in csv.DictReader(handle) if row.get("file")}


def file_key(path: Path, content: str) -> str:
    """An entry key for a local file: its name and a hash of its content, so re-ingesting is a no-op."""
    return f"file:{path.name}:{hashlib.sha256(content.encode('utf-8')).hexdigest()[:16]}"


def read_txt(path: Path, meta: dict[str, str]) -> Article:
    """A .txt file: first non-empty line is the title, the rest the text."""
    content = path.read_text(encoding="utf-8", errors="replace")
    lines = content.strip().splitlines()
    title = lines[0].strip() if lines else ""
    return Article(url=None, title=title, text="\n".join(lines[1:]).strip(), outlet=meta.get("outlet"),
                   published_at=meta.get("published") or None, entry_key=file_key(path, content),
                   text_source="file")


def read_html(path: Path, meta: dict[str, str]) -> Article:
    """An .html file through the same extraction as fetched pages."""
    raw = path.read_bytes()
    extracted = extract_article(raw)
    content = raw.decode("utf-8", errors="replace")
    if extracted is None:
        text = html_to_text(content) or ""
        return Article(url=None, title=text.split("\n", 1)[0][:300], text=text, outlet=meta.get("outlet"),
                       published_at=meta.get("published") or None, entry_key=file_key(path, content),
                       text_source="file", extract_note="no article text found; whole page text kept")
    return Article(url=extracted.canonical_url, title=extracted.title or "", text=extracted.text,
                   outlet=meta.get("outlet") or extracted.site_name, author=extracted.author,
                   site_name=extracted.site_name, language=extracted.language,
                   published_at=meta.get("published") or extracted.published,
                   page_published_at=extracted.published, entry_key=file_key(path, content), text_source="file")


def read_jsonl(path: Path) -> Iterator[Article]:
    """A .jsonl file: one object per line with id, url, title, text, published, outlet."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MonitorError(f"invalid JSON line: {exc.msg}", path=str(path), line=number,
                                   hint="each line must be one JSON object") from exc
            key = f"jsonl:{path.name}:{record.get('id', number)}"
            yield Article(url=record.get("url"), title=str(record.get("title") or ""),
                          text=str(record.get("text") or ""), outlet=record.get("outlet"),
                          published_at=record.get("published"), entry_key=key, text_source="file")
