"""A real, scriptable HTTP server on 127.0.0.1 for tests and benchmarks (no network, no mocks).

Usage in a test (the `http_server` fixture is exposed through conftest.py):

    http_server.route("/feed.xml", body=Path("tests/data/feeds/guardian.rss"), etag='"v1"')
    http_server.route("/flaky", status=[500, 200], body="ok")     # a sequence of statuses, last one repeats
    http_server.route("/hang", hang=True)                          # never answers until the server stops
    http_server.route("/drip", body=b"x" * 100, chunk_delay=0.5)   # one byte every 0.5 s
    http_server.route("/bomb", body=big, gzip=True)                # body sent Content-Encoding: gzip
    http_server.route("/huge", body=b"x" * 50_000_000, chunked=True) # no Content-Length: the client must count
    url = http_server.url("/feed.xml")
    http_server.wait_for_requests(1, path="/hook")                 # poll with a deadline, never a fixed sleep

Outside pytest (benchmarks): `with LocalHTTPServer() as server: ...`. `stop()` closes open keep-alive
connections too, so a stopped server is really down; `LocalHTTPServer(port=old.port)` brings it back up.
Every request is recorded (method, path, headers, body), POSTs included, and the server counts how many
requests are being answered at the same moment (`max_in_flight`). It also answers absolute-form targets
(`GET http://93.184.215.14/feed`), so a client configured with it as proxy can reach "public" URLs offline.
"""

from __future__ import annotations

import contextlib
import email.utils
import gzip as gzip_module
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the server received it; header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    """What a custom `handler` callable returns."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Route:
    """How one path answers; `statuses` is consumed one per request, the last one repeats."""

    body: bytes
    statuses: list[int]
    headers: dict[str, str]
    etag: str | None = None
    last_modified: str | None = None
    delay: float | None = None
    chunk_delay: float | None = None
    redirect_to: str | None = None
    handler: Callable[[RecordedRequest], Reply] | None = None
    hang: bool = False
    chunked: bool = False
    hits: int = 0

    def next_status(self) -> int:
        status = self.statuses[min(self.hits, len(self.statuses) - 1)]
        self.hits += 1
        return status


def _as_bytes(body: bytes | str | Path) -> bytes:
    if isinstance(body, Path):
        return body.read_bytes()
    return body.encode("utf-8") if isinstance(body, str) else body


def _not_modified(route: Route, headers: dict[str, str]) -> bool:
    """Apply the conditional-GET rules: If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)."""
    if route.etag is not None and "if-none-match" in headers:
        tags = [tag.strip() for tag in headers["if-none-match"].split(",")]
        return route.etag in tags or "*" in tags
    if route.last_modified is not None and "if-modified-since" in headers:
        try:
            since = email.utils.parsedate_to_datetime(headers["if-modified-since"])
            modified = email.utils.parsedate_to_datetime(route.last_modified)
        except (TypeError, ValueError):
            return False
        return modified <= since
    return False


class _Handler(BaseHTTPRequestHandler):
    """Answers every method from the owning server's routes."""

    protocol_version = "HTTP/1.1"  # keep-alive, so polling benchmarks do not pay a connect per request
    timeout = 30  # idle keep-alive connections die on their own
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: _Server
    is_counted = False

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def setup(self) -> None:
        super().setup()
        self.server.owner.track(self.connection, True)

    def finish(self) -> None:
        self.server.owner.track(self.connection, False)
        super().finish()

    def do_GET(self) -> None:
        self.server.owner.answer(self)

    do_POST = do_PUT = do_HEAD = do_DELETE = do_PATCH = do_GET


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung handler must never block interpreter exit or server_close
    owner: LocalHTTPServer


