"""Every failure, classified once: what it means, and whether another attempt can help.

Both CRMs' clients, their token endpoints, the readers and the writers hand what went wrong to
these functions, so a refused connection or a 503 means the same thing everywhere:

| failure                                   | error                | retry_class |
|-------------------------------------------|----------------------|-------------|
| name does not resolve (DNS)               | `Unreachable` dns    | permanent   |
| certificate not trusted, TLS handshake    | `Unreachable` tls    | permanent   |
| connection refused (nothing listening)    | `Unreachable`        | quick       |
| no answer to the connect, no route        | `Unreachable`        | quick       |
| reset, dropped, read timeout              | `TransientError`     | backoff     |
| 401                                       | `AuthenticationError`| permanent   |
| 403                                       | `MissingPermission`  | permanent   |
| other 4xx                                 | `ConnectorError`     | permanent   |
| 408, 5xx                                  | `TransientError`     | backoff     |
| 429                                       | `RateLimited`        | backoff     |

A refused connection is the CRM being down or restarting: one more quick attempt catches a
restart, and then the run fails with one line naming the host and the cause, without minutes
of backoff; the next scheduled run tries again.

    try:
        response = session.get(url, timeout=(CONNECT_TIMEOUT, 120))
    except requests.RequestException as error:
        raise connection_failure(error, "Salesforce", url) from None
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator
from typing import Literal
from urllib.parse import urlsplit

import urllib3.exceptions as u3

from connectors.core.errors import (
    AuthenticationError,
    ConnectorError,
    MissingPermission,
    RateLimited,
    TransientError,
    Unreachable,
)

__all__ = [
    "CONNECT_TIMEOUT",
    "RetryClass",
    "connection_failure",
    "http_failure",
    "retry_class",
]

RetryClass = Literal["permanent", "quick", "backoff"]

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a CRM to accept a connection: a live API accepts in well under one, and a
host that says nothing for longer is treated as unreachable, not waited for."""

_NO_ROUTE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.EADDRNOTAVAIL}
_TLS_DROPPED = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)


def retry_class(error: BaseException) -> RetryClass:
    """How a failed call may be tried again: never, once more at once, or with backoff."""
    if isinstance(error, RateLimited | TransientError):
        return "backoff"
    if isinstance(error, Unreachable) and error.cause in ("refused", "no answer", "network"):
        return "quick"
    return "permanent"


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and what caused it: `raise from`, the exception being handled, urllib3's
    `reason` and requests' wrapped argument."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < 12:
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        wrapped = current.args[0] if current.args else None
        current = (
            current.__cause__
            or (reason if isinstance(reason, BaseException) else None)
            or (wrapped if isinstance(wrapped, BaseException) else None)
            or current.__context__
        )


def _host(chain: list[BaseException], url: str) -> str:
    for item in chain:
        pool = item.pool if isinstance(item, u3.MaxRetryError) else None
        if pool is not None and getattr(pool, "host", None):
            port = getattr(pool, "port", None)
            return f"{pool.host}:{port}" if port else str(pool.host)
        request = getattr(item, "request", None)
        request_url = getattr(request, "url", None)
        if isinstance(request_url, str) and request_url:
            url = request_url
            break
    parts = urlsplit(url)
    return parts.netloc.rpartition("@")[2] or url


def _first(chain: list[BaseException], kind: type | tuple[type, ...]) -> bool:
    return any(isinstance(item, kind) for item in chain)


def connection_failure(error: BaseException, crm: str, url: str) -> ConnectorError:
    """The connector error a transport failure (requests, urllib3, ssl, socket) stands for.

    `url` names the host when the exception does not; the message names host, cause and fix.
    """
    chain = list(_chain(error))
    host = _host(chain, url)
    where = f"{crm} at {host}"
    verify = next((e for e in chain if isinstance(e, ssl.SSLCertVerificationError)), None)
    if verify is not None:
        reason = verify.verify_message or str(verify)
        return Unreachable(
            f"{where}: its TLS certificate is not trusted ({reason}) — give the connection "
            "the CA file that signed it (ca_file), or fix the server's certificate",
            host,
            "tls",
        )
    if _first(chain, socket.gaierror) or _first(chain, u3.NameResolutionError):
        name = host.rpartition(":")[0] if host.count(":") == 1 else host
        return Unreachable(
            f"{where} cannot be reached: the name {name} does not resolve (DNS) — check "
            "the connection's URL",
            host,
            "dns",
        )
    handshake = next((e for e in chain if isinstance(e, ssl.SSLError | u3.SSLError)), None)
    if handshake is not None and not _first(chain, _TLS_DROPPED):
        return Unreachable(
            f"{where}: the TLS handshake failed ({_reason(handshake)}) — check that the URL "
            "is https and its port serves TLS",
            host,
            "tls",
        )
    if _first(chain, ConnectionRefusedError):
        return Unreachable(
            f"{where} cannot be reached: connection refused (nothing listens there) — check "
            "the connection's URL and port, or whether the CRM is up; the next run tries again",
            host,
            "refused",
        )
    if any(
        isinstance(e, u3.ConnectTimeoutError) and not isinstance(e, u3.NewConnectionError)
        for e in chain
    ):
        return Unreachable(
            f"{where} cannot be reached: no answer to the connection (connect timeout) — "
            "check the URL, the network or a firewall; the next run tries again",
            host,
            "no answer",
        )
    route = next((e for e in chain if isinstance(e, OSError) and e.errno in _NO_ROUTE), None)
    if route is not None:
        return Unreachable(
            f"{where} cannot be reached: {route.strerror or route} — check the network; the "
            "next run tries again",
            host,
            "network",
        )
    if _first(chain, (u3.ReadTimeoutError, TimeoutError)):
        return TransientError(f"{where} did not answer in time (read timeout)")
    return TransientError(f"the connection to {where} was dropped ({_reason(chain[-1])})")


def _reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[-1][:200]


def http_failure(
    crm: str, status: int, what: str, detail: str, retry_after: float | None = None
) -> ConnectorError:
    """The connector error an HTTP status stands for, when the CRM's own codes say no more."""
    detail = detail.strip() or "no details"
    if status == 401:
        return AuthenticationError(
            f"{crm} rejected the credentials on {what} (401): {detail} — check the "
            "connection's credentials"
        )
    if status == 403:
        return MissingPermission(
            f"{crm} refused {what} (403): {detail} — grant the integration user access to it"
        )
    if status == 429:
        return RateLimited(f"{crm} rate limit on {what}: {detail}", retry_after)
    if status == 408 or status >= 500:
        return TransientError(f"{crm} answered {status} on {what}: {detail}")
    return ConnectorError(f"{crm} rejected {what} ({status}): {detail}")
