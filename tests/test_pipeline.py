"""End to end through the real pipeline: a local news site, its feed, the archive, and `monitor once`."""

from __future__ import annotations

import json
from pathlib import Path

import click
import configfile
import pytest
from click.testing import CliRunner
from seedsite import seed_rows, serve_seed_site

from monitor.cli import cli
from monitor.config import load_config
from monitor.service import open_service


def write_config(tmp_path: Path, feeds: list[tuple[str, str]], extra: str = "", processes: int = 0,
                 schedule: dict[str, object] | None = None) -> Path:
    """A test config: private addresses allowed, short timeouts, pages analysed in the fetching threads
    unless `processes` asks for worker processes."""
    sections = {"http": {"allow_private": True, "total_timeout": 5.0, "read_timeout": 2.0},
                "schedule": {"processes": processes, **(schedule or {})}}
    return configfile.write_config(tmp_path, feeds, sections=sections, extra=extra)


@pytest.mark.parametrize("processes", [0, 2], ids=["in-threads", "worker-processes"])
def test_once_stores_the_five_seed_articles_with_text_outlet_and_date(
    http_server, tmp_path: Path, processes: int
) -> None:
    feed_url = serve_seed_site(http_server)
    config_path = write_config(tmp_path, [("coast", feed_url)], processes=processes)
    result = CliRunner().invoke(cli, ["--config", str(config_path), "once"])
    assert result.exit_code == 0, result.output
    service = open_service(load_config(config_path))
    rows = list(service.db.query("SELECT * FROM articles ORDER BY published_at"))
    assert len(rows) == 5
    expected = {row["published"]: row["outlet"] for row in seed_rows()}
    for row in rows:
        assert len(row["text"]) > 500, row["title"]
        assert row["text_source"] == "page"
        assert row["published_at"][:10] in expected
        assert row["outlet"] == expected[row["published_at"][:10]]
        assert row["decision_reason"]
    kansaba = [r for r in rows if "Kansaba" in r["text"] and "Zaman" in r["text"]]
    assert kansaba and kansaba[0]["is_text_repeated"] == 1
    assert kansaba[0]["text"].count("Rebels seized the strategic town of Kansaba") == 1
    service.close()


def test_second_poll_gets_304_and_stores_nothing_new(http_server, tmp_path: Path) -> None:
    feed_url = serve_seed_site(http_server)
    config = load_config(write_config(tmp_path, [("coast", feed_url)]))
    service = open_service(config)
    first = service.poll(names=["coast"])
    pages_fetched = len([r for r in http_server.requests if r.path.startswith("/news/")])
    second = service.poll(names=["coast"])
    assert first[0].articles == 5 and first[0].status == "ok"
    assert second[0].status == "not_modified" and second[0].articles == 0
    feed_requests = http_server.requests_to("/feed.xml")
    assert feed_requests[1].headers.get("if-none-match") == '"seeds-v1"'
    assert len([r for r in http_server.requests if r.path.startswith("/news/")]) == pages_fetched
    assert service.db["articles"].count == 5
    statuses = [row["status"] for row in service.db.query("SELECT status FROM fetches WHERE kind = 'feed'")]
    assert statuses == [200, 304]
    service.close()


def test_failing_feed_is_recorded_backs_off_and_once_exits_1(http_server, tmp_path: Path) -> None:
    http_server.route("/broken.xml", status=503, headers={"Retry-After": "3600"})
    feed_url = serve_seed_site(http_server)
    config_path = write_config(tmp_path, [("coast", feed_url), ("broken", http_server.url("/broken.xml"))])
    result = CliRunner().invoke(cli, ["--config", str(config_path), "once"])
    assert result.exit_code == 1
    service = open_service(load_config(config_path))
    broken = service.db.execute(
        "SELECT error_count, last_status, last_error, next_check_at, last_checked_at FROM feeds WHERE name='broken'"
    ).fetchone()
    assert broken[0] == 1 and broken[1] == 503 and broken[2]
    assert broken[3] > broken[4]  # next check pushed into the future
    assert service.db["articles"].count == 5  # the healthy feed is unaffected
    service.close()


def test_gone_feed_is_marked_and_not_polled_again(http_server, tmp_path: Path) -> None:
    http_server.route("/gone.xml", status=410)
    service = open_service(load_config(write_config(tmp_path, [("gone", http_server.url("/gone.xml"))])))
    reports = service.poll(names=["gone"])
    assert reports[0].status == "gone"
    assert service.db.execute("SELECT is_gone FROM feeds").fetchone()[0] == 1
    assert service.poll(names=["gone"]) == []
    service.close()


def test_ingest_seeds_with_dates_and_skips_reingest(tmp_path: Path) -> None:
    from paths import SEEDS

    config_path = write_config(tmp_path, [])
    runner = CliRunner()
    first = runner.invoke(cli, ["--config", str(config_path), "ingest", str(SEEDS)])
    assert first.exit_code == 0, first.output
    assert "stored 5" in first.output
    again = runner.invoke(cli, ["--config", str(config_path), "ingest", str(SEEDS)])
    assert "stored 0" in again.output and "skipped 5" in again.output
    service = open_service(load_config(config_path))
    dates = sorted(r["published_at"] for r in service.db.query("SELECT published_at FROM articles"))
    assert dates == sorted(row["published"] for row in seed_rows())
    service.close()