class LocalHTTPServer:
    """A ThreadingHTTPServer on 127.0.0.1:0 in a daemon thread, scriptable per path."""

    def __init__(self, port: int = 0) -> None:
        self._routes: dict[str, Route] = {}
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._server = _Server(("127.0.0.1", port), _Handler)  # pass the old port to come back "up"
        self._server.owner = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="test-http", daemon=True
        )

    def start(self) -> LocalHTTPServer:
        """Start serving in a daemon thread; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hung handlers, stop serving and close the socket; bounded in time."""
        self._stopping.set()
        if self._thread.is_alive():  # shutdown() waits forever on a server that never started
            self._server.shutdown()
        self._server.server_close()
        with self._lock:  # keep-alive connections would otherwise go on being answered: really go down
            open_connections = list(self._connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def track(self, connection: socket.socket, is_open: bool) -> None:
        """Remember open client connections so stop() can close them."""
        with self._lock:
            if is_open:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def url(self, path: str = "/") -> str:
        """The absolute URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path if path.startswith('/') else '/' + path}"

    def route(
        self,
        path: str,
        body: bytes | str | Path = b"",
        status: int | list[int] = 200,
        headers: dict[str, str] | None = None,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        delay: float | None = None,
        chunk_delay: float | None = None,
        redirect_to: str | None = None,
        handler: Callable[[RecordedRequest], Reply] | None = None,
        hang: bool = False,
        gzip: bool = False,
        chunked: bool = False,
    ) -> None:
        """Script how `path` answers (replaces any earlier route for the same path)."""
        payload = _as_bytes(body)
        extra = dict(headers or {})
        if gzip:
            payload = gzip_module.compress(payload, compresslevel=6)
            extra["Content-Encoding"] = "gzip"
        statuses = list(status) if isinstance(status, list) else [status]
        if redirect_to is not None and status == 200:
            statuses = [302]
        with self._lock:
            self._routes[path] = Route(
                payload,
                statuses,
                extra,
                etag,
                last_modified,
                delay,
                chunk_delay,
                redirect_to,
                handler,
                hang,
                chunked,
            )

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """Every request recorded for exactly `path` (query string ignored)."""
        with self._lock:
            return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def wait_for_requests(
        self, count: int, *, path: str | None = None, timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Poll until `count` requests (to `path`, if given) arrived; raise AssertionError at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                seen = [r for r in self.requests if path is None or r.path.split("?", 1)[0] == path]
            if len(seen) >= count or time.monotonic() > deadline:
                break
            self._stopping.wait(0.01)
        assert len(seen) >= count, f"expected {count} requests to {path or 'any path'}, got {len(seen)}"
        return seen

    def reset_counters(self) -> None:
        """Forget recorded requests and the in-flight maximum (routes are kept)."""
        with self._lock:
            self.requests.clear()
            self.max_in_flight = 0

    # -- request handling (runs in the server's handler threads) ------------------------------------

    def answer(self, handler: _Handler) -> None:
        """Record the request, then answer it from its route."""
        request = self._record(handler)
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            handler.is_counted = True
            route = self._routes.get(request.path.split("?", 1)[0])
            status = route.next_status() if route else 404
        try:
            self._respond(handler, request, route, status)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client gave up (timeout, body cap): expected in tests
        finally:
            self._leave(handler)

    def _leave(self, handler: _Handler) -> None:
        # Called before the response is written: once the client has it, it may send its next request,
        # which must not find this one still counted.
        with self._lock:
            if handler.is_counted:
                handler.is_counted = False
                self.in_flight -= 1

    def _record(self, handler: _Handler) -> RecordedRequest:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in handler.headers.items()}
        request = RecordedRequest(handler.command, _origin_form(handler.path), headers, body)
        with self._lock:
            self.requests.append(request)
        return request

    def _respond(self, handler: _Handler, request: RecordedRequest, route: Route | None, status: int) -> None:
        if route is None:
            self._send(handler, Reply(404, b"not found", {"Content-Type": "text/plain"}), None)
            return
        if route.hang:
            self._stopping.wait()  # holds the connection open, sending nothing, until the server stops
            handler.close_connection = True
            return
        if route.delay:
            self._stopping.wait(route.delay)
        if route.handler is not None:
            self._send(handler, route.handler(request), route.chunk_delay)
            return
        headers = dict(route.headers)
        if route.etag is not None:
            headers["ETag"] = route.etag
        if route.last_modified is not None:
            headers["Last-Modified"] = route.last_modified
        if route.redirect_to is not None and 300 <= status < 400:
            headers["Location"] = route.redirect_to
            self._send(handler, Reply(status, b"", headers), None)
        elif status == 200 and _not_modified(route, request.headers):
            headers.pop("Content-Encoding", None)
            self._send(handler, Reply(304, b"", headers), None)
        elif route.chunked:
            self._send_chunked(handler, Reply(status, route.body, headers))
        else:
            self._send(handler, Reply(status, route.body, headers), route.chunk_delay)

    def _send_chunked(self, handler: _Handler, reply: Reply) -> None:
        """Send with Transfer-Encoding: chunked (no Content-Length), 64 KiB at a time."""
        self._leave(handler)
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        view = memoryview(reply.body)
        for start in range(0, len(view), 65536):
            piece = view[start : start + 65536]
            handler.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")

    def _send(self, handler: _Handler, reply: Reply, chunk_delay: float | None) -> None:
        self._leave(handler)
        handler.send_response(reply.status)
        names = {name.lower() for name in reply.headers}
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if "content-type" not in names and reply.body:
            handler.send_header("Content-Type", "application/octet-stream")
        if reply.status != 304 and "content-length" not in names:
            handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        if handler.command == "HEAD" or reply.status == 304:
            return
        if not chunk_delay:
            handler.wfile.write(reply.body)
            return
        for byte in _one_byte_at_a_time(reply.body):
            if self._stopping.wait(chunk_delay):
                handler.close_connection = True
                return
            handler.wfile.write(byte)
            handler.wfile.flush()


def _origin_form(target: str) -> str:
    """Reduce an absolute-form target (the server used as a proxy) to its path and query."""
    if not target.startswith(("http://", "https://")):
        return target
    parts = urlsplit(target)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _one_byte_at_a_time(body: bytes) -> Iterator[bytes]:
    for index in range(len(body)):
        yield body[index : index + 1]


@pytest.fixture
def http_server() -> Iterator[LocalHTTPServer]:
    """A started LocalHTTPServer, stopped (and its hung handlers released) after the test."""
    server = LocalHTTPServer().start()
    try:
        yield server
    finally:
        server.stop()
