"""The `monitor` command line: click commands that call the service, and errors turned into one line."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from monitor.config import Config, load_config
from monitor.errors import ConfigError, MonitorError

log = logging.getLogger("monitor")
F = TypeVar("F", bound=Callable[..., Any])


@click.group()
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="config.toml",
              envvar="MONITOR_CONFIG", show_default=True, help="Configuration file (env MONITOR_CONFIG).")
@click.option("--db", "db_path", type=click.Path(path_type=Path), default=None,
              help="Database file, overriding [database] path.")
@click.option("-v", "--verbose", count=True, help="More logging; -vv also shows tracebacks.")
@click.version_option(package_name="monitor")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, db_path: Path | None, verbose: int) -> None:
    """Follow one front of a war in the news and alert when control of a town changes hands."""
    setup_logging(verbose)
    ctx.obj = {"config_path": config_path, "db_path": db_path, "verbose": verbose}


def setup_logging(verbose: int) -> None:
    """One line per event on stderr without timestamps (journald adds them)."""
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s", force=True)
    for noisy in ("httpx", "httpcore", "apscheduler", "trafilatura", "htmldate", "courlan", "charset_normalizer"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)


def handle_errors(func: F) -> F:
    """Turn a MonitorError into one clear line and an exit code (2 config, 1 runtime); -vv re-raises."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MonitorError as exc:
            if click.get_current_context().obj.get("verbose", 0) > 1:
                raise
            click.echo(f"error: {exc.describe()}", err=True)
            sys.exit(2 if isinstance(exc, ConfigError) else 1)

    return wrapper  # type: ignore[return-value]


def config_from(ctx: click.Context) -> Config:
    """The validated config named by --config."""
    return load_config(ctx.obj["config_path"])


@contextmanager
def opened_service(ctx: click.Context) -> Iterator[Any]:
    """The service for a command, closed afterwards."""
    from monitor.service import open_service

    db_path = ctx.obj["db_path"]
    service = open_service(config_from(ctx), str(db_path) if db_path else None)
    try:
        yield service
    finally:
        service.close()


@cli.command()
@click.pass_context
@handle_errors
def run(ctx: click.Context) -> None:
    """Run the daemon: poll due feeds every tick until SIGTERM or Ctrl-C."""
    from monitor.notify import database_file
    from monitor.scheduler import run_daemon

    with opened_service(ctx) as service:
        run_daemon(service.config, service.tick, service.maintain, database_path=database_file(service.db.conn))


@cli.command()
@click.option("--feed", "feeds", multiple=True, help="Only this feed (by name); repeatable.")
@click.option("--no-alerts", is_flag=True, help="Do not deliver pending alerts after the pass.")
@click.pass_context
@handle_errors
def once(ctx: click.Context, feeds: tuple[str, ...], no_alerts: bool) -> None:
    """Poll every feed once (due or not), deliver pending alerts, and exit.

    The exit status is 1 if any feed failed, so cron and smoke tests can tell.
    """
    from monitor.pipeline import reports_failed

    with opened_service(ctx) as service:
        names = list(feeds) or [source.name for _, source in service.config.enabled_sources]
        reports = service.poll(names=names)
        if not no_alerts:
            service.deliver_alerts()
    if reports_failed(reports):
        sys.exit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--backfill", is_flag=True, help="Record control changes as history without queueing alerts.")
@click.pass_context
@handle_errors
def ingest(ctx: click.Context, paths: tuple[Path, ...], backfill: bool) -> None:
    """Store local .txt, .html and .jsonl files (folders recursively) as articles.

    A .txt file's first line is its title; a published.csv beside the files (as in seeds/) gives their
    dates and outlets. JSONL objects have id, url, title, text, published, outlet. Files already ingested
    are skipped. Use --backfill to load an archive without alerting analysts about old changes.
    """
    from monitor.ingest import expand_paths, read_files

    files = list(expand_paths(list(paths)))
    with opened_service(ctx) as service, progress(files, "ingest") as shown:
        stored, skipped = service.ingest(read_files(list(shown)), backfill=backfill)
    click.echo(f"stored {stored} articles, skipped {skipped} already ingested")


