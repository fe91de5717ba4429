"""A simple-salesforce client with the product's accounting, error mapping and re-login.

Every response passes a `requests` hook that counts the call and its bytes into the run's
`ApiBudget` and reads `Sforce-Limit-Info` (the org's daily API usage). Errors become the
connector hierarchy (`connectors.core.classify`): an expired session triggers one fresh login and
a retry; 5xx, dropped connections and rate limits are retried with backoff; a host that cannot
be reached or trusted fails at once (a refused connection after one more quick attempt);
REQUEST_LIMIT_EXCEEDED stops the run. Every request has a connect and a read timeout.

One client serves the streams a run reads at once: `requests` sessions may be shared between
threads, the login (and a re-login after an expired session) happens once for all of them, and
the Retry-After a retry honours is the one its own thread's response carried.

    client = SalesforceClient(auth, budget, ca_file=...)
    page = client.call(lambda sf: sf.query("SELECT Id FROM Task"))
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connectors.core.budget import ApiBudget
from connectors.core.classify import CONNECT_TIMEOUT, connection_failure, http_failure
from connectors.core.errors import (
    AuthenticationError,
    ConfigError,
    ConnectorError,
    MalformedResponse,
    MissingPermission,
    QuotaReached,
    RateLimited,
)
from connectors.core.retry import RetryPolicy
from connectors.salesforce.auth import SalesforceAuth

__all__ = ["SalesforceClient"]

T = TypeVar("T")
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")
_RENEWALS = 3
"""Sessions a call may find expired in a row: one, or, with streams read at once, one that
another stream's renewal replaced meanwhile. A new session refused that often is an error."""


def _first_error(content: Any) -> tuple[str, str]:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", "")), str(content[0].get("message", ""))
    if isinstance(content, dict):
        return str(content.get("errorCode", content.get("error", ""))), str(
            content.get("message", content.get("error_description", ""))
        )
    return "", str(content)[:300]


def _what(error: SalesforceError) -> str:
    """The resource an error answered for (not its URL: SOQL in a query string is long)."""
    return str(error.resource_name or "a request")


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class _Timeouts(HTTPAdapter):
    """Gives every request without one a (connect, read) timeout: simple-salesforce sets none."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self._timeout = timeout

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return super().send(request, stream, timeout or self._timeout, verify, cert, proxies)


class SalesforceClient:
    def __init__(
        self,
        auth: SalesforceAuth,
        budget: ApiBudget,
        *,
        api_version: str = "59.0",
        ca_file: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.auth = auth
        self.budget = budget
        self.api_version = api_version
        self.retry = retry or RetryPolicy()
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would override `verify`
        if ca_file:
            self.session.verify = ca_file
        self.session.hooks["response"].append(self._account)
        adapter = _Timeouts((CONNECT_TIMEOUT, timeout))
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._sf: Salesforce | None = None
        self._login_lock = threading.Lock()
        self._seen = threading.local()  # this thread's last response's Retry-After

    def _account(self, response: requests.Response, *_args: Any, **kwargs: Any) -> None:
        match = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        used, limit = (int(match[1]), int(match[2])) if match else (None, None)
        # a streamed body is counted as it is read (`bulk_query`); `.content` would load it whole
        size = 0 if kwargs.get("stream") else len(response.content)
        self.budget.record(size, used=used, limit=limit)
        # simple-salesforce's exceptions drop the headers; keep the one retries need.
        self._seen.retry_after = _seconds(response.headers.get("Retry-After"))

    @property
    def _retry_after(self) -> float | None:
        seconds: float | None = getattr(self._seen, "retry_after", None)
        return seconds

    def login(self) -> Salesforce:
        """Log in (retried as any call is): a session for the calls that follow."""
        return self.retry.call(self._login)

    def _login(self) -> Salesforce:
        token = self.auth.fetch(self.session)
        self._sf = Salesforce(
            instance_url=token.instance_url,
            session_id=token.access_token,
            session=self.session,
            version=self.api_version,
            # plain dicts, not simple-salesforce's default OrderedDict: records keep their
            # field order either way, and a page takes half the memory and parses faster
            object_pairs_hook=None,
        )
        return self._sf

    def translate(self, error: SalesforceError) -> ConnectorError:
        """The connector error a simple-salesforce error stands for."""
        code, message = _first_error(error.content)
        status = error.status
        if isinstance(error, SalesforceRefusedRequest) and code == "REQUEST_LIMIT_EXCEEDED":
            retry_after = self._retry_after
            if "TotalRequests" not in message and retry_after is not None:
                return RateLimited(f"Salesforce rate limit: {message}", retry_after)
            used, limit = self.budget.quota_used or 0, self.budget.quota_limit or 0
            return QuotaReached(
                f"Salesforce daily API limit reached ({message}); the next run resumes "
                "where this one stopped",
                used,
                limit,
            )
        if status == 429:
            return RateLimited(f"Salesforce rate limit: {message}", self._retry_after)
        if isinstance(error, SalesforceRefusedRequest):
            return MissingPermission(f"Salesforce refused the request ({code}): {message}")
        if isinstance(error, SalesforceMalformedRequest):
            if code in ("INVALID_FIELD", "INVALID_TYPE"):
                return ConfigError(f"Salesforce: {message} ({code})")
            return MalformedResponse(f"Salesforce rejected the request ({code}): {message}")
        if isinstance(error, SalesforceResourceNotFound):
            return MissingPermission(f"Salesforce: not found or not visible ({code}): {message}")
        detail = f"{message} ({code})" if code else message
        return http_failure("Salesforce", status, _what(error), detail, self._retry_after)

    def unreachable(self, error: requests.RequestException) -> ConnectorError:
        """The connector error a failed connection stands for (see `connectors.core.classify`)."""
        url = self._sf.base_url if self._sf is not None else self.auth.token_url
        return connection_failure(error, "Salesforce", url)

    def _session(self, expired: Salesforce | None = None) -> Salesforce:
        """The run's session: logged in by the first caller; after `expired`, a new one, which
        the first of the threads that met the expiry logs in for all of them."""
        with self._login_lock:
            if self._sf is None or self._sf is expired:
                return self._login()
            return self._sf

    def _attempt(self, operation: Callable[[Salesforce], T]) -> T:
        try:
            sf = self._session()
            for _renewal in range(_RENEWALS):
                try:
                    return operation(sf)
                except SalesforceExpiredSession:
                    sf = self._session(expired=sf)  # log in again (or take a newer session)
            return operation(sf)
        except SalesforceExpiredSession as error:
            _code, message = _first_error(error.content)
            raise AuthenticationError(
                f"Salesforce rejected a fresh session: {message} — check the connected app"
            ) from None
        except SalesforceError as error:
            raise self.translate(error) from None
        except requests.RequestException as error:
            raise self.unreachable(error) from None
        except ValueError as error:  # a body that is not JSON
            raise MalformedResponse(f"Salesforce sent an unreadable response: {error}") from None

    def call(self, operation: Callable[[Salesforce], T]) -> T:
        """Run one API operation with re-login, retries and error translation."""
        return self.retry.call(lambda: self._attempt(operation))

    def close(self) -> None:
        self.session.close()

    def describe_fields(self, sobject: str) -> dict[str, dict[str, Any]]:
        described: dict[str, Any] = self.call(lambda sf: getattr(sf, sobject).describe())
        return {field["name"]: field for field in described.get("fields", [])}
