"""hubspot-api-client with the product's accounting, pacing, error mapping and re-authentication.

Each API object is built once. urllib3's own retries are switched off (they would retry GETs
unseen by the accounting and never POSTs); the run's `RetryPolicy` retries 429s, 5xx and
dropped connections for every method, search and batch POSTs included. Every HTTP call is
counted into the run's `ApiBudget` with its bytes, and HubSpot's daily headers tell the budget
how much of the portal's quota is used. Responses are read raw (`_preload_content=False`) and
parsed with `orjson.loads`: the generated models would cost more than the network.

    client = HubSpotClient(base_url, HubSpotAuth(access_token="pat-..."), budget)
    page = client.list_page("emails", limit=100, properties=["hs_timestamp"])

Errors become the connector hierarchy: 401 → one OAuth refresh (when configured) and a retry,
else `AuthenticationError` (an OAuth token near its expiry is refreshed before the call);
403 → `MissingPermission` naming the scopes a MISSING_SCOPES answer lists; 429 DAILY →
`QuotaReached`; other 429s → `RateLimited` with Retry-After (or a share of the 10-second
window); other answers and failed connections as `connectors.core.classify` says (5xx, timeouts
and resets are retried; a host that cannot be reached or trusted fails at once, a refused
connection after one more quick attempt).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import orjson
import urllib3
from hubspot import HubSpot
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsApiError
from hubspot.crm.objects.exceptions import ApiException as ObjectsApiError
from hubspot.crm.owners.exceptions import ApiException as OwnersApiError
from hubspot.crm.pipelines.exceptions import ApiException as PipelinesApiError
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiError
from hubspot.marketing.forms.exceptions import ApiException as FormsApiError
from urllib3.util.retry import Retry

from connectors.core.budget import ApiBudget
from connectors.core.classify import CONNECT_TIMEOUT, connection_failure, http_failure
from connectors.core.errors import (
    AuthenticationError,
    ConfigError,
    MalformedResponse,
    MissingPermission,
    QuotaReached,
    RateLimited,
)
from connectors.core.retry import RetryPolicy
from connectors.hubspot.associations import v4_links
from connectors.hubspot.auth import HubSpotAuth
from connectors.hubspot.pacing import Pacer

__all__ = ["HubSpotClient"]

log = logging.getLogger(__name__)

_API_ERRORS = (
    ObjectsApiError,
    AssociationsApiError,
    OwnersApiError,
    PipelinesApiError,
    PropertiesApiError,
    FormsApiError,
)
SUBMISSIONS_PATH = "/form-integrations/v1/submissions/forms/{formGuid}"
"""The v1 submissions API, which the SDK has no method for: called through the forms API's own
`ApiClient`, so that it shares its host, token, pool, timeouts and errors."""
Lane = Literal["api", "search"]


class _Rejected(Exception):
    """A 401: the token expired or is not valid (internal; becomes a refresh or an error)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _error_body(raw: Any) -> dict[str, Any]:
    try:
        body = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {"message": str(raw)[:300]}
    return body if isinstance(body, dict) else {"message": str(body)[:300]}


def _required_scopes(body: dict[str, Any]) -> tuple[str, ...]:
    """The scopes a 403 MISSING_SCOPES names (granular ones first, as HubSpot sends them)."""
    found: list[str] = []
    errors = body.get("errors")
    for error in errors if isinstance(errors, list) else []:
        context = error.get("context") if isinstance(error, dict) else None
        if not isinstance(context, dict):
            continue
        for key in ("requiredGranularScopes", "requiredScopes"):
            values = context.get(key)
            if isinstance(values, list):
                found += [str(v) for v in values]
    return tuple(dict.fromkeys(found))


