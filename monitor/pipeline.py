"""One pass over the due feeds through every stage; the only per-feed `except Exception` lives here.

A pass has four phases so that all writes happen in the calling thread (one writer) while the network and
extraction run in a thread pool:
    1. poll feeds (pool)         fetch + parse each due feed
    2. save polls (writer)       fetch log, schedule, new entries as `pending`
    3. fetch articles (pool)     fetch each pending entry's page in threads, then extract + analyse it in
                                 worker processes (monitor.workers)
    4. save articles (writer)    fold copies, store, claims, control, alert outbox
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import sqlite_utils

from monitor.config import Config
from monitor.errors import StoreError
from monitor.feeds import Entry, ParsedFeed, discover_feed_links, entry_key, find_article_links, parse_feed
from monitor.fetch import HTML_ACCEPT, FetchResult, fetch_url
from monitor.ingest import ArticleSaver
from monitor.models import now_iso
from monitor.schedule import next_check_at
from monitor.store import feeds as feed_store
from monitor.store.feeds import EntryRow, FeedRow
from monitor.store.schema import writing
from monitor.workers import AnalysisPool, Download, EntryFetch, summary_article

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FeedPoll:
    """What polling one feed returned: its fetches (feed, and discovered feed if any) and its entries."""

    feed: FeedRow
    fetches: tuple[tuple[str, FetchResult], ...]
    parsed: ParsedFeed | None
    entries: tuple[Entry, ...] = ()
    discovered_url: str | None = None
    error: str | None = None


@dataclass(slots=True)
class FeedReport:
    """One feed's summary line for a pass."""

    name: str
    status: str = "ok"  # ok | not_modified | error | gone | pending (only earlier entries fetched)
    http_status: int | None = None
    entries: int = 0
    new_entries: int = 0
    articles: int = 0
    kept: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when the feed itself could not be polled."""
        return self.status in ("error", "gone")


def poll_feed(client: httpx.Client, feed: FeedRow, config: Config) -> FeedPoll:
    """Fetch and parse one feed or section page (network only, no database)."""
    result = fetch_url(client, feed.fetch_url, settings=config.http, etag=feed.etag,
                       last_modified=feed.last_modified)
    fetches: list[tuple[str, FetchResult]] = [(feed.kind, result)]
    if result.outcome != "ok":
        return FeedPoll(feed, tuple(fetches), None)
    if feed.kind == "page":
        links = find_article_links(result.body, result.final_url, feed.link_pattern or None)
        entries = tuple(page_link_entry(link) for link in links)
        return FeedPoll(feed, tuple(fetches), None, entries)
    parsed = parse_feed(result.body, dict(result.headers), result.final_url)
    discovered = None
    if not parsed.is_feed and not feed.feed_url:
        candidates = discover_feed_links(result.body, result.final_url)
        if candidates:
            discovered = candidates[0]
            result = fetch_url(client, discovered, settings=config.http)
            fetches.append(("feed", result))
            if result.outcome != "ok":
                return FeedPoll(feed, tuple(fetches), None, discovered_url=discovered)
            parsed = parse_feed(result.body, dict(result.headers), result.final_url)
    if not parsed.is_feed:
        return FeedPoll(feed, tuple(fetches), parsed, error="not a feed and no feed link found on the page")
    return FeedPoll(feed, tuple(fetches), parsed, parsed.entries, discovered)


def page_link_entry(url: str) -> Entry:
    """An entry for an article link found on a section page (no title or summary yet)."""
    return Entry(key=entry_key(url, None, None, None), url=url, guid=None, title=None, summary=None,
                 published_at=None, author=None)


def download_entry(client: httpx.Client, entry: EntryRow, config: Config) -> Download:
    """Fetch one entry's page (network only); entries without a link keep their feed summary."""
    if not entry.url:
        return Download(entry, None)
    return Download(entry, fetch_url(client, entry.url, settings=config.http, accept=HTML_ACCEPT))


