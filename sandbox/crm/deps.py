"""The dependency every route of both APIs shares: the one `Sandbox`, set on `app.state` at build.

    @router.get("/status")
    async def status(sandbox: SandboxDep) -> Response: ...

Async, so that resolving it costs no thread hop.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from sandbox.crm.sandbox import Sandbox

__all__ = ["SandboxDep", "get_sandbox"]


async def get_sandbox(request: Request) -> Sandbox:
    return cast(Sandbox, request.app.state.sandbox)


SandboxDep = Annotated[Sandbox, Depends(get_sandbox)]