@cli.command()
@click.option("--alert", is_flag=True, help="Queue alerts for changes found only now (default: history only).")
@click.pass_context
@handle_errors
def replay(ctx: click.Context, alert: bool) -> None:
    """Re-read relevance and claims of every stored article and recompute the control of every town.

    Run it after editing the gazetteer or the actor lexicon. Alerts already written are never repeated.
    """
    from monitor.store.articles import article_ids

    with opened_service(ctx) as service:
        ids = article_ids(service.db)
        with progress(ids, "replay") as shown:
            alerts = service.replay(shown, alert=alert)
    click.echo(f"replayed {len(ids)} articles; {len(alerts)} alerts written or updated")


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Also towns no claim has named yet.")
@click.pass_context
@handle_errors
def towns(ctx: click.Context, show_all: bool) -> None:
    """The current control of the front: every watched town's holder, since when, and how sure.

    Confidence is claimed (one independent source), confirmed (two, or the losing side concedes) or
    contested (independent sources disagree, or an article disputes it).
    """
    with opened_service(ctx) as service:
        rows = list(service.db.query("SELECT * FROM front_map"))
    for row in rows:
        if row["holder"] is None and not show_all:
            continue
        click.echo(f"{row['name']:<28} {row['governorate'] or '-':<10} {row['holder'] or '-':<11} "
                   f"since {row['since'] or '-':<10} {row['confidence'] or '-':<10} "
                   f"last {row['last_change'] or '-'} on {row['last_change_date'] or '-'} "
                   f"sources={row['source_count'] or 0}")


@contextmanager
def progress(items: list[Any], label: str) -> Iterator[Iterable[Any]]:
    """A progress bar on a terminal; plain items otherwise (logs stay one line per event)."""
    if sys.stderr.isatty():
        with click.progressbar(items, label=label, file=sys.stderr) as bar:
            yield bar
    else:
        log.info("%s items=%d", label, len(items))
        yield items


@cli.command()
@click.pass_context
@handle_errors
def status(ctx: click.Context) -> None:
    """Show feed health and article counts."""
    from monitor.store.articles import article_counts
    from monitor.store.feeds import feed_health
    from monitor.store.outbox import delivery_counts, list_alerts

    with opened_service(ctx) as service:
        rows = feed_health(service.db)
        counts = article_counts(service.db) | {f"deliveries_{k}": v for k, v in delivery_counts(service.db).items()}
        failed = list_alerts(service.db, state="failed", limit=20)
    for row in rows:
        state = "gone" if row["is_gone"] else ("disabled" if not row["is_enabled"] else
                                                ("failing" if row["error_count"] else "ok"))
        click.echo(f"{row['name']:<28} {state:<8} http={row['last_status'] or '-':<4} "
                   f"errors={row['error_count']:<3} articles={row['articles']:<5} "
                   f"last_ok={row['last_success_at'] or '-'} next={row['next_check_at'] or '-'}"
                   + (f"\n    last error: {row['last_error']}" if row["last_error"] else ""))
    click.echo(" ".join(f"{key}={value}" for key, value in counts.items()))
    for row in failed:
        click.echo(f"failed delivery: alert={row['alert_id']} channel={row['channel']} error={row['last_error']}")


@cli.command()
@click.argument("query")
@click.option("--limit", default=20, show_default=True, help="How many results.")
@click.pass_context
@handle_errors
def search(ctx: click.Context, query: str, limit: int) -> None:
    """Full-text search of stored articles (title and text)."""
    from monitor.store.articles import search_articles

    with opened_service(ctx) as service:
        rows = search_articles(service.db, query, limit)
    for row in rows:
        kept = "kept" if row["is_relevant"] else "dropped"
        click.echo(f"{row['id']:>6} {row['published_at'] or '-':<20.20} {kept:<7} {row['outlet'] or '-'}: "
                   f"{row['title']}")


@cli.command("check-config")
@click.pass_context
@handle_errors
def check_config(ctx: click.Context) -> None:
    """Validate the configuration and the front's data files; print the effective settings."""
    from monitor.service import front_from_config

    config = config_from(ctx)
    front = front_from_config(config)
    click.echo(f"config {ctx.obj['config_path']}: ok")
    click.echo(f"database: {config.resolve(str(ctx.obj['db_path'] or config.database.path))}")
    click.echo(f"feeds: {len(config.feeds)}, pages: {len(config.pages)}")
    click.echo(f"gazetteer: {len(front.gazetteer.places)} places, "
               f"{sum(p.is_watched for p in front.gazetteer.places)} watched")
    click.echo(f"seeds: {len(front.reference.names)}")
    for channel in config.alerts.channels:
        click.echo(f"alert channel: {channel.describe()}")


@cli.command()
@click.pass_context
@handle_errors
def analyze(ctx: click.Context) -> None:
    """Read JSON lines (id, title, text, published, outlet) on stdin, write one analysis per line.

    No database and no network: relevance, places and control claims of each article.
    """
    from monitor.analyze import analyze_record
    from monitor.service import front_from_config

    front = front_from_config(config_from(ctx))
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise MonitorError(f"invalid JSON on stdin: {exc.msg}", line=number) from exc
        click.echo(json.dumps(analyze_record(record, front), ensure_ascii=False))


