"""Alert channel settings (email, webhook) and delivery retries, with their cross-field checks.

Parsed from `[[alerts.email]]`, `[[alerts.webhook]]` and `[alerts.delivery]` by config.py; no I/O here.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ALERT_KINDS = ("claimed", "confirmed", "contested", "reverted", "feed_health")
TLS_MODES = ("none", "starttls", "implicit")
WEBHOOK_FORMATS = ("json", "slack", "discord")
# Headers the monitor sets itself; a custom header must not replace them.
RESERVED_HEADERS = {"content-type", "content-length", "host", "idempotency-key", "x-monitor-signature"}
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
UNSAFE_IN_HEADER = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _filter_problems(kinds: tuple[str, ...], timeout_s: float, path: str) -> list[str]:
    problems = [f"{path}.kinds: unknown kind {k!r} (one of {', '.join(ALERT_KINDS)})" for k in kinds
                if k not in ALERT_KINDS]
    if timeout_s <= 0:
        problems.append(f"{path}.timeout_s: must be more than 0")
    return problems


def _secret_problems(env: str | None, file: str | None, path: str, names: tuple[str, str]) -> list[str]:
    if env and file:
        return [f"{path}: set {names[0]} or {names[1]}, not both"]
    return []


def _secret_origin(env: str | None, file: str | None) -> str:
    return f"${env}" if env else f"file {file}"


def _filters(channel: EmailChannel | WebhookChannel) -> str:
    kinds = f", kinds {'/'.join(channel.kinds)}" if channel.kinds else ""
    return kinds + (f", towns {'/'.join(channel.towns)}" if channel.towns else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailChannel:
    """An SMTP destination; the password comes from an environment variable or a file, never the config."""

    name: str
    host: str
    from_addr: str  # key `from` in config.toml
    to: tuple[str, ...]
    port: int = 587
    tls: str = "starttls"  # none | starttls | implicit (SMTPS, usually port 465)
    username: str | None = None
    password_env: str | None = None  # name of the environment variable holding the password
    password_file: str | None = None  # e.g. $CREDENTIALS_DIRECTORY/smtp-password (systemd LoadCredential)
    kinds: tuple[str, ...] = ()  # only these alert kinds; empty means every kind
    towns: tuple[str, ...] = ()  # only these towns (id, name, spelling) or governorates; empty means all
    timeout_s: float = 30.0

    def problems(self, path: str) -> list[str]:
        """Cross-field checks, each prefixed with its key path."""
        problems = _filter_problems(self.kinds, self.timeout_s, path)
        problems += _secret_problems(self.password_env, self.password_file, path, ("password_env", "password_file"))
        if not self.name.strip():
            problems.append(f"{path}.name: must not be empty")
        if not self.host.strip() or UNSAFE_IN_HEADER.search(self.host):
            problems.append(f"{path}.host: must be a host name")
        if not 0 < self.port < 65536:
            problems.append(f"{path}.port: must be between 1 and 65535")
        if self.tls not in TLS_MODES:
            problems.append(f"{path}.tls: must be one of {', '.join(TLS_MODES)}, got {self.tls!r}")
        has_password = bool(self.password_env or self.password_file)
        if has_password and not self.username:
            problems.append(f"{path}.username: required when a password is set")
        if self.username and not has_password:
            problems.append(f"{path}.password_env: set password_env or password_file for the login")
        if self.username and self.tls == "none" and not _is_loopback(self.host):
            problems.append(f"{path}.tls: a login over tls = \"none\" would send the password in clear")
        for key, address in [("from", self.from_addr), *((f"to[{i}]", a) for i, a in enumerate(self.to))]:
            if "@" not in address or UNSAFE_IN_HEADER.search(address):
                problems.append(f"{path}.{key}: not an email address: {address!r}")
        if not self.to:
            problems.append(f"{path}.to: at least one address")
        return problems

    def describe(self) -> str:
        """One line for check-config: where mail goes and how it logs in; never the password itself."""
        login = f"login {self.username} with password from {_secret_origin(self.password_env, self.password_file)}"
        return (f"{self.name}: email via {self.host}:{self.port} tls={self.tls}, "
                f"{login if self.username else 'no login'}, to {', '.join(self.to)}{_filters(self)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookChannel:
    """An HTTP(S) endpoint receiving a JSON POST; the HMAC secret comes from the environment or a file."""

    name: str
    url: str
    secret_env: str | None = None
    secret_file: str | None = None
    format: str = "json"  # json | slack | discord
    headers: dict[str, str] = field(default_factory=dict)  # extra request headers, e.g. Authorization
    kinds: tuple[str, ...] = ()
    towns: tuple[str, ...] = ()
    timeout_s: float = 10.0

    def problems(self, path: str) -> list[str]:
        """Cross-field checks, each prefixed with its key path."""
        problems = _filter_problems(self.kinds, self.timeout_s, path)
        problems += _secret_problems(self.secret_env, self.secret_file, path, ("secret_env", "secret_file"))
        if not self.name.strip():
            problems.append(f"{path}.name: must not be empty")
        parts = urlsplit(self.url)
        try:
            parts.port  # noqa: B018 - raises on a port out of range
        except ValueError:
            parts = urlsplit("")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"{path}.url: must be an http(s) URL")
        if self.format not in WEBHOOK_FORMATS:
            problems.append(f"{path}.format: must be one of {', '.join(WEBHOOK_FORMATS)}, got {self.format!r}")
        for name, value in self.headers.items():
            if not _HEADER_NAME.match(name) or name.lower() in RESERVED_HEADERS:
                problems.append(f"{path}.headers: {name!r} is not a header name the monitor lets you set")
            if UNSAFE_IN_HEADER.search(value):
                problems.append(f"{path}.headers.{name}: must not contain line breaks or control characters")
        return problems

    def describe(self) -> str:
        """One line for check-config: host only (the URL path may be a token), header names, secret origin."""
        parts = urlsplit(self.url)  # netloc may hold user:password, so the host alone
        secret = self.secret_env or self.secret_file
        signed = f"signed, secret from {_secret_origin(self.secret_env, self.secret_file)}" if secret else "unsigned"
        headers = f", headers {', '.join(self.headers)}" if self.headers else ""
        return f"{self.name}: webhook ({self.format}) to {parts.scheme}://{parts.hostname}/…, {signed}{headers}" + (
            _filters(self))


Channel = EmailChannel | WebhookChannel


def channel_name_problems(channels: list[Channel]) -> list[str]:
    """Channel names must be unique across email and webhook: deliveries are recorded per name."""
    names = [channel.name for channel in channels]
    return [f"alerts: channel name {name!r} is used twice" for name in sorted(set(names)) if names.count(name) > 1]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverySettings:
    """Retries of the outbox and the thresholds of feed-health alerts."""

    max_attempts: int = 8  # then the delivery is marked failed (`monitor alerts retry` requeues)
    backoff_base_s: float = 60.0  # first retry after about this long, doubling each attempt
    backoff_cap_s: float = 6 * 3600.0  # longest wait between two attempts
    feed_failing_after_s: float = 6 * 3600.0  # a feed failing this long alerts; 0 disables
    feed_silent_factor: float = 5.0  # silent this many times its usual gap between entries alerts; 0 disables
    feed_silent_min_s: float = 24 * 3600.0  # never call a feed silent sooner than this

    def problems(self, path: str) -> list[str]:
        """Cross-field checks, each prefixed with its key path."""
        problems = []
        if self.max_attempts < 1:
            problems.append(f"{path}.max_attempts: must be at least 1")
        if self.backoff_base_s <= 0:
            problems.append(f"{path}.backoff_base_s: must be more than 0")
        if self.backoff_cap_s < self.backoff_base_s:
            problems.append(f"{path}.backoff_cap_s: must not be less than backoff_base_s")
        if 0 < self.feed_silent_factor < 1:
            problems.append(f"{path}.feed_silent_factor: must be 0 (off) or at least 1")
        return problems
