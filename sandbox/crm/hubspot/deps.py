"""What the HubSpot routes depend on, as `Annotated` aliases resolved per request.

    @router.get("/crm/v3/objects/{object_type}")
    async def objects_list(kind: ObjectKind, store: StoreDep) -> Response: ...

Authentication and rate limits are not among them: `gate` checks those in the middleware,
before any route runs. The search cache is made once by `build_hubspot_app` and kept on
`app.state`. All are async, so that resolving them costs no thread hop.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from sandbox.crm.deps import SandboxDep
from sandbox.crm.hubspot.search_cache import SearchCache
from sandbox.crm.hubspot.store import HubSpotStore
from sandbox.crm.hubspot.wire import object_type as resolve

__all__ = ["ObjectKind", "SearchCacheDep", "StoreDep"]


async def get_store(sandbox: SandboxDep) -> HubSpotStore:
    return sandbox.hubspot


StoreDep = Annotated[HubSpotStore, Depends(get_store)]


async def object_kind(object_type: str) -> str:
    """The `{object_type}` of the path, resolved ('0-3' and 'deal' are 'deals')."""
    return resolve(object_type)


ObjectKind = Annotated[str, Depends(object_kind)]


async def get_search_cache(request: Request) -> SearchCache:
    return cast(SearchCache, request.app.state.search_cache)


SearchCacheDep = Annotated[SearchCache, Depends(get_search_cache)]
