"""URL identity (normalize_url, with hypothesis properties) and URL safety (check_url_allowed)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import FetchError
from monitor.urls import TRACKING_PARAMS, check_url_allowed, normalize_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://Example.COM:80/a/B?b=2&a=1#frag", "http://example.com/a/B?a=1&b=2"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://ex.com/p?utm_source=rss&utm_medium=feed&id=7", "https://ex.com/p?id=7"),
        ("https://ex.com/p?fbclid=abc&gclid=x&mc_cid=1&mc_eid=2", "https://ex.com/p"),
        ("https://ex.com/p?UTM_Campaign=x&q=Latakia%20front", "https://ex.com/p?q=Latakia%20front"),
        ("  https://ex.com/p  ", "https://ex.com/p"),
        ("https://user:Pw@Ex.com/p", "https://user:Pw@ex.com/p"),
        ("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"),
        ("https://example.com./x", "https://example.com/x"),
    ],
)
def test_normalize_url_examples(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


def test_normalize_url_leaves_non_http_text_alone() -> None:
    assert normalize_url(" mailto:someone@example.com ") == "mailto:someone@example.com"
    assert normalize_url("not a url") == "not a url"
    assert normalize_url("http://[::1") == "http://[::1"


@given(st.text())
@settings(max_examples=400)
def test_normalize_url_never_raises_and_is_idempotent_on_any_text(text: str) -> None:
    once = normalize_url(text)
    assert normalize_url(once) == once


url_parts = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~%", min_size=1, max_size=12)


@given(
    scheme=st.sampled_from(["http", "HTTPS", "Http"]),
    host=st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,10}\.(com|org|SY)", fullmatch=True),
    path=st.lists(url_parts, max_size=4),
    params=st.lists(st.tuples(url_parts, url_parts), max_size=5),
    tracking=st.lists(st.tuples(st.sampled_from(["utm_source", "utm_x", "fbclid", "gclid"]), url_parts)),
    fragment=st.text(max_size=10),
)
def test_normalize_url_drops_tracking_and_is_idempotent(
    scheme: str,
    host: str,
    path: list[str],
    params: list[tuple[str, str]],
    tracking: list[tuple[str, str]],
    fragment: str,
) -> None:
    pairs = [f"{k}={v}" for k, v in params + tracking]
    url = f"{scheme}://{host}/{'/'.join(path)}?{'&'.join(pairs)}#{fragment}"
    once = normalize_url(url)
    assert normalize_url(once) == once
    segments = [pair for pair in urlsplit(once).query.split("&") if pair]
    assert segments == sorted(segments)
    assert not any(
        s.split("=", 1)[0].lower().startswith("utm_") or s.startswith(("fbclid=", "gclid=")) for s in segments
    )
    assert "#" not in once
    assert once.startswith(scheme.lower() + "://" + host.lower() + "/")
    for key, value in params:
        if not key.lower().startswith("utm_") and key.lower() not in TRACKING_PARAMS:
            assert f"{key}={value}" in once


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://10.0.0.5/",
        "http://192.168.1.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost/admin",
        "http://2130706433/",  # 127.0.0.1 written as one integer
        "http://127.1/",
        "http://0x7f.1/",
        "http://[::ffff:7f00:1]/",
        "http://example.com\\@127.0.0.1/",  # the backslash trick: the host is 127.0.0.1
    ],
)
def test_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(FetchError) as caught:
        check_url_allowed(url, allow_private=False)
    assert caught.value.context["kind"] == "refused"
    assert caught.value.context["url"] == url
    assert caught.value.hint


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gopher://example.com/", "ftp://x.org/f", "javascript:x"]
)
def test_non_http_schemes_are_refused_even_when_private_is_allowed(url: str) -> None:
    with pytest.raises(FetchError, match="not http"):
        check_url_allowed(url, allow_private=True)


def test_public_literal_and_allowed_private_pass() -> None:
    check_url_allowed("https://93.184.215.14/feed", allow_private=False)
    check_url_allowed("http://127.0.0.1:8080/feed", allow_private=True)


def test_malformed_url_is_an_invalid_url_error() -> None:
    with pytest.raises(FetchError) as caught:
        check_url_allowed("http://[::1/", allow_private=False)
    assert caught.value.context["kind"] == "invalid_url"
    with pytest.raises(FetchError):
        check_url_allowed("http:///nohost", allow_private=True)
