"""The one SSRF guard for every outbound request Frontdesk makes (RELIABILITY.md rule 7).

Webhooks, integrations, an image proxy, a mailbox "test connection": every fetch to an address
that an administrator or a customer typed goes through ``guarded_request``. It

1. accepts only ``http``/``https`` URLs without user info;
2. resolves the host once and refuses the request when ANY resolved address is not a public
   unicast address (private, loopback, link-local — cloud metadata at 169.254.169.254 —,
   multicast, reserved, unspecified, shared, IPv4-mapped IPv6 of any of those), unless the
   target is explicitly allow-listed;
3. connects to the address it checked (the resolved IP is pinned: a DNS answer that changes
   between the check and the connection — DNS rebinding — cannot redirect the request), while
   sending the original ``Host`` and, for https, verifying the certificate for the original name;
4. never follows redirects (a 3xx is an error: a public endpoint could bounce us inside);
5. has a timeout and reads at most ``max_bytes`` of the answer.

Allow-listing, for back-offices on the company's own network and for tests: the setting
``FRONTDESK_WEBHOOK_ALLOW_PRIVATE`` (host names, addresses or networks such as ``10.0.0.0/8``)
or ``allow_private=True`` from the caller (a per-endpoint flag an administrator sets).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from frontdesk.core.errors import DomainError

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 1024 * 1024


class BlockedDestination(DomainError):
    """The URL is refused before any byte is sent (scheme, host, or a non-public address)."""

    code = "blocked_destination"
    status = 400


class OutboundError(DomainError):
    """The request was sent (or attempted) and failed: connection, timeout, redirect, size."""

    code = "outbound_failed"
    status = 502


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    ip: str


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str]


def _allow_list() -> list:
    entries = getattr(settings, "FRONTDESK_WEBHOOK_ALLOW_PRIVATE", []) or []
    if isinstance(entries, str):
        entries = [part.strip() for part in entries.split(",")]
    return [entry for entry in entries if entry]


def _allow_listed(host: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    for entry in _allow_list():
        if entry.lower() == host.lower():
            return True
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def is_public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A global unicast address: nothing private, loopback, link-local, multicast, reserved."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_multicast or ip.is_private or ip.is_loopback or ip.is_link_local
        or ip.is_reserved or ip.is_unspecified
    )


def resolve_target(url: str, *, allow_private: bool = False) -> Target:
    """Check ``url`` and resolve it to the one address the request will be sent to.

    Raises ``BlockedDestination`` for anything not allowed; never sends anything.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BlockedDestination("Only http and https URLs are allowed.")
    if parts.username or parts.password:
        raise BlockedDestination("URLs with a user name or password are not allowed.")
    host = parts.hostname
    if not host:
        raise BlockedDestination("The URL has no host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise BlockedDestination("The URL's port is not valid.") from exc
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BlockedDestination(f"The host {host!r} cannot be resolved.") from exc
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise BlockedDestination(f"The host {host!r} has no address.")
    # Every address must pass: otherwise a name with one public and one private record would
    # pass the check and could be connected to the private one.
    for ip in addresses:
        if not is_public_address(ip) and not (allow_private or _allow_listed(host, ip)):
            raise BlockedDestination(f"{host} resolves to a non-public address ({ip}); refused.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=parts.scheme, host=host, port=port, path=path, ip=str(addresses[0]))


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the pinned IP but verifies the certificate (and SNI) for the real host."""

    def __init__(self, ip: str, server_name: str, port: int, timeout: float):
        super().__init__(ip, port, timeout=timeout, context=ssl.create_default_context())
        self._server_name = server_name

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)


def guarded_request(
    *, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT, allow_private: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
) -> Response:
    """Send one request through the guard. Returns any non-redirect response (the caller judges
    the status); raises ``BlockedDestination`` before sending, ``OutboundError`` after."""
    target = resolve_target(url, allow_private=allow_private)
    if target.scheme == "https":
        connection = _PinnedHTTPSConnection(target.ip, target.host, target.port, timeout)
    else:
        connection = http.client.HTTPConnection(target.ip, target.port, timeout=timeout)
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if ":" in target.host and not target.host.startswith("["):  # an IPv6 literal
        host_header = f"[{target.host}]" if target.port == default_port else f"[{target.host}]:{target.port}"
    send_headers = {"Host": host_header, "User-Agent": "Frontdesk", "Connection": "close", **(headers or {})}
    try:
        connection.request(method, target.path, body=body, headers=send_headers)
        response = connection.getresponse()
        data = response.read(max_bytes + 1)
    except (OSError, http.client.HTTPException) as exc:
        raise OutboundError(f"{target.host}: {exc.__class__.__name__}: {exc}") from exc
    finally:
        connection.close()
    if 300 <= response.status < 400:
        raise OutboundError(f"{target.host} answered {response.status} (a redirect): redirects are not followed.")
    if len(data) > max_bytes:
        raise OutboundError(f"{target.host} answered more than {max_bytes} bytes.")
    return Response(status=response.status, body=data, headers={k.lower(): v for k, v in response.getheaders()})
