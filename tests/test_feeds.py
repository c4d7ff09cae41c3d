"""parse_feed on real, ill-formed and hostile feeds; entry identity; feed discovery and article links."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from httpserver import LocalHTTPServer

from monitor.feeds import discover_feed_links, entry_key, find_article_links, html_to_text, parse_feed
from monitor.fetch import HttpSettings, build_client, fetch_url

DATA = Path(__file__).resolve().parent / "data"
FEEDS = DATA / "feeds"
PAGES = DATA / "pages"
ILLFORMED = sorted((FEEDS / "illformed").rglob("*.xml"))
ALJAZEERA = PAGES / "42aad16bde9288623543642a9ce1a396be83e2db44aa2ff8cbbfe46e14abd7cc.html"
ALJAZEERA_URL = (
    "https://www.aljazeera.com/ajimpact/nasas-commercial-moon-shot-musk-bezos-firms-bid-191119041538885.html"
)
PANARMENIAN = PAGES / "d90bda7ed14df19574f4ca8b1ccde5752a78f40058af1393e81cc99adb3e8756.html"
NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def rss(items: str, *, encoding: str = "utf-8") -> bytes:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>Test</title>'
        f"<link>http://example.com/</link>{items}</channel></rss>"
    ).encode(encoding)


@pytest.mark.parametrize(("name", "item_tag"), [("guardian.rss", b"<item>"), ("heise.atom", b"<entry>"),
                                                ("feedburner.atom", b"<entry>")])  # fmt: skip
def test_real_feeds_give_every_item_cleanly(name: str, item_tag: bytes) -> None:
    body = (FEEDS / name).read_bytes()
    parsed = parse_feed(body, {"content-type": "application/xml"}, f"http://feeds.example/{name}", now=NOW)
    assert parsed.is_feed and not parsed.is_bozo and parsed.title
    assert len(parsed.entries) == body.count(item_tag) > 10
    assert len({e.key for e in parsed.entries}) == len(parsed.entries)
    for entry in parsed.entries:
        assert entry.url and entry.url.startswith("http") and entry.title
        assert "\n" not in entry.title and "<" not in entry.title
        assert entry.published_at is None or ISO_UTC.match(entry.published_at)
    assert sum(e.published_at is not None for e in parsed.entries) == len(parsed.entries)


def test_latin1_feed_without_declaration_served_locally_keeps_its_accents(
    http_server: LocalHTTPServer,
) -> None:
    body = (FEEDS / "uolNoticias.rss").read_bytes()
    assert not body.lstrip().startswith(b"<?xml") and "simulações".encode("latin-1") in body
    http_server.route("/uol.rss", body=body, headers={"Content-Type": "application/rss+xml"})
    settings = HttpSettings(allow_private=True, total_timeout=5.0)
    with build_client(settings) as client:
        result = fetch_url(client, http_server.url("/uol.rss"), settings=settings)
    parsed = parse_feed(result.body, dict(result.headers), result.final_url, now=NOW)
    titles = " ".join(e.title or "" for e in parsed.entries)
    assert len(parsed.entries) == body.count(b"<item>") and "simulações" in titles
    assert "Ã" not in titles and "\ufffd" not in titles
    assert parsed.is_bozo and parsed.bozo_reason  # the charset fallback is recorded, the entries still used


@pytest.mark.parametrize("path", ILLFORMED, ids=[str(p.relative_to(FEEDS)) for p in ILLFORMED])
def test_every_illformed_feed_parses_without_a_crash(path: Path) -> None:
    body = path.read_bytes()
    parsed = parse_feed(body, {}, "http://feeds.example/feed.xml", now=NOW)
    expect = re.search(rb"Expect:\s*(.*)", body)
    assert expect is not None
    if expect.group(1).startswith(b"bozo"):
        assert parsed.is_bozo and parsed.bozo_reason
    if expect.group(1).startswith(b"not bozo"):
        assert not parsed.is_bozo
    for entry in parsed.entries:
        assert entry.key and (entry.title is None or "\n" not in entry.title)


def test_illformed_expectations_that_concern_us() -> None:
    amp = parse_feed(
        (FEEDS / "illformed" / "rss_item_link_corrupted_ampersands.xml").read_bytes(), {}, "http://x/"
    )
    doctype = parse_feed((FEEDS / "illformed" / "always_strip_doctype.xml").read_bytes(), {}, "http://x/")
    empty = parse_feed((FEEDS / "illformed" / "rss_empty_document.xml").read_bytes(), {}, "http://x/")
    assert amp.entries[0].url == "http://link/get?a=1&b=2"
    assert doctype.title == "found"
    assert not empty.is_feed and empty.is_bozo and empty.entries == ()


def test_hostile_links_dates_and_titles() -> None:
    body = rss(
        "<item><title>private</title><link>http://127.0.0.1:8080/admin</link><guid>g1</guid></item>"
        "<item><title>metadata</title><link>http://169.254.169.254/latest/meta-data/</link></item>"
        '<item><title>file</title><link>file:///etc/passwd</link><guid isPermaLink="false">tag:test,2026:g3</guid>'
        "</item>"
        "<item><title>gopher</title><link>gopher://evil.example/1</link></item>"
        "<item><title>year zero</title><link>http://example.com/0</link>"
        "<pubDate>Sat, 01 Jan 0000 00:00:00 GMT</pubDate></item>"
        "<item><title>year 9999</title><link>http://example.com/9</link>"
        "<pubDate>Fri, 31 Dec 9999 23:59:59 GMT</pubDate></item>"
        "<item><title>&lt;b&gt;Rebels&lt;/b&gt; take\r\nKansaba &amp;amp; hills\n</title>"
        "<link>http://example.com/k</link><pubDate>Sun, 22 Nov 2026 05:00:00 +0200</pubDate></item>"
    )
    entries = {e.title: e for e in parse_feed(body, {}, "http://example.com/feed", now=NOW).entries}
    assert entries["private"].url == "http://127.0.0.1:8080/admin"  # refused at fetch time, see below
    assert entries["metadata"].url == "http://169.254.169.254/latest/meta-data/"
    assert entries["file"].url is None and entries["file"].key == "tag:test,2026:g3"
    assert entries["gopher"].url is None and entries["gopher"].key.startswith("sha256:")
    assert any("non-http link" in p for p in entries["file"].problems + entries["gopher"].problems)
    for title in ("year zero", "year 9999"):
        assert entries[title].published_at is None and entries[title].problems
    cleaned = entries["Rebels take Kansaba & hills"]
    assert cleaned.published_at == "2026-11-22T03:00:00Z"


def test_links_to_private_addresses_are_refused_when_fetched(http_server: LocalHTTPServer) -> None:
    secret = http_server.url("/secret")
    http_server.route("/secret", body=b"internal")
    body = rss(
        f"<item><title>a</title><link>{secret}</link></item>"
        "<item><title>b</title><link>http://169.254.169.254/latest/meta-data/</link></item>"
        "<item><title>c</title><link>file:///etc/passwd</link></item>"
    )
    http_server.route("/feed", body=body, headers={"Content-Type": "application/rss+xml"})
    settings = HttpSettings(allow_private=False, total_timeout=5.0, proxy=http_server.url("/"))
    with build_client(settings) as client:
        feed = fetch_url(
            client, "http://93.184.215.14/feed", settings=settings
        )  # a public address, via proxy
        entries = parse_feed(feed.body, dict(feed.headers), "http://93.184.215.14/feed", now=NOW).entries
        outcomes = [fetch_url(client, e.url, settings=settings) for e in entries if e.url]
    assert feed.outcome == "ok" and len(entries) == 3 and len(outcomes) == 2
    assert [(r.outcome, r.error_kind) for r in outcomes] == [("error", "refused")] * 2
    assert http_server.requests_to("/secret") == []


def test_html_page_served_as_a_feed_is_not_a_feed() -> None:
    parsed = parse_feed(ALJAZEERA.read_bytes(), {"content-type": "text/html; charset=utf-8"}, ALJAZEERA_URL)
    assert not parsed.is_feed and parsed.entries == () and parsed.is_bozo
    assert discover_feed_links(ALJAZEERA.read_bytes(), ALJAZEERA_URL) == [
        "https://www.aljazeera.com/xml/rss/all.xml"
    ]


def test_invalid_utf8_and_empty_bodies_do_not_crash() -> None:
    broken = rss("<item><title>caf\xe9</title><link>http://example.com/c</link></item>", encoding="latin-1")
    broken = broken.replace(b'encoding="latin-1"', b'encoding="utf-8"')
    parsed = parse_feed(broken, {"content-type": "application/rss+xml; charset=utf-8"}, "http://example.com/")
    assert parsed.is_bozo and len(parsed.entries) == 1 and parsed.entries[0].url == "http://example.com/c"
    for body in (b"", b"\x00\xff\xfe garbage", b"<rss"):
        assert parse_feed(body, {}, "http://example.com/").entries == ()


def test_ten_thousand_entries() -> None:
    items = "".join(
        f"<item><title>t{n}</title><link>http://example.com/a/{n}?utm_source=x</link></item>"
        for n in range(10_000)
    )
    parsed = parse_feed(rss(items), {}, "http://example.com/feed")
    assert len(parsed.entries) == 10_000 and len({e.key for e in parsed.entries}) == 10_000
    assert parsed.entries[-1].key == "http://example.com/a/9999"


def test_relative_links_resolve_against_the_feed_url() -> None:
    body = rss("<item><title>rel</title><link>/news/2026/11/x.html#top</link></item>")
    entry = parse_feed(body, {}, "https://outlet.example/feeds/all.xml").entries[0]
    assert entry.url == "https://outlet.example/news/2026/11/x.html#top"
    assert entry.key == "https://outlet.example/news/2026/11/x.html"


def test_entry_key_prefers_url_then_guid_then_hash() -> None:
    assert entry_key("HTTPS://Ex.com:443/a?utm_medium=rss#x", "g", "t", "s") == "https://ex.com/a"
    assert entry_key(None, " tag:ex.com,2026:1 ", "t", "s") == "tag:ex.com,2026:1"
    hashed = entry_key(None, None, "Kansaba", "taken")
    assert hashed.startswith("sha256:") and len(hashed) == 7 + 64
    assert hashed == entry_key(None, "  ", "Kansaba ", " taken") != entry_key(None, None, "Kansaba", "lost")


def test_html_to_text_cleans_markup() -> None:
    assert (
        html_to_text("<p>One &amp; two</p><script>evil()</script><p>three\r\nfour</p>")
        == "One & two\n\nthree\nfour"
    )
    assert html_to_text("<b>A</b>\r\n\tB\x00", single_line=True) == "A B"
    assert html_to_text("   ") is None and html_to_text(None) is None
    assert html_to_text("<![;broken") is not None


def test_discover_feed_links_on_a_real_page() -> None:
    found = discover_feed_links(PANARMENIAN.read_bytes(), "http://www.panarmenian.net/eng/news/275221/")
    assert found == [
        "http://stickers.panarmenian.net/feeds/eng/news/",
        "http://stickers.panarmenian.net/feeds/eng/details/",
        "http://stickers.panarmenian.net/feeds/eng/interviews/",
    ]
    html = '<base href="https://x.example/sub/"><link rel="Alternate feed" type="application/atom+xml" href="a.xml">'
    assert discover_feed_links(html, "https://x.example/") == ["https://x.example/sub/a.xml"]
    assert (
        discover_feed_links('<link rel="alternate" type="application/rss+xml" href="file:///e">', "http://x/")
        == []
    )


def test_find_article_links_on_a_real_page() -> None:
    pattern = r"/(ajimpact|news)/.*-\d{12,}\.html"
    links = find_article_links(ALJAZEERA.read_bytes(), ALJAZEERA_URL, pattern)
    assert links and len(links) == len(set(links))
    assert all(link.startswith("https://www.aljazeera.com/") and re.search(pattern, link) for link in links)
    assert (
        "https://www.aljazeera.com/ajimpact/space-walking-story-191018150218051.html" in links
    )  # utm_* dropped
    assert ALJAZEERA_URL not in links
    everything = find_article_links(ALJAZEERA.read_bytes(), ALJAZEERA_URL, None)
    assert set(links) < set(everything)
    assert not any("nasa.gov" in link or "facebook" in link for link in everything)


def test_find_article_links_keeps_page_order_and_site() -> None:
    html = (
        '<a href="/a/2">2</a><a href="https://WWW.site.example/a/1#c">1</a><a href="/a/2?utm_source=x">dup</a>'
        '<a href="https://other.example/a/3">other</a><a href="javascript:void(0)">js</a><a href="/about">no</a>'
    )
    links = find_article_links(html, "https://site.example/section", r"/a/\d+")
    assert links == ["https://site.example/a/2", "https://www.site.example/a/1"]


def test_feed_fetched_twice_uses_conditional_get_and_parses_once(http_server: LocalHTTPServer) -> None:
    body = (FEEDS / "guardian.rss").read_bytes()
    http_server.route("/g.rss", body=body, etag='"g1"', gzip=True)
    settings = replace(HttpSettings(), allow_private=True, total_timeout=5.0)
    with build_client(settings) as client:
        first = fetch_url(client, http_server.url("/g.rss"), settings=settings)
        second = fetch_url(client, http_server.url("/g.rss"), settings=settings, etag=first.etag)
    assert len(parse_feed(first.body, dict(first.headers), first.final_url).entries) == body.count(b"<item>")
    assert second.outcome == "not_modified" and second.body == b""
