"""The network edge: one shared httpx client and `fetch_url`, a bounded conditional GET that never raises.

Every expected outcome (304, HTTP error status, timeout, refused URL, body over the cap, redirect loop) is a
`FetchResult`, so the pipeline can record it. Bounds, all from `HttpSettings`:
- connect/read timeouts per network operation, and a total deadline per fetch checked between body chunks,
  so a server dripping one byte at a time is cut off after at most `total_timeout + read_timeout`;
- the body cap applies to decoded bytes (decompression is done here, in bounded steps: gzip bombs stop at
  the cap without inflating further);
- redirects are followed by hand, at most `max_redirects`, each hop checked by `check_url_allowed`;
- at most `max_connections` requests in flight per client and `max_per_host` per host:port, enforced in the
  transport so every thread sharing the client (feeds, articles, webhooks) is counted.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import cast

import httpx

from monitor import USER_AGENT
from monitor.errors import FetchError
from monitor.urls import check_url_allowed

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, "
    "text/xml;q=0.8, text/html;q=0.5, */*;q=0.1"
)
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Limits and identity of the HTTP client (built from config.toml `[http]`)."""

    connect_timeout: float = 10.0  # seconds to open a TCP/TLS connection
    read_timeout: float = 20.0  # seconds of silence tolerated between two reads
    total_timeout: float = 60.0  # wall-clock bound on one fetch, redirects and body included
    max_redirects: int = 5
    max_body_bytes: int = 5_000_000  # decoded bytes; larger bodies are cut off and recorded as too_large
    max_connections: int = 10  # requests in flight through one client
    max_per_host: int = 2  # requests in flight to one host:port
    user_agent: str = USER_AGENT
    allow_private: bool = False  # fetch loopback/private/link-local hosts (tests and local setups only)
    proxy: str | None = None  # environment proxy variables are ignored; set a proxy here explicitly


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one fetch: "ok", "not_modified" or "error" (then `error_kind` and `error` say why).

    error_kind is one of: refused, invalid_url, connect, timeout, too_large, http_status, redirect_loop,
    too_many_redirects, decode, protocol, network. `bytes` counts bytes received on the wire (before
    decompression); `len(body)` is the decoded size.
    """

    outcome: str
    status: int | None
    url: str
    final_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    elapsed_ms: int = 0
    error_kind: str | None = None
    error: str | None = None
    retry_after: str | None = None
    bytes: int = 0

    @property
    def etag(self) -> str | None:
        """The response's ETag, to send back as If-None-Match."""
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        """The response's Last-Modified, to send back as If-Modified-Since."""
        return self.headers.get("last-modified")

    @property
    def cache_control(self) -> str | None:
        """The response's Cache-Control header (for the schedule's max-age)."""
        return self.headers.get("cache-control")