@cli.command("test-alert")
@click.pass_context
@handle_errors
def test_alert(ctx: click.Context) -> None:
    """Send a test message through every configured alert channel and print each result."""
    from monitor.delivery import send_test_alert
    from monitor.fetch import build_client

    config = config_from(ctx)
    channels = config.alerts.channels
    if not channels:
        raise MonitorError("no alert channels configured", hint="add [[alerts.email]] or [[alerts.webhook]]")
    with build_client(config.http) as client:
        results = send_test_alert(channels, client)
    for result in results:
        click.echo(f"{result.channel:<20} {result.kind:<8} {'ok' if result.ok else 'FAILED'} {result.detail}")
    if not all(result.ok for result in results):
        sys.exit(1)


@cli.group()
def alerts() -> None:
    """Alerts in the outbox: deliver, list, retry.

    Alerts are written when control of a watched town changes; these commands show and deliver them.
    """


@alerts.command("send")
@click.pass_context
@handle_errors
def alerts_send(ctx: click.Context) -> None:
    """Deliver pending alerts through every channel and exit (1 if some delivery failed).

    Failed deliveries are retried later with backoff; see `monitor alerts list --state failed`.
    """
    with opened_service(ctx) as service:
        report = service.deliver_alerts()
    click.echo(f"queued={report.queued} delivered={report.delivered} retrying={report.retrying} "
               f"failed={report.failed} deferred={report.deferred}")
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.failed:
        sys.exit(1)


@alerts.command("list")
@click.option("--state", type=click.Choice(["pending", "delivered", "failed"]), default=None,
              help="Only alerts with a delivery in this state.")
@click.option("--limit", default=50, show_default=True, help="How many alerts.")
@click.pass_context
@handle_errors
def alerts_list(ctx: click.Context, state: str | None, limit: int) -> None:
    """List alerts, newest first, with their delivery state per channel.

    Each line shows the alert id, kind, town, change and confidence, then one line per channel.
    """
    from monitor.store.outbox import list_alerts

    with opened_service(ctx) as service:
        rows = list_alerts(service.db, state=state, limit=limit)
    previous = None
    for row in rows:
        if row["alert_id"] != previous:
            backfill = " backfill" if row["is_backfill"] else ""
            click.echo(f"{row['alert_id']} {row['created_at']} {row['kind']:<10} "
                       f"{row['town'] or row['town_id'] or 'feed'}: {row['from_side'] or 'unknown'} -> "
                       f"{row['to_side'] or 'unknown'} on {row['event_date'] or '?'}{backfill}")
            previous = row["alert_id"]
        if row["channel"]:
            error = f" error={row['last_error']}" if row["last_error"] else ""
            click.echo(f"    {row['channel']:<20} {row['state']:<9} attempts={row['attempts']}{error}")


@alerts.command("retry")
@click.pass_context
@handle_errors
def alerts_retry(ctx: click.Context) -> None:
    """Requeue failed deliveries so the next pass tries them again.

    Use it after fixing a channel (a wrong password, a moved webhook).
    """
    from monitor.delivery import requeue_failed

    with opened_service(ctx) as service:
        count = requeue_failed(service.db)
    click.echo(f"requeued {count} deliveries")


def archive_path(ctx: click.Context) -> Path:
    """The archive named by --db, else by [database] path in the config."""
    if ctx.obj["db_path"]:
        return Path(ctx.obj["db_path"])
    config = config_from(ctx)
    return Path(config.resolve(config.database.path))


@cli.command()
@click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; keep it local.")
@click.pass_context
@handle_errors
def serve(ctx: click.Context, port: int, host: str) -> None:
    """Explore the archive in Datasette, read-only.

    Canned queries (town control, recent changes, articles about a town, copies, deliveries, feed health),
    full-text search, and the map of the front at /-/front-map.
    """
    from monitor.serve import serve as serve_archive

    serve_archive(archive_path(ctx), port=port, host=host)


@cli.command()
@click.argument("destination", type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace DESTINATION when it exists.")
@click.pass_context
@handle_errors
def backup(ctx: click.Context, destination: Path, overwrite: bool) -> None:
    """Copy the archive to DESTINATION (file or folder) with SQLite's online backup.

    Safe while the daemon runs; the copy is checked with PRAGMA quick_check before it is put in place.
    """
    from monitor.backup import backup_database

    result = backup_database(archive_path(ctx), destination, overwrite=overwrite)
    click.echo(f"backup {result.destination}: {result.bytes} bytes, {result.pages} pages, "
               f"integrity {result.integrity}, {result.elapsed_s:.1f}s")
