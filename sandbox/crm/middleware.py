"""The ASGI layer both APIs share: clock catch-up, call counting, faults, usage headers.

It sits outside FastAPI so that a fault can answer, delay or drop a request before any route
runs, and so that every response (errors included) carries the usage headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.crm.errors import HubSpotError, SalesforceError, SandboxError
from sandbox.crm.faults import Fault
from sandbox.crm.sandbox import Sandbox

__all__ = ["ADMIN_PREFIX", "ApiMiddleware", "HeaderHook"]

ADMIN_PREFIX = "/__sandbox"
HeaderHook = Callable[[Scope], list[tuple[bytes, bytes]]]


class _Reset(Exception):
    pass


class ApiMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        sandbox: Sandbox,
        api: str,
        routes: Sequence[BaseRoute],
        fault_response: Callable[[Fault, Scope], SandboxError | None],
        headers: HeaderHook,
        gate: Callable[[Scope, str], Awaitable[SandboxError | None]] | None = None,
    ) -> None:
        self.app = app
        self.sandbox = sandbox
        self.api = api
        self.routes = routes
        self.fault_response = fault_response
        self.headers = headers
        self.gate = gate

    def route_name(self, scope: Scope) -> str:
        """The name of the route that will answer (`routes`: the app's routes, in order)."""
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return str(getattr(route, "name", "unknown"))
        return "unknown"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/"), "raw_path": path.rstrip("/").encode()}
            path = scope["path"]
        if path.startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        self.sandbox.catch_up()
        endpoint = self.route_name(scope)
        scope.setdefault("state", {})["endpoint"] = endpoint
        self.sandbox.calls.add(self.api, endpoint)
        error: SandboxError | None = None
        for fault in self.sandbox.faults.fired(self.api, path):
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.kind == "reset":
                _reset_connection()
                return
            else:
                error = error or self.fault_response(fault, scope)
        if error is None and self.gate is not None:
            error = await self.gate(scope, endpoint)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", []), *self.headers(scope)],
                }
            await send(message)

        if error is not None:
            await error.response()(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def _reset_connection() -> None:
    """Drop the current connection with a TCP reset (uvicorn's protocol owns the transport)."""
    task = asyncio.current_task()
    transport: Any = None
    coro: Any = task.get_coro() if task is not None else None
    while coro is not None and transport is None:
        frame = getattr(coro, "cr_frame", None)
        owner = frame.f_locals.get("self") if frame is not None else None
        transport = getattr(owner, "transport", None)
        coro = getattr(coro, "cr_await", None)
    if transport is None:
        raise _Reset("no transport to reset")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _retry_after(fault: Fault) -> dict[str, str]:
    if fault.retry_after is None:
        return {}
    seconds = float(fault.retry_after)
    return {"Retry-After": str(int(seconds)) if seconds.is_integer() else str(seconds)}


def salesforce_fault(fault: Fault, sandbox: Sandbox) -> SandboxError | None:
    retry = _retry_after(fault)
    if fault.kind == "rate_limit":
        return SalesforceError(
            403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.", headers=retry
        )
    if fault.kind == "daily_limit":
        return SalesforceError(
            403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", headers=retry
        )
    if fault.kind == "server_error":
        message = (
            "An unexpected error occurred. Please include this ErrorId if you contact support: "
            "1937204-4183 (-1467385734)"
        )
        return SalesforceError(500, "UNKNOWN_EXCEPTION", message, headers=retry)
    if fault.kind == "unavailable":
        return SalesforceError(
            503, "SERVER_UNAVAILABLE", "Server is temporarily unavailable", headers=retry
        )
    if fault.kind == "expire_session":
        sandbox.expire_sessions()
    return None


def hubspot_fault(fault: Fault, sandbox: Sandbox | None = None) -> SandboxError | None:
    retry = _retry_after(fault)
    if fault.kind == "rate_limit":
        return HubSpotError(
            429,
            None,
            "You have reached your ten_secondly_rolling limit.",
            extra={"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"},
            headers=retry,
        )
    if fault.kind == "daily_limit":
        return HubSpotError(
            429,
            None,
            "You have reached your daily limit.",
            extra={"errorType": "RATE_LIMIT", "policyName": "DAILY"},
            headers=retry,
        )
    if fault.kind == "server_error":
        return HubSpotError(500, "INTERNAL_ERROR", "internal error", headers=retry)
    if fault.kind == "unavailable":
        return HubSpotError(503, "SERVICE_UNAVAILABLE", "Service Unavailable", headers=retry)
    if fault.kind == "expire_session":
        if sandbox is not None:  # issued OAuth tokens end now; a refresh gets a working one
            sandbox.hs_tokens.expire_oauth_tokens()
        return HubSpotError(
            401,
            "EXPIRED_AUTHENTICATION",
            "The OAuth token used to make this call expired 0 minute(s) ago.",
        )
    return None