class _ReleasingStream(httpx.SyncByteStream):
    """Wraps a response stream so the concurrency slots are given back when the response is closed."""

    def __init__(self, inner: httpx.SyncByteStream, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release = release

    def __iter__(self) -> Iterator[bytes]:
        yield from self._inner

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._release()


class HostLimitedTransport(httpx.BaseTransport):
    """An httpx transport that holds a global slot and a per-host:port slot for each response's lifetime."""

    def __init__(
        self, inner: httpx.BaseTransport, *, max_total: int, max_per_host: int, wait_s: float
    ) -> None:
        self._inner = inner
        self._total = threading.BoundedSemaphore(max_total)
        self._max_per_host = max_per_host
        self._per_host: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self._wait_s = wait_s

    def _host_slot(self, request: httpx.Request) -> threading.BoundedSemaphore:
        key = f"{request.url.host}:{request.url.port or request.url.scheme}"
        with self._lock:
            return self._per_host.setdefault(key, threading.BoundedSemaphore(self._max_per_host))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Wait (bounded) for a host slot and a global slot, then send through the inner transport."""
        host = self._host_slot(request)
        # The wait counts against the fetch's own deadline: fetch_url sets the pool timeout to the time left.
        wait_s = request.extensions.get("timeout", {}).get("pool") or self._wait_s
        deadline = time.monotonic() + wait_s
        if not host.acquire(timeout=wait_s):
            raise httpx.PoolTimeout(f"no free slot for host {request.url.host}", request=request)
        if not self._total.acquire(timeout=max(0.0, deadline - time.monotonic())):
            host.release()
            raise httpx.PoolTimeout("no free global connection slot", request=request)
        once = threading.Lock()

        def release() -> None:
            if once.acquire(blocking=False):  # close() may run twice; give the slots back only once
                self._total.release()
                host.release()

        try:
            response = self._inner.handle_request(request)
        except BaseException:
            release()
            raise
        stream = _ReleasingStream(cast(httpx.SyncByteStream, response.stream), release)
        return httpx.Response(
            response.status_code, headers=response.headers, stream=stream, extensions=response.extensions
        )

    def close(self) -> None:
        self._inner.close()


def build_client(settings: HttpSettings) -> httpx.Client:
    """The one shared client: explicit timeouts, project User-Agent, feed Accept, gzip/deflate, limits."""
    limits = httpx.Limits(
        max_connections=settings.max_connections, max_keepalive_connections=settings.max_connections
    )
    inner = httpx.HTTPTransport(limits=limits, proxy=settings.proxy)
    transport = HostLimitedTransport(
        inner,
        max_total=settings.max_connections,
        max_per_host=settings.max_per_host,
        wait_s=settings.total_timeout,
    )
    return httpx.Client(
        transport=transport,
        timeout=_timeout(settings, settings.total_timeout),
        follow_redirects=False,  # fetch_url follows by hand so every hop passes check_url_allowed
        trust_env=False,
        headers={
            "User-Agent": settings.user_agent,
            "Accept": FEED_ACCEPT,
            "Accept-Encoding": "gzip, deflate",
        },
    )


def _timeout(settings: HttpSettings, remaining: float) -> httpx.Timeout:
    remaining = max(remaining, 0.001)
    return httpx.Timeout(
        connect=min(settings.connect_timeout, remaining),
        read=min(settings.read_timeout, remaining),
        write=min(settings.read_timeout, remaining),
        pool=remaining,
    )


class _Failure(Exception):
    """Internal: ends a fetch with an error kind; turned into a FetchResult by fetch_url."""

    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


class _BodyDecoder:
    """Decodes gzip/deflate/identity content in bounded steps, so a bomb never inflates past the cap."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        if encoding in ("", "identity"):
            self._zlib = None
        elif encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            raise _Failure("decode", f"unsupported Content-Encoding {encoding!r}")
        self._started = False

    def feed(self, data: bytes, limit: int) -> bytes:
        """Decode `data`, producing at most `limit` bytes (any input left over stays in zlib's tail)."""
        if self._zlib is None:
            return data
        try:
            out = self._zlib.decompress(data, limit)
        except zlib.error as e:
            if self._encoding != "deflate" or self._started:
                raise _Failure("decode", f"corrupt {self._encoding} body: {e}") from e
            # Some servers send raw deflate without the zlib header, as httpx also tolerates.
            self._started = True
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.feed(data, limit)
        self._started = True
        return out


def _read_body(response: httpx.Response, settings: HttpSettings, deadline: float) -> tuple[bytes, int]:
    """Stream the body, stopping at the decoded-size cap and at the total deadline; returns (body, wire)."""
    cap = settings.max_body_bytes
    encoding = response.headers.get("content-encoding", "").strip().lower()
    declared = response.headers.get("content-length", "")
    if not encoding and declared.isascii() and declared.isdigit() and int(declared) > cap:
        raise _Failure(
            "too_large", f"Content-Length {declared} over the {cap}-byte cap", response.status_code
        )
    decoder = _BodyDecoder(encoding)
    chunks: list[bytes] = []
    size = wire = 0
    for raw in response.iter_raw():
        wire += len(raw)
        data = decoder.feed(raw, cap - size + 1)
        size += len(data)
        if size > cap:
            raise _Failure("too_large", f"body over the {cap}-byte cap (decoded)", response.status_code)
        chunks.append(data)
        if time.monotonic() > deadline:
            raise _Failure(
                "timeout", f"total deadline {settings.total_timeout}s exceeded", response.status_code
            )
    return b"".join(chunks), wire


def _send_following(
    client: httpx.Client, request: httpx.Request, settings: HttpSettings, deadline: float, trail: list[str]
) -> httpx.Response:
    """Send `request`, following redirects by hand; returns the final (unread, open) response."""
    for _hop in range(settings.max_redirects + 1):
        try:
            check_url_allowed(str(request.url), settings.allow_private)
        except FetchError as e:
            raise _Failure(str(e.context.get("kind", "refused")), e.message) from e
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Failure("timeout", f"total deadline {settings.total_timeout}s exceeded")
        request.extensions["timeout"] = _timeout(settings, remaining).as_dict()
        response = client.send(request, stream=True)
        if response.next_request is None:
            return response
        response.close()
        request = response.next_request
        target = str(request.url)
        if target in trail:
            trail.append(target)
            raise _Failure("redirect_loop", f"redirect loop back to {target}", response.status_code)
        trail.append(target)
    raise _Failure("too_many_redirects", f"more than {settings.max_redirects} redirects")


def _kind_of(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.ConnectError):
        return "connect"
    if isinstance(error, httpx.DecodingError):
        return "decode"
    if isinstance(error, httpx.ProtocolError):
        return "protocol"
    if isinstance(error, httpx.UnsupportedProtocol):
        return "invalid_url"
    return "network"


def fetch_url(
    client: httpx.Client,
    url: str,
    *,
    settings: HttpSettings,
    etag: str | None = None,
    last_modified: str | None = None,
    accept: str = FEED_ACCEPT,
) -> FetchResult:
    """Conditional GET of `url` within every bound of `settings`; never raises for network outcomes."""
    started = time.monotonic()
    trail = [url]
    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    response: httpx.Response | None = None
    try:
        try:
            request = client.build_request("GET", url, headers=headers)
            response = _send_following(client, request, settings, started + settings.total_timeout, trail)
            return _finish(response, url, trail[-1], settings, started)
        except (httpx.InvalidURL, UnicodeError) as e:  # neither is an HTTPError; idna raises the latter
            raise _Failure("invalid_url", f"{type(e).__name__}: {e}") from e
        except httpx.HTTPError as e:
            message = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            raise _Failure(
                _kind_of(e), message, response.status_code if response is not None else None
            ) from e
    except _Failure as e:
        return _error_result(url, trail[-1], started, e, response)
    finally:
        if response is not None:
            response.close()


def _error_result(
    url: str, final_url: str, started: float, failure: _Failure, response: httpx.Response | None
) -> FetchResult:
    headers = {k.lower(): v for k, v in response.headers.items()} if response is not None else {}
    return FetchResult(
        "error", failure.status, url, final_url, headers, b"", _ms_since(started), failure.kind, str(failure),
        headers.get("retry-after"),
    )  # fmt: skip


def _finish(
    response: httpx.Response, url: str, final_url: str, settings: HttpSettings, started: float
) -> FetchResult:
    """Turn the final response into a result, reading the body only for a 2xx."""
    headers = {k.lower(): v for k, v in response.headers.items()}
    status = response.status_code
    retry_after = headers.get("retry-after")
    if status == 304:
        return FetchResult(
            "not_modified", status, url, final_url, headers, b"", _ms_since(started), retry_after=retry_after
        )
    if not 200 <= status < 300:
        raise _Failure("http_status", f"HTTP {status} {response.reason_phrase}".strip(), status)
    body, wire = _read_body(response, settings, started + settings.total_timeout)
    return FetchResult(
        "ok", status, url, final_url, headers, body, _ms_since(started), retry_after=retry_after, bytes=wire
    )


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