def test_ingest_jsonl(tmp_path: Path) -> None:
    data = tmp_path / "articles.jsonl"
    records = [{"id": 1, "url": "https://example.org/a", "title": "Rebels seize Kinsabba",
                "text": "Rebels seized the town of Kinsabba in Latakia province on Friday.",
                "published": "2016-07-01", "outlet": "Example"}]
    data.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    config_path = write_config(tmp_path, [])
    result = CliRunner().invoke(cli, ["--config", str(config_path), "ingest", str(data)])
    assert result.exit_code == 0, result.output
    service = open_service(load_config(config_path))
    row = next(service.db.query("SELECT * FROM articles"))
    assert row["outlet"] == "Example" and row["published_at"] == "2016-07-01"
    assert row["canonical_url"] == "https://example.org/a"
    service.close()


def test_search_finds_stored_articles(tmp_path: Path) -> None:
    from paths import SEEDS

    config_path = write_config(tmp_path, [])
    runner = CliRunner()
    runner.invoke(cli, ["--config", str(config_path), "ingest", str(SEEDS)])
    result = runner.invoke(cli, ["--config", str(config_path), "search", "Kinsabba"])
    assert result.exit_code == 0
    assert "Assad forces advance in northern Latakia" in result.output
    assert "Atshan" not in result.output


