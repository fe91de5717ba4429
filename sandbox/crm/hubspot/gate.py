"""What the HubSpot middleware checks before any route runs, and the headers it adds after.

The gate: a bearer token with the scopes the call needs (`auth.required_scopes`), then the
daily allowance, then the search API's own per-second rate or the ten-second rolling window,
each refused with HubSpot's own 401/403/429 body. The token endpoint passes freely. Every
answer but a search's carries the X-HubSpot-RateLimit-* headers, as HubSpot's do.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.types import Scope

from sandbox.crm.errors import HubSpotError, SandboxError
from sandbox.crm.hubspot.auth import required_scopes
from sandbox.crm.sandbox import Sandbox

__all__ = ["check_request", "rate_headers"]

_NO_AUTH = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
_SEARCH_ENDPOINTS = frozenset({"search"})


def _rate_limited(message: str, policy: str, **extra: str) -> HubSpotError:
    return HubSpotError(
        429, None, message, extra={"errorType": "RATE_LIMIT", "policyName": policy, **extra}
    )


async def check_request(sandbox: Sandbox, scope: Scope, endpoint: str) -> SandboxError | None:
    """The error that refuses this request, or None to let it through."""
    if endpoint == "oauth_token":
        return None
    headers = dict(scope.get("headers") or [])
    scheme, _, token = headers.get(b"authorization", b"").decode().partition(" ")
    if scheme.lower() != "bearer":
        return HubSpotError(401, "INVALID_AUTHENTICATION", _NO_AUTH)
    query = parse_qs(scope.get("query_string", b"").decode())
    refused = sandbox.hs_tokens.authorize(
        token.strip(), required_scopes(scope["method"], scope["path"], query)
    )
    if refused is not None:
        return refused
    if not sandbox.use_hubspot_daily():
        return _rate_limited("You have reached your daily limit.", "DAILY")
    if endpoint in _SEARCH_ENDPOINTS and sandbox.hs_search_window is not None:
        if not sandbox.hs_search_window.take():
            return _rate_limited("You have reached your secondly limit.", "SECONDLY")
        return None
    if not sandbox.hs_window.take():
        return _rate_limited(
            "You have reached your ten_secondly_rolling limit.",
            "TEN_SECONDLY_ROLLING",
            groupName=f"publicapi:private-app:{sandbox.config.hs_portal_id}",
        )
    return None


def rate_headers(sandbox: Sandbox, scope: Scope) -> list[tuple[bytes, bytes]]:
    if scope.get("state", {}).get("endpoint") in _SEARCH_ENDPOINTS:
        return []
    cfg = sandbox.config
    return [
        (b"x-hubspot-ratelimit-max", str(cfg.hs_ten_second_max).encode()),
        (b"x-hubspot-ratelimit-remaining", str(sandbox.hs_window.remaining()).encode()),
        (
            b"x-hubspot-ratelimit-interval-milliseconds",
            str(int(cfg.hs_ten_second_window * 1000)).encode(),
        ),
        (b"x-hubspot-ratelimit-daily", str(cfg.hs_daily_max).encode()),
        (
            b"x-hubspot-ratelimit-daily-remaining",
            str(max(0, cfg.hs_daily_max - sandbox.hs_daily_used)).encode(),
        ),
    ]
