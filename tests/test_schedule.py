"""next_check_at: interval, Cache-Control, Retry-After (also from a real 429), backoff with jitter and cap."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from httpserver import LocalHTTPServer
from hypothesis import given
from hypothesis import strategies as st

from monitor.fetch import HttpSettings, build_client, fetch_url
from monitor.schedule import next_check_at, parse_retry_after

NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
BOUNDS = {"min_interval_s": 300, "max_interval_s": 21600, "backoff_cap_s": 86400}


def delay(**kwargs: object) -> float:
    args = (
        {"interval_s": 1800, "error_count": 0, "retry_after": None, "cache_control": None} | BOUNDS | kwargs
    )
    return (next_check_at(NOW, **args) - NOW).total_seconds()  # type: ignore[arg-type]


def test_interval_is_used_and_clamped_to_bounds() -> None:
    assert delay() == 1800
    assert delay(interval_s=10) == 300
    assert delay(interval_s=10**9) == 21600


def test_cache_control_max_age_lengthens_within_bounds_only() -> None:
    assert delay(cache_control="public, max-age=7200") == 7200
    assert delay(cache_control="max-age=60") == 1800  # never polls more often than the feed's interval
    assert delay(cache_control="max-age=999999") == 21600
    assert delay(cache_control="no-cache") == 1800


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Sun, 22 Nov 2026 07:00:00 GMT", NOW) == 3600
    assert parse_retry_after("Sun, 22 Nov 2026 05:00:00 GMT", NOW) == 0
    assert parse_retry_after("soon", NOW) is None and parse_retry_after(None, NOW) is None
    assert delay(error_count=1, retry_after="7200", rng=random.Random(1)) == 7200
    assert (
        delay(error_count=1, retry_after="5", rng=random.Random(1)) < 1800
    )  # backoff wins over a short hint
    assert delay(error_count=1, retry_after="99999999") == 21600


def test_backoff_doubles_with_jitter_and_stops_at_the_cap() -> None:
    rng = random.Random(7)
    delays = [delay(error_count=n, rng=rng) for n in range(1, 12)]
    for n, seconds in enumerate(delays, start=1):
        expected = min(1800 * 2 ** (n - 1), 86400)
        assert expected * 0.9 <= seconds <= expected
    assert delays[-1] > 86400 * 0.89  # still retrying at the cap, never abandoned
    assert len({round(delay(error_count=20, rng=random.Random(seed))) for seed in range(20)}) > 10


@given(
    interval=st.floats(0, 10**7),
    errors=st.integers(0, 10_000),
    retry=st.one_of(st.none(), st.text(max_size=40), st.integers(0, 10**12).map(str)),
    cache=st.one_of(st.none(), st.text(max_size=40), st.integers(0, 10**12).map(lambda s: f"max-age={s}")),
)
def test_next_check_is_always_within_bounds(
    interval: float, errors: int, retry: str | None, cache: str | None
) -> None:
    seconds = delay(interval_s=interval, error_count=errors, retry_after=retry, cache_control=cache)
    assert BOUNDS["min_interval_s"] <= seconds <= max(BOUNDS["max_interval_s"], BOUNDS["backoff_cap_s"])


def test_a_real_429_with_retry_after_sets_the_next_check(http_server: LocalHTTPServer) -> None:
    http_server.route("/feed", status=429, headers={"Retry-After": "3600"})
    settings = HttpSettings(allow_private=True, total_timeout=5.0)
    with build_client(settings) as client:
        result = fetch_url(client, http_server.url("/feed"), settings=settings)
    when = next_check_at(
        NOW, interval_s=600, error_count=1, retry_after=result.retry_after, cache_control=None, **BOUNDS
    )  # type: ignore[arg-type]
    assert result.status == 429 and when == NOW + timedelta(seconds=3600)


def test_a_real_cache_control_header_sets_the_next_check(http_server: LocalHTTPServer) -> None:
    http_server.route("/feed", body=b"<rss/>", headers={"Cache-Control": "max-age=5400"})
    settings = HttpSettings(allow_private=True, total_timeout=5.0)
    with build_client(settings) as client:
        result = fetch_url(client, http_server.url("/feed"), settings=settings)
    when = next_check_at(
        NOW, interval_s=600, error_count=0, retry_after=None, cache_control=result.cache_control, **BOUNDS
    )  # type: ignore[arg-type]
    assert result.outcome == "ok" and when == NOW + timedelta(seconds=5400)