def all_commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of the CLI, sub-groups included."""
    paths = []
    for name, command in sorted(group.commands.items()):
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths += all_commands(command, (*prefix, name))
    return paths


@pytest.mark.parametrize("command", all_commands(), ids=" ".join)
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    help_text = result.output.split("Options:")[0]
    assert len(help_text.strip().splitlines()) >= 3, help_text


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[database]\npathh = 1\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "check-config"])
    assert result.exit_code == 2
    assert "database.pathh: unknown key" in result.output
    assert "Traceback" not in result.output


def test_once_end_to_end_feed_to_email_and_webhook(http_server, smtp_server, tmp_path: Path) -> None:
    import email

    feed_url = serve_seed_site(http_server)
    http_server.route("/hook", status=200, body="ok")
    channels = (
        f'[[alerts.email]]\nname = "desk"\nhost = "127.0.0.1"\nport = {smtp_server.port}\ntls = "none"\n'
        'from = "monitor@example.org"\nto = ["analyst@example.org"]\n'
        f'[[alerts.webhook]]\nname = "hook"\nurl = "{http_server.url("/hook")}"\n'
    )
    config_path = write_config(tmp_path, [("coast", feed_url)], extra=channels)
    result = CliRunner().invoke(cli, ["--config", str(config_path), "once"])
    assert result.exit_code == 0, result.output
    service = open_service(load_config(config_path))
    alert_ids = {row[0] for row in service.db.execute("SELECT id FROM alerts WHERE is_backfill = 0")}
    service.close()
    assert alert_ids
    mails = smtp_server.wait_for_messages(len(alert_ids))
    subjects = [email.message_from_bytes(mail.content)["Subject"] for mail in mails]
    assert any(s.startswith("[monitor] Kinsabba: ") and "government" in s for s in subjects), subjects
    posts = http_server.wait_for_requests(len(alert_ids), path="/hook")
    assert {post.headers["idempotency-key"] for post in posts} == alert_ids
    kinsabba = [json.loads(post.body) for post in posts if json.loads(post.body)["town"]["name"] == "Kinsabba"]
    assert {p["to_side"] for p in kinsabba} == {"rebels", "government"}
    assert all(p["sources"] for p in kinsabba)


def test_section_page_links_are_followed_same_site_and_matching_only(http_server, tmp_path: Path) -> None:
    serve_seed_site(http_server)
    links = "".join(f"<li><a href='/news/{row['file']}.html'>{row['outlet']}</a></li>" for row in seed_rows()[:3])
    section = (f"<html><body><ul>{links}</ul><a href='/about'>About</a>"
               "<a href='https://elsewhere.example/news/x.html'>Elsewhere</a></body></html>")
    http_server.route("/section/", section, headers={"Content-Type": "text/html"})
    extra = f'[[pages]]\nname = "section"\nurl = "{http_server.url("/section/")}"\nlink_pattern = "/news/.+[.]html$"\n'
    config = load_config(write_config(tmp_path, [], extra=extra))
    service = open_service(config)
    reports = service.poll(names=["section"])
    assert reports[0].status == "ok" and reports[0].articles == 3
    urls = {row[0] for row in service.db.execute("SELECT url FROM articles")}
    assert all("/news/" in url and url.startswith(http_server.url("/")) for url in urls)
    assert not http_server.requests_to("/about")
    service.close()


def test_html_page_with_a_feed_link_is_followed_to_its_feed(http_server, tmp_path: Path) -> None:
    feed_url = serve_seed_site(http_server)
    link = f"<link rel='alternate' type='application/rss+xml' href='{feed_url}'>"
    home = f"<html><head>{link}</head><body>Hi</body></html>"
    http_server.route("/home", home, headers={"Content-Type": "text/html"})
    service = open_service(load_config(write_config(tmp_path, [("home", http_server.url("/home"))])))
    reports = service.poll(names=["home"])
    assert reports[0].status == "ok" and reports[0].articles == 5
    assert service.db.execute("SELECT feed_url FROM feeds WHERE name = 'home'").fetchone()[0] == feed_url
    service.poll(names=["home"])  # the next poll goes straight to the feed, which answers 304
    assert len(http_server.requests_to("/home")) == 1
    service.close()


def test_failed_article_page_is_retried_then_the_summary_is_kept(http_server, tmp_path: Path) -> None:
    rss = ("<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><item><title>Rebels seize Kinsabba</title>"
           f"<link>{http_server.url('/missing.html')}</link><description>Rebels seized Kinsabba in Latakia on Friday."
           "</description><pubDate>Fri, 01 Jul 2016 12:00:00 GMT</pubDate></item></channel></rss>")
    http_server.route("/feed.xml", rss)
    http_server.route("/missing.html", status=500)
    service = open_service(load_config(write_config(tmp_path, [("flaky", http_server.url("/feed.xml"))])))
    attempts = service.config.schedule.article_attempts
    for _ in range(attempts):
        service.poll(names=["flaky"])
    assert len(http_server.requests_to("/missing.html")) == attempts
    row = next(service.db.query("SELECT text, text_source, extract_note FROM articles"))
    assert row["text_source"] == "summary" and "Kinsabba" in row["text"]
    assert f"failed {attempts} times" in row["extract_note"]
    service.poll(names=["flaky"])
    assert len(http_server.requests_to("/missing.html")) == attempts  # done: never fetched again
    service.close()


def test_search_index_follows_text_changes_only(db) -> None:
    from monitor.models import Article
    from monitor.store.articles import save_article, search_articles

    article_id = save_article(db, Article(url=None, title="Kinsabba taken", text="Rebels took Kinsabba."), {})
    db.table("articles").update(article_id, {"is_relevant": 1})  # a decision column: no re-index needed
    assert [r["id"] for r in search_articles(db, "Kinsabba")] == [article_id]
    db.table("articles").update(article_id, {"text": None})  # an exact copy's text is dropped
    db.table("articles").update(article_id, {"title": "Salma shelled"})
    assert search_articles(db, "Kinsabba") == []
    assert [r["id"] for r in search_articles(db, "Salma")] == [article_id]


def test_maintenance_purges_old_dropped_text_and_fetch_log_only(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from monitor.models import Article
    from monitor.store.articles import save_article

    service = open_service(load_config(write_config(tmp_path, [])))
    db = service.db
    old, recent = "2026-01-01T00:00:00Z", "2026-11-20T00:00:00Z"
    ids = {
        name: save_article(db, Article(url=None, title=name, text=f"text of {name}", fetched_at=fetched),
                           {"is_relevant": relevant})
        for name, fetched, relevant in (("old-dropped", old, 0), ("old-kept", old, 1), ("new-dropped", recent, 0))
    }
    # A long text, so that purging it frees whole pages.
    db.table("articles").update(ids["old-dropped"], {"text": " ".join(f"word{i}" for i in range(40_000))})
    db.table("fetches").insert_all([{"url": "u", "started_at": old}, {"url": "u", "started_at": recent}])
    pages_before = db.execute("PRAGMA page_count").fetchone()[0]
    counts = service.maintain(datetime(2026, 11, 22, tzinfo=UTC))
    assert counts == {"purged_texts": 1, "purged_fetches": 1}
    texts = {row["title"]: row["text"] for row in db.query("SELECT title, text FROM articles")}
    assert texts == {"old-dropped": None, "old-kept": "text of old-kept", "new-dropped": "text of new-dropped"}
    assert db.execute("PRAGMA page_count").fetchone()[0] < pages_before
    assert db.table("articles").get(ids["old-dropped"])["text_purged_at"]  # the row and its metadata stay
    assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0  # freed pages went back to the disk
    service.close()


def test_entries_left_pending_are_fetched_before_their_feed_is_due_again(http_server, tmp_path: Path) -> None:
    feed_url = serve_seed_site(http_server)
    service = open_service(load_config(write_config(tmp_path, [("coast", feed_url)])))
    first = service.poll(should_stop=lambda: True)  # stopped after the feed poll: entries stay pending
    assert first[0].new_entries == 5 and service.db["articles"].count == 0
    second = service.poll()  # the feed is not due for another 15 minutes
    assert len(http_server.requests_to("/feed.xml")) == 1
    assert [(r.name, r.status, r.articles) for r in second] == [("coast", "pending", 5)]
    assert service.db["articles"].count == 5
    service.close()