def run_pass(
    db: sqlite_utils.Database,
    client: httpx.Client,
    config: Config,
    saver: ArticleSaver,
    analysis: AnalysisPool,
    *,
    names: list[str] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> list[FeedReport]:
    """Poll the due feeds (or those named) and store what they bring; returns one report per feed."""
    now = now_iso()
    due = feed_store.due_feeds(db, now, config.schedule.batch_size if names is None else 10**6, names)
    reports = {feed.id: FeedReport(feed.name) for feed in due}
    with ThreadPoolExecutor(max_workers=max(1, config.schedule.workers), thread_name_prefix="fetch") as pool:
        polls = pool.map(lambda f: guarded_poll(client, f, config), due)
        for poll in polls:
            save_poll(db, poll, config, reports[poll.feed.id])
        if should_stop():
            return list(reports.values())
        # The daemon also takes entries left pending by an earlier pass (a crash, a stop) of feeds not due now.
        feed_ids = None if names is None else list(reports)
        pending = feed_store.pending_entries(db, feed_ids, config.schedule.articles_per_feed)
        downloads = pool.map(lambda e: guarded_download(client, e, config), pending)
        for item in analysis.map(downloads):
            report = reports.setdefault(item.entry.feed_id, FeedReport(item.entry.feed_name, status="pending"))
            try:
                save_entry_fetch(db, item, config, saver, report)
            except StoreError:
                saver.reload_index()  # the enclosing transaction rolled back after the article was indexed
                raise
            if should_stop():  # leave the rest pending for the next start: do not wait for their downloads
                pool.shutdown(wait=True, cancel_futures=True)
                analysis.close()
                break
    for report in reports.values():
        log_report(report)
    return list(reports.values())


def guarded_poll(client: httpx.Client, feed: FeedRow, config: Config) -> FeedPoll:
    """poll_feed, turning any unexpected failure into a recorded feed error (the daemon goes on)."""
    try:
        return poll_feed(client, feed, config)
    except Exception as exc:  # the pipeline boundary: one broken feed never stops the pass
        log.exception("feed=%s url=%s unexpected error", feed.name, feed.fetch_url)
        return FeedPoll(feed, (), None, error=f"unexpected error: {exc!r}")


def guarded_download(client: httpx.Client, entry: EntryRow, config: Config) -> Download:
    """download_entry, turning an unexpected failure into a failed fetch (the daemon goes on)."""
    try:
        return download_entry(client, entry, config)
    except Exception as exc:  # the pipeline boundary: one broken article never stops the pass
        log.exception("entry=%s url=%s unexpected error", entry.key, entry.url)
        url = entry.url or ""
        return Download(entry, FetchResult("error", None, url, url, error_kind="network",
                                           error=f"unexpected error: {exc!r}"))


def save_poll(db: sqlite_utils.Database, poll: FeedPoll, config: Config, report: FeedReport) -> None:
    """Write a feed poll: fetch log rows, schedule and health columns, new entries."""
    feed, now = poll.feed, now_iso()
    with writing(db, f"the poll of feed {feed.name}"):
        for kind, result in poll.fetches:
            feed_store.record_fetch(db, fetch_row(feed.id, kind, result, now))
        if poll.parsed is not None and poll.parsed.is_bozo:  # used anyway: the reason stays on record
            feed_store.record_fetch(db, {"feed_id": feed.id, "url": feed.fetch_url, "kind": "parse", "started_at": now,
                                         "outcome": "ok", "error_kind": "bozo", "error": poll.parsed.bozo_reason})
        last = poll.fetches[-1][1] if poll.fetches else None
        changes = schedule_changes(feed, last, poll.error, config, now)
        if poll.discovered_url:
            changes["feed_url"] = poll.discovered_url
        if poll.parsed is not None and poll.parsed.is_bozo:
            report.errors.append(f"bozo feed: {poll.parsed.bozo_reason}")
        entries = [entry_row(entry) for entry in poll.entries]
        report.entries = len(entries)
        report.new_entries = feed_store.add_entries(db, feed.id, entries, now)
        if report.new_entries:
            changes["last_entry_at"] = now
        feed_store.update_feed(db, feed.id, changes)
    report.http_status = last.status if last else None
    report.status = "gone" if changes.get("is_gone") else poll_status(last, poll.error)
    if report.failed:
        report.errors.append(str(changes.get("last_error") or "failed"))


def poll_status(result: FetchResult | None, error: str | None) -> str:
    """ok, not_modified or error for a poll."""
    if error or result is None or result.outcome == "error":
        return "error"
    return result.outcome


def schedule_changes(feed: FeedRow, result: FetchResult | None, error: str | None, config: Config,
                     now: str) -> dict[str, object]:
    """The feed's health and next check after a poll (miniflux style: the database is the schedule)."""
    failed = error is not None or result is None or result.outcome == "error"
    error_count = feed.error_count + 1 if failed else 0
    settings = config.schedule
    when = next_check_at(
        datetime.fromisoformat(now.replace("Z", "+00:00")),
        interval_s=feed.interval_s or settings.default_interval_s,
        min_interval_s=settings.min_interval_s,
        max_interval_s=settings.max_interval_s,
        error_count=error_count,
        retry_after=result.retry_after if result else None,
        cache_control=result.cache_control if result else None,
        backoff_cap_s=settings.backoff_cap_s,
    )
    changes: dict[str, object] = {
        "last_checked_at": now, "error_count": error_count, "next_check_at": now_iso(when),
        "last_status": result.status if result else None,
    }
    if failed:
        changes["last_error"] = error or (result.error if result else None) or "failed"
        if result is not None and result.status == 410:
            changes["is_gone"] = 1
    else:
        changes |= {"last_error": None, "last_success_at": now}
        if result is not None and result.outcome == "ok":
            changes |= {"etag": result.etag, "last_modified": result.last_modified}
    return changes


def fetch_row(feed_id: int, kind: str, result: FetchResult, now: str) -> dict[str, object]:
    """A fetch-log row for one attempt."""
    return {
        "feed_id": feed_id, "url": result.url, "final_url": result.final_url, "kind": kind, "started_at": now,
        "status": result.status, "bytes": result.bytes, "elapsed_ms": result.elapsed_ms, "outcome": result.outcome,
        "error_kind": result.error_kind, "error": result.error,
    }


def entry_row(entry: Entry) -> dict[str, object]:
    """An entries-table row for a parsed entry."""
    return {"key": entry.key, "url": entry.url, "guid": entry.guid, "title": entry.title,
            "summary": entry.summary, "source": entry.source, "published_at": entry.published_at,
            "problems": json.dumps(list(entry.problems)) if entry.problems else None}


def save_entry_fetch(db: sqlite_utils.Database, item: EntryFetch, config: Config, saver: ArticleSaver,
                     report: FeedReport) -> None:
    """Store a fetched article, or count the failure and fall back to the feed summary at the last try."""
    entry = item.entry
    with writing(db, f"the article {entry.url or entry.key}"):
        if item.result is not None:
            feed_store.record_fetch(db, fetch_row(entry.feed_id, "article", item.result, now_iso()))
        if item.article is None:
            attempts = feed_store.fail_entry(db, entry.key, item.error or "failed")
            report.errors.append(f"article {entry.url}: {item.error}")
            if attempts < config.schedule.article_attempts:
                return
            note = f"page failed {attempts} times: {item.error}"
            item = EntryFetch(entry, item.result, summary_article(entry, note), None, item.error)
        assert item.article is not None
        stored = saver.save(item.article, item.analysis)
        feed_store.finish_entry(db, entry.key, stored.article_id)
    report.articles += 1
    report.kept += int(stored.is_relevant)


def log_report(report: FeedReport) -> None:
    """One summary line per feed per poll."""
    level = logging.WARNING if report.failed else logging.INFO
    log.log(level, "feed=%s status=%s http=%s entries=%d new=%d articles=%d kept=%d%s", report.name,
            report.status, report.http_status, report.entries, report.new_entries, report.articles,
            report.kept, f" error={report.errors[0]!r}" if report.errors else "")


def reports_failed(reports: Iterable[FeedReport]) -> bool:
    """True when any feed in a pass failed."""
    return any(report.failed for report in reports)