class HubSpotClient:
    def __init__(
        self,
        base_url: str,
        auth: HubSpotAuth,
        budget: ApiBudget,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        search_per_second: float = 4.0,
        ten_second_limit: int = 100,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.budget = budget
        self.retry = retry or RetryPolicy()
        self.timeout = (CONNECT_TIMEOUT, timeout)
        # No urllib3 retries: every call is counted, and RetryPolicy retries POSTs too.
        no_retries = Retry(total=0, redirect=0, raise_on_status=False, raise_on_redirect=False)
        hubspot = HubSpot(access_token=auth.access_token, host=self.base_url, retry=no_retries)
        self._objects = hubspot.crm.objects.basic_api
        self._search = hubspot.crm.objects.search_api
        self._batch = hubspot.crm.objects.batch_api
        self._associations = hubspot.crm.associations.v4.batch_api
        self._owners = hubspot.crm.owners.owners_api
        self._pipelines = hubspot.crm.pipelines.pipelines_api
        self._properties = hubspot.crm.properties.core_api
        self._forms = hubspot.marketing.forms.forms_api
        self._apis = (
            self._objects,
            self._search,
            self._batch,
            self._associations,
            self._owners,
            self._pipelines,
            self._properties,
            self._forms,
        )
        self.pacers: dict[Lane, Pacer] = {
            "api": Pacer(ten_second_limit, 10.0),
            "search": Pacer(max(1, round(search_per_second)), 1.0, margin=0.0),
        }

    # -- plumbing -------------------------------------------------------------------------------
    def _set_token(self, token: str) -> None:
        for api in self._apis:
            api.api_client.configuration.access_token = token

    def _account(self, headers: Mapping[str, Any] | None, nbytes: int, lane: Lane) -> None:
        self.budget.record(nbytes)
        if not headers:
            return
        daily = _int(headers.get("X-HubSpot-RateLimit-Daily"))
        daily_left = _int(headers.get("X-HubSpot-RateLimit-Daily-Remaining"))
        if daily and daily_left is not None:
            self.budget.record_remaining(daily_left, daily)
        if lane == "api":
            self.pacers["api"].learn(
                _int(headers.get("X-HubSpot-RateLimit-Max")),
                _int(headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")),
                _int(headers.get("X-HubSpot-RateLimit-Remaining")),
            )

    def _translate(
        self, status: int, headers: Mapping[str, Any] | None, raw: Any, what: str
    ) -> Exception:
        body = _error_body(raw)
        message = str(body.get("message") or body.get("reason") or "")[:500]
        category = str(body.get("category") or body.get("errorType") or "")
        if status == 401:
            return _Rejected(f"{category or 'UNAUTHORIZED'}: {message}")
        if status == 429:
            policy = str(body.get("policyName") or "")
            if policy == "DAILY":
                used, limit = self.budget.quota_used or 0, self.budget.quota_limit or 0
                return QuotaReached(
                    f"HubSpot daily API limit reached ({message}); the next run resumes where "
                    "this one stopped",
                    used,
                    limit,
                )
            retry_after = _float((headers or {}).get("Retry-After"))
            if retry_after is None:
                interval = _int((headers or {}).get("X-HubSpot-RateLimit-Interval-Milliseconds"))
                window = (interval or 10_000) / 1000
                retry_after = 1.0 if policy == "SECONDLY" else window / 5
            return RateLimited(f"HubSpot rate limit ({policy or 'unknown'}) on {what}", retry_after)
        if status == 403:
            scopes = _required_scopes(body)
            if scopes:
                return MissingPermission(
                    f"HubSpot refused {what}: the app lacks the scope "
                    f"{' and '.join(scopes)} ({category or 'MISSING_SCOPES'}) — add it to the "
                    "app's scopes (private app: Settings > Integrations > Private Apps; OAuth "
                    "app: its scopes, then reinstall) and sync again",
                    scopes,
                )
            return MissingPermission(
                f"HubSpot refused {what} ({category or 'FORBIDDEN'}): {message} — grant the app "
                "the CRM read scopes for this object"
            )
        if status == 414 or (status == 400 and "propert" in message.lower()):
            return ConfigError(f"HubSpot rejected {what}: {message}")
        detail = f"{message} ({category})" if category else message
        return http_failure("HubSpot", status, what, detail)

    def _once(self, lane: Lane, what: str, send: Callable[[], Any]) -> tuple[dict[str, Any], int]:
        self.pacers[lane].wait()
        try:
            response = send()
        except _API_ERRORS as error:
            if not error.status:  # the generated client's name for a TLS failure
                self.budget.record(0)
                raise connection_failure(error, "HubSpot", self.base_url) from None
            raw = error.body or b""
            self._account(error.headers, len(raw), lane)
            raise self._translate(int(error.status), error.headers, raw, what) from None
        except urllib3.exceptions.HTTPError as error:
            self.budget.record(0)
            raise connection_failure(error, "HubSpot", self.base_url) from None
        data: bytes = response.data
        response.release_conn()
        self._account(response.headers, len(data), lane)
        try:
            body = orjson.loads(data)
        except ValueError:
            raise MalformedResponse(
                f"HubSpot sent an unreadable answer to {what}: {data[:200]!r}"
            ) from None
        if not isinstance(body, dict):
            raise MalformedResponse(f"HubSpot answered {what} with {type(body).__name__}")
        return body, int(response.status)

    def _attempt(
        self, lane: Lane, what: str, send: Callable[[], Any]
    ) -> tuple[dict[str, Any], int]:
        self.auth.check()
        if self.auth.stale:
            self._set_token(self.auth.refresh())
        try:
            return self._once(lane, what, send)
        except _Rejected as rejected:
            if not self.auth.can_refresh:
                raise AuthenticationError(
                    f"HubSpot rejected the access token ({rejected.message}) — check the "
                    "connection's private app token"
                ) from None
        self._set_token(self.auth.refresh())
        try:
            return self._once(lane, what, send)
        except _Rejected as rejected:
            raise AuthenticationError(
                f"HubSpot rejected a freshly refreshed token ({rejected.message}) — reconnect "
                "the app"
            ) from None

    def call(
        self, what: str, send: Callable[[], Any], lane: Lane = "api"
    ) -> tuple[dict[str, Any], int]:
        """One API call (`send` returns the raw urllib3 response): retried, counted, checked."""
        return self.retry.call(lambda: self._attempt(lane, what, send))

    def close(self) -> None:
        for api in self._apis:
            pool = getattr(api.api_client.rest_client, "pool_manager", None)
            if pool is not None:
                pool.clear()

    # -- endpoints ------------------------------------------------------------------------------
    def list_page(
        self,
        object_type: str,
        *,
        limit: int,
        after: str | None = None,
        properties: Sequence[str] = (),
        history: Sequence[str] = (),
        associations: Sequence[str] = (),
        archived: bool = False,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit, "archived": archived}
        if after:
            params["after"] = after
        if properties:
            params["properties"] = list(properties)
        if history:
            params["properties_with_history"] = list(history)
        if associations:
            params["associations"] = list(associations)
        body, _status = self.call(
            f"{object_type} list",
            lambda: self._objects.get_page(
                object_type, _preload_content=False, _request_timeout=self.timeout, **params
            ),
        )
        return body

    def search(self, object_type: str, request: dict[str, Any]) -> dict[str, Any]:
        body, _status = self.call(
            f"{object_type} search",
            lambda: self._search.do_search(
                object_type, request, _preload_content=False, _request_timeout=self.timeout
            ),
            lane="search",
        )
        return body

    def batch_read(
        self,
        object_type: str,
        ids: Sequence[str],
        *,
        properties: Sequence[str] = (),
        history: Sequence[str] = (),
        id_property: str | None = None,
    ) -> list[dict[str, Any]]:
        """Objects by id (≤ 100), or by a unique property's value (`id_property`, e.g.
        contacts by `email`); ids HubSpot no longer has are left out."""
        request: dict[str, Any] = {
            "inputs": [{"id": i} for i in ids],
            "properties": list(properties),
            "propertiesWithHistory": list(history),
        }
        if id_property is not None:
            request["idProperty"] = id_property
        body, _status = self.call(
            f"{object_type} batch read",
            lambda: self._batch.read(
                object_type, request, _preload_content=False, _request_timeout=self.timeout
            ),
        )
        results = body.get("results")
        if not isinstance(results, list):
            raise MalformedResponse(f"HubSpot {object_type} batch read answer has no results")
        return [r for r in results if isinstance(r, dict)]

    def association_links(
        self, from_type: str, to_type: str, ids: Sequence[str]
    ) -> dict[str, list[dict[str, str]]]:
        """v4 batch read (≤ 1,000 ids): from-id -> v3-shaped association items."""
        request = {"inputs": [{"id": i} for i in ids]}
        body, _status = self.call(
            f"{from_type} → {to_type} associations",
            lambda: self._associations.get_page(
                from_type, to_type, request, _preload_content=False, _request_timeout=self.timeout
            ),
        )
        results = body.get("results")
        if not isinstance(results, list):
            raise MalformedResponse(
                f"HubSpot {from_type} → {to_type} association answer has no results"
            )
        # 207 errors are "no associations found" for some ids: simply none to store.
        return v4_links(from_type, to_type, results)

    def owners_page(self, *, limit: int, after: str | None, archived: bool) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit, "archived": archived}
        if after:
            params["after"] = after
        body, _status = self.call(
            "owners list",
            lambda: self._owners.get_page(
                _preload_content=False, _request_timeout=self.timeout, **params
            ),
        )
        return body

    def pipelines(self, object_type: str) -> dict[str, Any]:
        body, _status = self.call(
            f"{object_type} pipelines",
            lambda: self._pipelines.get_all(
                object_type, _preload_content=False, _request_timeout=self.timeout
            ),
        )
        return body

    def properties(self, object_type: str) -> list[dict[str, Any]]:
        body, _status = self.call(
            f"{object_type} properties",
            lambda: self._properties.get_all(
                object_type, _preload_content=False, _request_timeout=self.timeout
            ),
        )
        results = body.get("results")
        if not isinstance(results, list):
            raise MalformedResponse(f"HubSpot {object_type} properties answer has no results")
        return [r for r in results if isinstance(r, dict)]

    def forms_page(self, *, limit: int, after: str | None) -> dict[str, Any]:
        """One page of the portal's forms (`GET /marketing/v3/forms`)."""
        params: dict[str, Any] = {"limit": limit, "archived": False}
        if after:
            params["after"] = after
        body, _status = self.call(
            "forms list",
            lambda: self._forms.get_page(
                _preload_content=False, _request_timeout=self.timeout, **params
            ),
        )
        return body

    def form_submissions(self, form_id: str, *, limit: int, after: str | None) -> dict[str, Any]:
        """One page of a form's submissions, newest first (`GET /form-integrations/v1/...`)."""
        query: list[tuple[str, Any]] = [("limit", limit)]
        if after:
            query.append(("after", after))
        api = self._forms.api_client
        body, _status = self.call(
            "form submissions",
            lambda: api.call_api(
                SUBMISSIONS_PATH,
                "GET",
                {"formGuid": form_id},
                query,
                {"Accept": "application/json"},
                auth_settings=["oauth2"],
                _return_http_data_only=True,
                _preload_content=False,
                _request_timeout=self.timeout,
            ),
        )
        return body
