"""fetch_url against the real local server: conditional GET, redirects, errors, bounds and concurrency limits."""

from __future__ import annotations

import gzip
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from httpserver import LocalHTTPServer, RecordedRequest, Reply

from monitor.fetch import FetchResult, HttpSettings, build_client, fetch_url

FEEDS = Path(__file__).resolve().parent / "data" / "feeds"
LOCAL = HttpSettings(connect_timeout=2.0, read_timeout=2.0, total_timeout=5.0, allow_private=True)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with build_client(LOCAL) as shared:
        yield shared


def fetch(client: httpx.Client, url: str, settings: HttpSettings = LOCAL, **kwargs: str) -> FetchResult:
    return fetch_url(client, url, settings=settings, **kwargs)


# -- the test server itself --------------------------------------------------------------------------


def test_server_records_posts_and_plays_a_status_sequence(http_server: LocalHTTPServer) -> None:
    http_server.route("/hook", status=[500, 200], body="ok")
    with httpx.Client() as plain:
        first = plain.post(http_server.url("/hook"), json={"alert": 1})
        second = plain.post(http_server.url("/hook"), content=b"again")
        missing = plain.get(http_server.url("/nowhere"))
    assert (first.status_code, second.status_code, missing.status_code) == (500, 200, 404)
    seen = http_server.wait_for_requests(2, path="/hook")
    assert [r.method for r in seen] == ["POST", "POST"]
    assert seen[0].body == b'{"alert":1}' and seen[1].body == b"again"
    assert seen[0].headers["content-type"] == "application/json"


def test_server_custom_handler_sees_the_request(http_server: LocalHTTPServer) -> None:
    def echo(request: RecordedRequest) -> Reply:
        return Reply(201, request.path.encode(), {"X-Echo": request.method})

    http_server.route("/echo", handler=echo)
    with httpx.Client() as plain:
        response = plain.get(http_server.url("/echo?x=1"))
    assert response.status_code == 201 and response.text == "/echo?x=1"
    assert response.headers["x-echo"] == "GET"


def test_server_stops_promptly_with_a_request_hanging() -> None:
    server = LocalHTTPServer().start()
    server.route("/hang", hang=True)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(httpx.get, server.url("/hang"), timeout=30)
        server.wait_for_requests(1, path="/hang")
        started = time.monotonic()
        server.stop()
        with pytest.raises(httpx.HTTPError):
            pending.result(timeout=10)
    assert time.monotonic() - started < 5


def test_stopped_server_is_down_for_pooled_connections_and_comes_back_on_its_port(
    client: httpx.Client,
) -> None:
    server = LocalHTTPServer().start()
    server.route("/hook", body="ok")
    assert fetch(client, server.url("/hook")).outcome == "ok"  # leaves a keep-alive connection in the pool
    server.stop()
    down = fetch(client, server.url("/hook"))
    assert down.outcome == "error" and down.error_kind in {"connect", "network", "protocol"}
    with LocalHTTPServer(port=server.port) as again:
        again.route("/hook", body="back")
        assert fetch(client, again.url("/hook")).body == b"back"
        assert again.url("/hook") == server.url("/hook")


# -- fetch_url ----------------------------------------------------------------------------------------


def test_ok_fetch_sends_identity_and_returns_lowercase_headers(
    http_server: LocalHTTPServer, client: httpx.Client
) -> None:
    body = (FEEDS / "guardian.rss").read_bytes()
    http_server.route("/feed", body=body, headers={"Content-Type": "application/rss+xml", "X-Thing": "1"})
    result = fetch(client, http_server.url("/feed"))
    assert result.outcome == "ok" and result.status == 200 and result.error_kind is None
    assert result.body == body and result.bytes == len(body)
    assert result.headers["content-type"] == "application/rss+xml" and result.headers["x-thing"] == "1"
    assert result.final_url == result.url == http_server.url("/feed")
    request = http_server.requests_to("/feed")[0]
    assert request.headers["user-agent"].startswith("monitor/")
    assert "application/rss+xml" in request.headers["accept"]
    assert "gzip" in request.headers["accept-encoding"]


def test_conditional_get_second_fetch_is_not_modified(
    http_server: LocalHTTPServer, client: httpx.Client
) -> None:
    stamp = "Sun, 22 Nov 2026 06:00:00 GMT"
    http_server.route("/feed", body=b"<rss/>", etag='"v1"', last_modified=stamp)
    first = fetch(client, http_server.url("/feed"))
    assert first.outcome == "ok" and first.etag == '"v1"' and first.last_modified == stamp
    second = fetch(client, http_server.url("/feed"), etag=first.etag, last_modified=first.last_modified)
    assert second.outcome == "not_modified" and second.status == 304 and second.body == b""
    sent = http_server.requests_to("/feed")[1].headers
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == stamp


