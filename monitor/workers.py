"""Extraction and analysis of downloaded pages, in worker processes (both cores) or inline; no I/O here.

Pages are fetched in threads (network-bound); turning them into analysed articles is CPU-bound, so it runs
in a process pool whose workers load the front once. A worker that dies is replaced and the pages it held
are reported as failed (their entries stay pending and are tried again).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from monitor.analyze import Analysis, Front, analyze_article
from monitor.extract import extract_article
from monitor.feeds import html_to_text
from monitor.fetch import FetchResult
from monitor.models import Article, now_iso
from monitor.store.feeds import EntryRow

log = logging.getLogger(__name__)

WINDOW_PER_PROCESS = 4  # pages queued ahead per worker process
ORPHAN_CHECK_S = 0.5  # how often a worker checks that the daemon that started it is alive

# The front a worker process loaded in its initializer (one per process, never shared between threads).
_worker_front: Front | None = None


@dataclass(frozen=True, slots=True)
class Download:
    """One entry and what fetching its page returned (None when it has no link)."""

    entry: EntryRow
    result: FetchResult | None


@dataclass(frozen=True, slots=True)
class EntryFetch:
    """An entry's article, extracted and analysed, or the error that stopped it."""

    entry: EntryRow
    result: FetchResult | None
    article: Article | None
    analysis: Analysis | None
    error: str | None


def process_download(download: Download, front: Front) -> EntryFetch:
    """Extract and analyse a downloaded page; the feed summary stands in when the page has no text."""
    entry, result = download.entry, download.result
    if result is None:
        article = summary_article(entry, "the entry has no link")
    elif result.outcome != "ok":
        return EntryFetch(entry, result, None, None, result.error or result.error_kind or "fetch failed")
    else:
        article = page_article(entry, result)
    analysis = analyze_article(article, front) if (article.text or article.title) else None
    return EntryFetch(entry, _without_body(result), article, analysis, None)


def page_article(entry: EntryRow, result: FetchResult) -> Article:
    """The article trafilatura finds on a fetched page, or the feed summary when it finds none."""
    extracted = extract_article(result.body, result.final_url)
    if extracted is None:
        return summary_article(entry, "the page gave no article text")
    return Article(
        url=entry.url, entry_key=entry.key, feed_id=entry.feed_id, outlet=entry.outlet or extracted.site_name,
        title=entry.title or extracted.title or "", text=extracted.text, summary=entry.summary,
        author=extracted.author, site_name=extracted.site_name, language=extracted.language,
        published_at=entry.published_at or extracted.published, feed_published_at=entry.published_at,
        page_published_at=extracted.published, fetched_at=now_iso(), text_source="page",
    )


def summary_article(entry: EntryRow, note: str) -> Article:
    """The article kept from the feed entry alone when its page cannot be fetched or extracted."""
    return Article(
        url=entry.url, entry_key=entry.key, feed_id=entry.feed_id, outlet=entry.outlet,
        title=entry.title or "", text=html_to_text(entry.summary) or "", summary=entry.summary,
        published_at=entry.published_at, feed_published_at=entry.published_at, fetched_at=now_iso(),
        text_source="summary", extract_note=note,
    )


def _without_body(result: FetchResult | None) -> FetchResult | None:
    # The page body is not needed after extraction: do not send megabytes back across the process pipe.
    if result is None or not result.body:
        return result
    from dataclasses import replace

    return replace(result, body=b"")


def guarded_process(download: Download, front: Front) -> EntryFetch:
    """process_download, turning an unexpected failure into a recorded entry error."""
    try:
        return process_download(download, front)
    except Exception as exc:  # one broken page never stops the pass
        log.exception("entry=%s url=%s unexpected error while extracting", download.entry.key, download.entry.url)
        return EntryFetch(download.entry, _without_body(download.result), None, None, f"unexpected error: {exc!r}")


def _init_worker(front: Front, daemon_pid: int) -> None:
    global _worker_front
    _worker_front = front
    threading.Thread(target=_exit_with, args=(daemon_pid,), daemon=True, name="orphan-watch").start()


def _exit_with(daemon_pid: int) -> None:
    # A daemon killed with SIGKILL cannot stop its workers: they end themselves once it is gone.
    while True:
        time.sleep(ORPHAN_CHECK_S)
        try:
            os.kill(daemon_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # the pid was reused by another user's process: ours is gone
            os._exit(0)


def _process_in_worker(download: Download) -> EntryFetch:
    assert _worker_front is not None, "worker started without a front"
    return guarded_process(download, _worker_front)


class AnalysisPool:
    """Processes downloads in `processes` worker processes, or inline when `processes` is 0."""

    def __init__(self, front: Front, processes: int) -> None:
        self.front = front
        self.processes = processes
        self._executor: ProcessPoolExecutor | None = None

    def map(self, downloads: Iterable[Download]) -> Iterator[EntryFetch]:
        """Analysed entries in the order of `downloads`; work starts as each download arrives."""
        if self.processes <= 0:
            yield from (guarded_process(download, self.front) for download in downloads)
            return
        executor = self._start()
        # A bounded window keeps both cores busy while results are saved in order, without holding every page.
        window: deque[tuple[Download, Future[EntryFetch]]] = deque()
        for download in downloads:
            window.append((download, executor.submit(_process_in_worker, download)))
            while window and (window[0][1].done() or len(window) >= self.processes * WINDOW_PER_PROCESS):
                yield self._result(*window.popleft())
        while window:
            yield self._result(*window.popleft())

    def _result(self, download: Download, future: Future[EntryFetch]) -> EntryFetch:
        try:
            return future.result()
        except BrokenProcessPool as exc:
            log.error("entry=%s url=%s worker process died: %s", download.entry.key, download.entry.url, exc)
            self.close()
            return EntryFetch(download.entry, _without_body(download.result), None, None, "worker process died")

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # forkserver: the daemon has threads (scheduler, HTTP), which must not be forked.
            context = multiprocessing.get_context("forkserver")
            self._executor = ProcessPoolExecutor(self.processes, mp_context=context, initializer=_init_worker,
                                                 initargs=(self.front, os.getpid()))
        return self._executor

    def close(self) -> None:
        """Stop the worker processes (a new pool starts on next use)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
