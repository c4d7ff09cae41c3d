"""The daemon's wiring: config, archive, HTTP client and front loaded once, and the jobs that use them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import sqlite_utils

from monitor.analyze import Front, analyze_article, load_front
from monitor.config import Config
from monitor.delivery import DeliveryReport, deliver_pending
from monitor.errors import MonitorError
from monitor.feedhealth import feed_health_alerts
from monitor.fetch import build_client
from monitor.ingest import ArticleSaver, decision_columns
from monitor.models import Article, now_iso
from monitor.pipeline import FeedReport, run_pass
from monitor.store import feeds as feed_store
from monitor.store import open_db
from monitor.store.articles import (
    article_id_for_entry,
    purge_dropped_text,
    purge_fetch_log,
    stored_article,
    update_decision,
)
from monitor.store.claims import save_claims
from monitor.store.control import replay_control
from monitor.workers import AnalysisPool

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Service:
    """Everything a command needs, opened once and closed once."""

    config: Config
    db: sqlite_utils.Database
    front: Front
    saver: ArticleSaver
    analysis: AnalysisPool
    client: httpx.Client | None = None

    def poll(self, names: list[str] | None = None,
             should_stop: Callable[[], bool] = lambda: False) -> list[FeedReport]:
        """One pass over the due feeds (or all feeds named)."""
        if self.client is None:
            self.client = build_client(self.config.http)
        return run_pass(self.db, self.client, self.config, self.saver, self.analysis, names=names,
                        should_stop=should_stop)

    def deliver_alerts(self, now: datetime | None = None) -> DeliveryReport:
        """Feed-health check, then one pass over the alert outbox."""
        now = now or datetime.now(UTC)
        if self.client is None:
            self.client = build_client(self.config.http)
        alerts = self.config.alerts
        feed_health_alerts(self.db, now, alerts.delivery)
        if not alerts.channels:  # nothing consumes the outbox: alerts wait there for the first channel
            return DeliveryReport()
        return deliver_pending(self.db, alerts.channels, self.client, now, settings=alerts.delivery)

    def tick(self, should_stop: Callable[[], bool]) -> None:
        """The daemon's job: poll due feeds, then deliver what is pending; a failed pass is retried next tick."""
        try:
            self.poll(should_stop=should_stop)
            if not should_stop():
                self.deliver_alerts()
        except MonitorError as exc:
            log.error("pass failed: %s", exc.describe())

    def ingest(self, articles: Iterable[Article], *, backfill: bool = False) -> tuple[int, int]:
        """Store articles read from local files; returns (stored, skipped as already ingested).

        With `backfill`, control changes go into history without queueing alerts (loading an archive).
        """
        stored = skipped = 0
        self.saver.backfill = backfill
        try:
            for article in articles:
                if article.entry_key and article_id_for_entry(self.db, article.entry_key) is not None:
                    skipped += 1
                    continue
                self.saver.save(article, None)
                stored += 1
        finally:
            self.saver.backfill = False
        return stored, skipped

    def replay(self, article_ids: Iterable[int], *, alert: bool = False) -> list[str]:
        """Re-read relevance and claims of stored articles, then recompute every town from its claims.

        Alerts already written keep their ids; changes found only now are history unless `alert` is set.
        """
        for article_id in article_ids:
            article = stored_article(self.db, article_id)
            if article is None or not article.text:  # purged text: its stored claims stand
                continue
            analysis = analyze_article(article, self.front)
            with self.db.atomic():
                update_decision(self.db, article_id, decision_columns(analysis))
                save_claims(self.db, article_id, list(analysis.claims))
        with self.db.atomic():
            return replay_control(self.db, self.saver.towns, self.config.control, now_iso(),
                                  backfill=not alert, actors=self.front.actors)

    def maintain(self, now: datetime | None = None) -> dict[str, int]:
        """Retention: purge old dropped text and fetch-log rows, give the space back, let SQLite optimize."""
        now = now or datetime.now(UTC)
        database = self.config.database
        with self.db.atomic():
            texts = purge_dropped_text(self.db, now_iso(now - timedelta(days=database.dropped_text_days)),
                                       now_iso(now))
            fetches = purge_fetch_log(self.db, now_iso(now - timedelta(days=database.fetch_log_days)))
        # executescript steps the pragma to completion (execute frees one page); it hands freed pages back.
        self.db.conn.executescript("PRAGMA incremental_vacuum;")
        self.db.execute("PRAGMA optimize")
        log.info("maintenance purged_texts=%d purged_fetches=%d", texts, fetches)
        return {"purged_texts": texts, "purged_fetches": fetches}

    def close(self) -> None:
        """Stop the worker processes, close the HTTP client and the database."""
        self.analysis.close()
        if self.client is not None:
            self.client.close()
        self.db.close()


def front_from_config(config: Config) -> Front:
    """Load the front's data files named in [front]."""
    paths = config.front
    return load_front(config.resolve(paths.gazetteer), config.resolve(paths.seeds), config.resolve(paths.actors),
                      config.classifier)


def open_service(config: Config, db_path: str | None = None) -> Service:
    """Open the archive, load the front and make the feeds table match the config."""
    front = front_from_config(config)
    db = open_db(config.resolve(db_path or config.database.path))
    feed_store.sync_feeds(db, configured_sources(config), now_iso())
    return Service(config=config, db=db, front=front, saver=ArticleSaver(db, front, config.control),
                   analysis=AnalysisPool(front, config.schedule.processes))


def configured_sources(config: Config) -> list[dict[str, object]]:
    """Enabled feed and page sources as feeds-table rows."""
    return [
        {"name": source.name, "url": source.url, "kind": kind, "outlet": source.outlet,
         "interval_s": source.interval, "link_pattern": getattr(source, "link_pattern", None)}
        for kind, source in config.enabled_sources
    ]