def test_conditional_get_by_last_modified_alone(http_server: LocalHTTPServer, client: httpx.Client) -> None:
    http_server.route("/feed", body=b"<rss/>", last_modified="Sun, 22 Nov 2026 06:00:00 GMT")
    newer = fetch(client, http_server.url("/feed"), last_modified="Sun, 22 Nov 2026 07:00:00 GMT")
    older = fetch(client, http_server.url("/feed"), last_modified="Sat, 21 Nov 2026 07:00:00 GMT")
    assert (newer.outcome, older.outcome) == ("not_modified", "ok")


def test_redirects_are_followed_to_the_final_url(http_server: LocalHTTPServer, client: httpx.Client) -> None:
    http_server.route("/old", redirect_to="/middle", status=301)
    http_server.route("/middle", redirect_to=http_server.url("/new"), status=307)
    http_server.route("/new", body=b"<rss/>")
    result = fetch(client, http_server.url("/old"))
    assert result.outcome == "ok" and result.body == b"<rss/>"
    assert result.final_url == http_server.url("/new") and result.url == http_server.url("/old")


def test_redirect_loop_is_an_error(http_server: LocalHTTPServer, client: httpx.Client) -> None:
    http_server.route("/a", redirect_to="/b")
    http_server.route("/b", redirect_to="/a")
    result = fetch(client, http_server.url("/a"))
    assert result.outcome == "error" and result.error_kind == "redirect_loop"
    assert len(http_server.requests) == 2


def test_too_many_redirects_is_an_error(http_server: LocalHTTPServer, client: httpx.Client) -> None:
    for hop in range(8):
        http_server.route(f"/r{hop}", redirect_to=f"/r{hop + 1}")
    result = fetch(client, http_server.url("/r0"))
    assert result.error_kind == "too_many_redirects"
    assert len(http_server.requests) == LOCAL.max_redirects + 1


def test_429_keeps_retry_after_and_410_is_reported(
    http_server: LocalHTTPServer, client: httpx.Client
) -> None:
    http_server.route("/busy", status=429, headers={"Retry-After": "120"})
    http_server.route("/gone", status=410)
    busy = fetch(client, http_server.url("/busy"))
    gone = fetch(client, http_server.url("/gone"))
    assert (busy.outcome, busy.status, busy.error_kind, busy.retry_after) == (
        "error",
        429,
        "http_status",
        "120",
    )
    assert (gone.outcome, gone.status, gone.error_kind) == ("error", 410, "http_status")
    assert "410" in (gone.error or "")


def test_server_that_never_answers_times_out_within_bound(
    http_server: LocalHTTPServer, client: httpx.Client
) -> None:
    http_server.route("/hang", hang=True)
    settings = replace(LOCAL, read_timeout=0.5, total_timeout=3.0)
    result = fetch(client, http_server.url("/hang"), settings)
    assert result.outcome == "error" and result.error_kind == "timeout"
    assert 400 <= result.elapsed_ms < 2500


def test_slow_drip_hits_the_total_deadline(http_server: LocalHTTPServer, client: httpx.Client) -> None:
    http_server.route("/drip", body=b"x" * 10_000, chunk_delay=0.05)
    settings = replace(LOCAL, read_timeout=1.0, total_timeout=0.6)
    result = fetch(client, http_server.url("/drip"), settings)
    assert result.error_kind == "timeout" and "total deadline" in (result.error or "")
    assert result.elapsed_ms < (settings.total_timeout + settings.read_timeout) * 1000 + 500


def test_body_over_the_cap_is_cut_off(http_server: LocalHTTPServer, client: httpx.Client) -> None:
    http_server.route("/big", body=b"x" * 300_000)
    http_server.route("/big.gz", body=b"y" * 300_000, gzip=True)
    settings = replace(LOCAL, max_body_bytes=100_000)
    declared = fetch(client, http_server.url("/big"), settings)
    streamed = fetch(client, http_server.url("/big.gz"), settings)
    assert (declared.outcome, declared.error_kind, declared.body) == ("error", "too_large", b"")
    assert (streamed.outcome, streamed.error_kind) == ("error", "too_large")
    assert fetch(client, http_server.url("/big"), replace(settings, max_body_bytes=300_000)).outcome == "ok"


def test_a_50_mb_body_without_length_is_cut_off_at_the_cap(
    http_server: LocalHTTPServer, client: httpx.Client
) -> None:
    http_server.route("/huge", body=b"x" * 50_000_000, chunked=True)
    result = fetch(client, http_server.url("/huge"), replace(LOCAL, max_body_bytes=5_000_000))
    assert (result.outcome, result.error_kind, result.body) == ("error", "too_large", b"")
    assert "content-length" not in result.headers  # so the cap was enforced while streaming
    http_server.route("/chunked", body=b"y" * 1_000_000, chunked=True)
    small = fetch(client, http_server.url("/chunked"), replace(LOCAL, max_body_bytes=1_000_000))
    assert small.outcome == "ok" and small.body == b"y" * 1_000_000


