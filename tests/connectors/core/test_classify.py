"""Every failure is classified once: an HTTP status or a failed connection becomes one connector
error, and that error alone says whether another attempt can help."""

from __future__ import annotations

import socket
import ssl

import pytest
import requests
import urllib3.exceptions as u3

from connectors.core import (
    AuthenticationError,
    ConnectorError,
    MissingPermission,
    RateLimited,
    TransientError,
    Unreachable,
)
from connectors.core.classify import connection_failure, http_failure, retry_class

URL = "https://crm.example:8443/services/oauth2/token"


@pytest.mark.parametrize(
    ("status", "error", "retry"),
    [
        (400, ConnectorError, "permanent"),
        (401, AuthenticationError, "permanent"),
        (403, MissingPermission, "permanent"),
        (404, ConnectorError, "permanent"),
        (409, ConnectorError, "permanent"),
        (422, ConnectorError, "permanent"),
        (408, TransientError, "backoff"),
        (429, RateLimited, "backoff"),
        (500, TransientError, "backoff"),
        (502, TransientError, "backoff"),
        (503, TransientError, "backoff"),
        (504, TransientError, "backoff"),
    ],
)
def test_http_statuses(status: int, error: type[ConnectorError], retry: str) -> None:
    failure = http_failure("Salesforce", status, "Task query", "the detail")
    assert type(failure) is error
    assert retry_class(failure) == retry
    assert "Salesforce" in str(failure) and "the detail" in str(failure)


def test_a_429_keeps_its_retry_after() -> None:
    failure = http_failure("HubSpot", 429, "deals list", "slow down", retry_after=7.0)
    assert isinstance(failure, RateLimited) and failure.retry_after == 7.0


def test_authentication_and_permission_answers_name_the_fix() -> None:
    assert "check the connection's credentials" in str(http_failure("HubSpot", 401, "x", ""))
    assert "grant the integration user" in str(http_failure("HubSpot", 403, "x", ""))


def _caused(error: BaseException, cause: BaseException) -> BaseException:
    error.__cause__ = cause
    return error


def _requests(reason: BaseException) -> requests.RequestException:
    """What requests raises: its error around urllib3's MaxRetryError around the reason."""
    return requests.exceptions.ConnectionError(u3.MaxRetryError(None, "/", reason))  # type: ignore[arg-type]


def _refused() -> BaseException:
    return _caused(
        u3.NewConnectionError(None, "Failed to establish a new connection"),  # type: ignore[arg-type]
        ConnectionRefusedError(111, "Connection refused"),
    )


def _unresolved() -> BaseException:
    gaierror = socket.gaierror(-2, "Name or service not known")
    return u3.NameResolutionError("crm.invalid", None, gaierror)  # type: ignore[arg-type]


def _untrusted() -> BaseException:
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "unable to get local issuer certificate"
    return _caused(u3.SSLError(verify), verify)


def _handshake() -> BaseException:
    wrong = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    return _caused(u3.SSLError(wrong), wrong)


def _tls_dropped() -> BaseException:
    eof = ssl.SSLEOFError(8, "EOF occurred in violation of protocol")
    return _caused(u3.SSLError(eof), eof)


def _reset() -> BaseException:
    reset = ConnectionResetError(104, "Connection reset by peer")
    return u3.ProtocolError("Connection aborted.", reset)


def _read_timeout() -> BaseException:
    return _caused(u3.ReadTimeoutError(None, "/", "Read timed out."), TimeoutError("timed out"))  # type: ignore[arg-type]


def _connect_timeout() -> BaseException:
    return u3.ConnectTimeoutError(None, "Connection timed out")


def _no_route() -> BaseException:
    return _caused(
        u3.NewConnectionError(None, "Failed to establish a new connection"),  # type: ignore[arg-type]
        OSError(113, "No route to host"),
    )


@pytest.mark.parametrize(
    ("failure", "error", "cause", "retry", "says"),
    [
        (_unresolved, Unreachable, "dns", "permanent", "does not resolve (DNS)"),
        (_untrusted, Unreachable, "tls", "permanent", "certificate is not trusted"),
        (_handshake, Unreachable, "tls", "permanent", "TLS handshake failed"),
        (_refused, Unreachable, "refused", "quick", "connection refused"),
        (_connect_timeout, Unreachable, "no answer", "quick", "no answer"),
        (_no_route, Unreachable, "network", "quick", "No route to host"),
        (_reset, TransientError, None, "backoff", "dropped"),
        (_tls_dropped, TransientError, None, "backoff", "dropped"),
        (_read_timeout, TransientError, None, "backoff", "did not answer in time"),
    ],
)
@pytest.mark.parametrize("through_requests", [False, True], ids=["urllib3", "requests"])
def test_failed_connections(
    failure: type[BaseException],
    error: type[ConnectorError],
    cause: str | None,
    retry: str,
    says: str,
    through_requests: bool,
) -> None:
    raised = failure()
    if through_requests:
        raised = _requests(raised)
    classified = connection_failure(raised, "Salesforce", URL)
    assert type(classified) is error
    assert getattr(classified, "cause", None) == cause
    assert retry_class(classified) == retry
    assert says in str(classified)
    assert "Salesforce at crm.example:8443" in str(classified)  # one line: the host and cause
    assert "\n" not in str(classified)


def test_the_fix_is_named() -> None:
    assert "ca_file" in str(connection_failure(_untrusted(), "Salesforce", URL))
    assert "check the connection's URL" in str(connection_failure(_unresolved(), "HubSpot", URL))
    refused = str(connection_failure(_refused(), "HubSpot", URL))
    assert "whether the CRM is up" in refused and "the next run tries again" in refused


def test_the_host_comes_from_the_request_when_it_names_one() -> None:
    request = requests.Request("GET", "https://eu12.my.salesforce.com/services/data").prepare()
    raised = requests.exceptions.ConnectionError(
        u3.MaxRetryError(None, "/", _refused()),  # type: ignore[arg-type]
        request=request,
    )
    classified = connection_failure(raised, "Salesforce", URL)
    assert isinstance(classified, Unreachable) and classified.host == "eu12.my.salesforce.com"
