"""URL identity and URL safety: `normalize_url` (pure) and `check_url_allowed` (resolves the host, no fetch).

Refusal policy: only http(s) URLs are fetched, and a host that resolves to a loopback, private, link-local
(cloud metadata 169.254.169.254), multicast, reserved or unspecified address is refused unless
`allow_private`. The host is resolved here and again by the HTTP client, so a DNS server that changes its
answer between the two (DNS rebinding) is not covered; the check stops feeds from pointing the daemon at
internal services by name or address, which is the threat a news feed poses.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import unquote, urlsplit, urlunsplit

from monitor.errors import FetchError

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": "80", "https": "443"}
# Click-tracking parameters added by mail, ad and social platforms; they never select content.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "mc_cid",
        "mc_eid", "_ga", "_gl", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv", "_hsenc",
        "_hsmi", "hsctatracking", "__s", "ncid", "cmpid", "ocid", "sr_share", "at_medium", "at_campaign",
    }
)  # fmt: skip


def _is_tracking(segment: str) -> bool:
    key = unquote(segment.split("=", 1)[0]).strip().lower()
    return key.startswith("utm_") or key in TRACKING_PARAMS


def _normalize_netloc(netloc: str, scheme: str) -> str:
    """Lower-case the host and drop the scheme's default port, keeping any user info as written."""
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("[") and "]" in hostport:
        close = hostport.index("]") + 1
        host, port = hostport[:close], hostport[close:].removeprefix(":")
    else:
        host, colon, port = hostport.rpartition(":")
        if not colon or not (port.isascii() and port.isdigit()):
            host, port = hostport, ""
    host = host.lower().rstrip(".") or host.lower()
    if not port or port == DEFAULT_PORTS[scheme]:
        return f"{userinfo}{at}{host}"
    return f"{userinfo}{at}{host}:{port}"


def normalize_url(url: str) -> str:
    """Return the canonical form of an http(s) URL used as article identity; other text comes back stripped.

    Scheme and host are lower-cased, the default port, the fragment and tracking parameters (utm_*, fbclid,
    gclid, mc_cid, ...) are dropped, remaining query parameters are sorted (kept byte for byte). Never raises.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:  # unbalanced IPv6 brackets, netloc that NFKC-normalises into delimiters
        return text
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES or not parts.netloc:
        return text
    netloc = _normalize_netloc(parts.netloc, scheme)
    segments = [s for s in parts.query.split("&") if s and not _is_tracking(s)]
    query = "&".join(sorted(segments))
    path = parts.path or "/"
    result = urlunsplit((scheme, netloc, path, query, ""))
    try:  # the rebuilt URL must read back the same, or normalising twice could differ
        return result if urlsplit(result).netloc == netloc else text
    except ValueError:
        return text


def _refuse(url: str, reason: str, hint: str, kind: str = "refused") -> FetchError:
    return FetchError(f"URL refused: {reason}", url=url, kind=kind, hint=hint)


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified or address.is_link_local
    )


def _resolve(url: str, host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.split("%", 1)[0])]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        raise FetchError(
            f"cannot resolve host {host!r}: {e}",
            url=url,
            kind="connect",
            hint="check the URL and the network",
        ) from e
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_url_allowed(url: str, allow_private: bool) -> None:
    """Raise FetchError (context: url, kind) unless `url` is http(s) and, without allow_private, public."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as e:
        raise _refuse(url, f"malformed URL ({e})", "fix the URL", kind="invalid_url") from e
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise _refuse(
            url, f"scheme {scheme or '(none)'!r} is not http(s)", "only http:// and https:// are fetched"
        )
    host = parts.hostname
    if not host:
        raise _refuse(url, "no host", "fix the URL", kind="invalid_url")
    if allow_private:
        return
    for address in _resolve(url, host, port or int(DEFAULT_PORTS[scheme])):
        if not _is_public(address):
            raise _refuse(
                url,
                f"host {host} resolves to non-public address {address}",
                "set http.allow_private = true only if you trust every configured source",
            )
