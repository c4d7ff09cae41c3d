"""A real SMTP server (aiosmtpd) in process on 127.0.0.1, optionally with STARTTLS, implicit TLS and login.

Usage in a test (fixtures exposed through conftest.py):

    smtp_server.port, smtp_server.messages              # a plain server, started
    server = smtp_factory(login=("alice", "s3cret"), starttls=True)   # self-signed cert, trusted via SSL_CERT_FILE
    server = smtp_factory(port=free_port())              # start on a chosen port (e.g. after it was down)
    mails = server.wait_for_messages(1)                  # poll with a deadline, never a fixed sleep
    email.message_from_bytes(mails[0].content)

`tls_cert` writes a self-signed certificate for localhost/127.0.0.1 with the openssl CLI (the `cryptography`
package is not installed here) and points SSL_CERT_FILE at it, so the client trusts it for the test only.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    """One message as the server accepted it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    login: str | None  # the user that logged in, if any


@dataclass(frozen=True, slots=True)
class TLSFiles:
    """A self-signed certificate and its key."""

    cert: Path
    key: Path


def free_port() -> int:
    """A localhost TCP port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Handler:
    def __init__(self, owner: SMTPTestServer) -> None:
        self.owner = owner

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        mail = ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.original_content), login)
        with self.owner.lock:
            self.owner.messages.append(mail)
        return "250 Message accepted"


class SMTPTestServer:
    """An aiosmtpd Controller in its own thread; `messages` collects what it accepted."""

    def __init__(
        self, *, port: int | None = None, login: tuple[str, str] | None = None, starttls: bool = False,
        implicit_tls: bool = False, tls: TLSFiles | None = None,
    ) -> None:
        self.messages: list[ReceivedMail] = []
        self.lock = threading.Lock()
        self.host = "localhost" if (starttls or implicit_tls) else "127.0.0.1"
        self.port = port or free_port()
        kwargs: dict[str, Any] = {}
        context = None
        if starttls or implicit_tls:
            assert tls is not None, "TLS needs the tls_cert fixture"
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(tls.cert, tls.key)
        if starttls:
            kwargs.update(tls_context=context, require_starttls=True)
        if login is not None:
            # aiosmtpd only counts STARTTLS as TLS (and warns about AUTH required without it), so AUTH is
            # enforced only with STARTTLS; the recorded `login` shows whether the client logged in otherwise.
            kwargs.update(authenticator=self._authenticator(login), auth_required=starttls, auth_require_tls=starttls)
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, ssl_context=context if implicit_tls else None,
            server_hostname="localhost", **kwargs,
        )

    @staticmethod
    def _authenticator(login: tuple[str, str]) -> Callable[..., AuthResult]:
        def check(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
            ok = isinstance(auth_data, LoginPassword) and (
                auth_data.login.decode(), auth_data.password.decode()) == login
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        return check

    def start(self) -> SMTPTestServer:
        """Start serving (returns once the server answers)."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._controller.stop()

    def wait_for_messages(self, count: int, timeout: float = 5.0) -> list[ReceivedMail]:
        """Poll until `count` messages arrived; AssertionError at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                seen = list(self.messages)
            if len(seen) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.01)  # a polling step, not a wait for an outcome
        assert len(seen) >= count, f"expected {count} messages, got {len(seen)}"
        return seen


def make_self_signed(folder: Path) -> TLSFiles:
    """Write a self-signed certificate valid for localhost and 127.0.0.1, using the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    files = TLSFiles(folder / "cert.pem", folder / "key.pem")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(files.key), "-out", str(files.cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )
    return files


@pytest.fixture
def tls_cert(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> TLSFiles:
    """A fresh test certificate, trusted by ssl.create_default_context() for this test (SSL_CERT_FILE)."""
    files = make_self_signed(tmp_path_factory.mktemp("tls"))
    monkeypatch.setenv("SSL_CERT_FILE", str(files.cert))
    return files


@pytest.fixture
def smtp_factory(request: pytest.FixtureRequest) -> Iterator[Callable[..., SMTPTestServer]]:
    """Start SMTP servers with options (login, starttls, implicit_tls, port); all stopped after the test."""
    started: list[SMTPTestServer] = []

    def start(**options: Any) -> SMTPTestServer:
        if options.get("starttls") or options.get("implicit_tls"):
            options.setdefault("tls", request.getfixturevalue("tls_cert"))
        server = SMTPTestServer(**options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def smtp_server(smtp_factory: Callable[..., SMTPTestServer]) -> SMTPTestServer:
    """A started plain SMTP server on 127.0.0.1, no login."""
    return smtp_factory()
