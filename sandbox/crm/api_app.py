"""What both APIs' apps are made of: their routers in order, then the admin router, their error
handlers, and the `ApiMiddleware` that counts, gates and faults every call before a route runs.

    app = build_api_app(sandbox, "hubspot", ROUTERS, handlers, headers=..., fault_response=...)

Routes match in the order the routers are given. The middleware gets the same routes, in the
same order, to name the route that will answer (FastAPI keeps included routers apart).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response
from starlette.types import Scope

from sandbox.crm import admin
from sandbox.crm.errors import SandboxError
from sandbox.crm.faults import Fault
from sandbox.crm.middleware import ApiMiddleware, HeaderHook
from sandbox.crm.sandbox import Sandbox

__all__ = ["ExceptionHandlers", "build_api_app"]

ExceptionHandlers = dict[
    int | type[Exception], Callable[[Request, Any], Coroutine[Any, Any, Response]]
]


def build_api_app(
    sandbox: Sandbox,
    api: str,
    routers: Sequence[APIRouter],
    exception_handlers: ExceptionHandlers,
    *,
    headers: HeaderHook,
    fault_response: Callable[[Fault, Scope], SandboxError | None],
    gate: Callable[[Scope, str], Awaitable[SandboxError | None]] | None = None,
) -> FastAPI:
    app = FastAPI(
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
        exception_handlers=exception_handlers,
    )
    app.state.sandbox = sandbox
    routers = [*routers, admin.router]
    for router in routers:
        app.include_router(router)
    app.add_middleware(
        ApiMiddleware,
        sandbox=sandbox,
        api=api,
        routes=[route for router in routers for route in router.routes],
        fault_response=fault_response,
        headers=headers,
        gate=gate,
    )
    return app
