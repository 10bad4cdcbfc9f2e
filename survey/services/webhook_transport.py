"""One webhook POST, sent only to a public address (no SSRF, no DNS rebinding).

The URL's host is resolved once and every address it resolves to must be
public (:func:`is_public`), else nothing is sent (:class:`Refused`): a name
that points at a private, loopback, link-local, shared or reserved address
cannot make the server call into its own network. The connection then goes to
one of the addresses just checked (never to a second lookup's), with the URL's
host in the ``Host`` header and, for https, as the TLS server name (SNI) that
the certificate is verified against. Redirects are not followed and no proxy
is used. ``allow_loopback`` (``NEGOSCOPE_WEBHOOK_ALLOW_HTTP_LOOPBACK``: tests,
development) lets loopback addresses through too, nothing else.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import certifi

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: IPv6 prefixes that carry an IPv4 address a gateway would reach (NAT64, 6to4 via ``sixtofour``).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: What the admin page records for a refused delivery (the address itself goes to the log only:
#: an organization's admin learns nothing of the server's network from it).
REFUSED = (
    "Refused, nothing sent: {host} resolves to an address that is not public (private, "
    "loopback, link-local or reserved); webhooks are sent to public addresses only"
)
#: At most this many of a name's (checked) addresses are tried in turn.
MAX_ADDRESSES = 3


class Refused(Exception):
    """The host resolves to an address that is not public: nothing was sent."""


@dataclass(frozen=True)
class Sent:
    """What one POST did: the response status, or an error; ``refused`` if never sent."""

    status: int | None
    error: str
    duration_ms: int
    refused: bool = False


def is_public(address: IPAddress, *, allow_loopback: bool = False) -> bool:
    """Whether a connection to ``address`` may be made (a global unicast address).

    An IPv4 address inside an IPv6 one (mapped, 6to4, NAT64) must be public too.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped, allow_loopback=allow_loopback)
        inner = address.sixtofour
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None and not is_public(inner):
            return False
    if allow_loopback and address.is_loopback:
        return True
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_link_local
        or address.is_loopback
    )


def resolve(host: str, port: int, *, allow_loopback: bool = False) -> list[tuple[int, Any]]:
    """``(family, socket address)`` for each address of ``host``, all checked public.

    Raises :class:`Refused` if any of them is not public (one bad address is
    enough: which one a connection would use is not ours to choose), and
    ``socket.gaierror`` if the name does not resolve.
    """
    found: list[tuple[int, Any]] = []
    for family, _type, _proto, _name, sockaddr in socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM
    ):
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if not is_public(address, allow_loopback=allow_loopback):
            raise Refused(f"{host} resolves to {address}, which is not a public address")
        if (family, sockaddr) not in found:
            found.append((family, sockaddr))
    if not found:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} has no IPv4 or IPv6 address")
    return found


def open_socket(family: int, sockaddr: Any, timeout: float) -> socket.socket:
    """A TCP connection to exactly ``sockaddr`` (no name lookup)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """Certificates verified against certifi's CAs and the URL's host name."""
    return ssl.create_default_context(cafile=certifi.where())


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a checked address; ``host`` is used for the Host header only."""

    def __init__(
        self,
        host: str,
        port: int,
        target: tuple[int, Any],
        read_timeout: float,
        connect_timeout: float,
    ) -> None:
        super().__init__(host, port, timeout=read_timeout)
        self._target, self._connect_timeout = target, connect_timeout

    def _pinned_socket(self) -> socket.socket:
        sock = open_socket(*self._target, self._connect_timeout)
        sock.settimeout(self.timeout)
        return sock

    def connect(self) -> None:
        self.sock = self._pinned_socket()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """As :class:`_PinnedHTTPConnection`, over TLS with SNI and verification for ``host``."""

    default_port = http.client.HTTPS_PORT

    def connect(self) -> None:
        self.sock = tls_context().wrap_socket(self._pinned_socket(), server_hostname=self.host)


def post(
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    timeout: tuple[float, float],
    allow_loopback: bool = False,
) -> Sent:
    """POST ``body`` to ``url`` if its host is public; never raises for network trouble."""
    started = time.monotonic()
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        targets = resolve(host, port, allow_loopback=allow_loopback)
    except Refused as refusal:
        log.warning("webhook to %s refused: %s", url, refusal)
        return Sent(None, REFUSED.format(host=host), _ms(started), refused=True)
    except (socket.gaierror, UnicodeError):
        return Sent(None, f"the host name {host} could not be resolved", _ms(started))
    connect_timeout, read_timeout = timeout
    kind = _PinnedHTTPSConnection if secure else _PinnedHTTPConnection
    error = ""
    for target in targets[:MAX_ADDRESSES]:
        connection = kind(host, port, target, read_timeout, connect_timeout)
        try:
            try:
                connection.connect()
            except ssl.SSLCertVerificationError:
                return Sent(
                    None, f"the receiver's TLS certificate is not valid for {host}", _ms(started)
                )
            except OSError as problem:  # this address does not answer: try the next one
                error = f"{type(problem).__name__}: no answer from the receiver"
                continue
            # once connected, never sent to a second address (no duplicate message)
            try:
                connection.request("POST", path, body=body, headers=dict(headers))
                return Sent(connection.getresponse().status, "", _ms(started))
            except (OSError, http.client.HTTPException) as problem:
                return Sent(
                    None, f"{type(problem).__name__}: no answer from the receiver", _ms(started)
                )
        finally:
            connection.close()
    return Sent(None, error, _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