def test_gzip_bodies_are_decoded_and_a_gzip_bomb_stops_at_the_cap(
    http_server: LocalHTTPServer, client: httpx.Client
) -> None:
    feed = (FEEDS / "heise.atom").read_bytes()
    http_server.route("/feed.gz", body=feed, gzip=True)
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)  # 50 MB of zeros in about 50 KB
    http_server.route("/bomb", body=bomb, headers={"Content-Encoding": "gzip"})
    decoded = fetch(client, http_server.url("/feed.gz"))
    assert decoded.outcome == "ok" and decoded.body == feed and decoded.bytes < len(feed)
    exploded = fetch(client, http_server.url("/bomb"), replace(LOCAL, max_body_bytes=1_000_000))
    assert exploded.error_kind == "too_large"


def test_corrupt_gzip_is_a_decode_error(http_server: LocalHTTPServer, client: httpx.Client) -> None:
    http_server.route("/bad.gz", body=b"this is not gzip at all", headers={"Content-Encoding": "gzip"})
    result = fetch(client, http_server.url("/bad.gz"))
    assert result.outcome == "error" and result.error_kind == "decode"


def test_connection_refused_and_bad_urls_are_results(client: httpx.Client) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    refused = fetch(client, f"http://127.0.0.1:{closed_port}/feed")
    assert refused.outcome == "error" and refused.error_kind == "connect"
    assert fetch(client, "not a url at all").error_kind == "refused"
    assert fetch(client, "file:///etc/passwd").error_kind == "refused"
    assert fetch(client, "http://[::1/").error_kind == "invalid_url"
    assert fetch(client, "http://xn--/x").error_kind == "invalid_url"  # httpx lets idna's UnicodeError out


def test_private_targets_refused_without_allow_private(http_server: LocalHTTPServer) -> None:
    strict = replace(LOCAL, allow_private=False)
    with build_client(strict) as strict_client:
        for url in (http_server.url("/feed"), "http://169.254.169.254/latest/meta-data/", "gopher://x.org/"):
            result = fetch(strict_client, url, strict)
            assert (result.outcome, result.error_kind) == ("error", "refused"), url
    assert http_server.requests == []


def test_every_redirect_hop_is_checked(http_server: LocalHTTPServer) -> None:
    # The local server doubles as a proxy, so a public IP literal reaches it offline; its redirect to
    # 127.0.0.1 must be refused at the hop, before any request reaches the private address.
    http_server.route("/feed", redirect_to=http_server.url("/secret"))
    http_server.route("/secret", body=b"internal")
    http_server.route("/to-file", redirect_to="file:///etc/passwd")
    strict = replace(LOCAL, allow_private=False, proxy=http_server.url("/"))
    with build_client(strict) as strict_client:
        hop = fetch(strict_client, "http://93.184.215.14/feed", strict)
        to_file = fetch(strict_client, "http://93.184.215.14/to-file", strict)
    assert (hop.error_kind, hop.final_url) == ("refused", http_server.url("/secret"))
    assert to_file.error_kind == "refused" and to_file.final_url.startswith("file:")
    assert http_server.requests_to("/secret") == []
    assert len(http_server.requests_to("/feed")) == 1


def _max_in_flight(server: LocalHTTPServer, settings: HttpSettings, requests: int) -> int:
    server.reset_counters()
    with build_client(settings) as shared, ThreadPoolExecutor(requests) as pool:
        results = list(pool.map(lambda _: fetch(shared, server.url("/slow"), settings), range(requests)))
    assert all(r.outcome == "ok" for r in results)
    return server.max_in_flight


def test_per_host_and_global_limits_bound_concurrency(http_server: LocalHTTPServer) -> None:
    http_server.route("/slow", body=b"ok", delay=0.15)
    assert _max_in_flight(http_server, replace(LOCAL, max_per_host=2), 8) == 2
    assert _max_in_flight(http_server, replace(LOCAL, max_per_host=10, max_connections=3), 8) == 3
    assert _max_in_flight(http_server, replace(LOCAL, max_per_host=6), 8) > 2  # the measure can see more


def test_limits_are_released_after_errors(http_server: LocalHTTPServer) -> None:
    http_server.route("/gone", status=410)
    http_server.route("/big", body=b"x" * 5_000, gzip=True)
    settings = replace(LOCAL, max_per_host=1, max_connections=1, max_body_bytes=100, total_timeout=2.0)
    with build_client(settings) as shared:
        kinds = [fetch(shared, http_server.url(p), settings).error_kind for p in ["/gone", "/big"] * 3]
    assert kinds == ["http_status", "too_large"] * 3  # a leaked slot would make later fetches time out
