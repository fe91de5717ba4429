"""What a page polls to know it is out of date: the KPI view's generation and the data's age.

Cheap by design (no query, no KPI): a page reloads itself when the generation it was drawn
at has moved on, that is when a pipeline pass has been taken in.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api.deps import kpi_store_of
from app.web.deps import current_session

router = APIRouter()


@router.get("/live")
async def live(request: Request) -> JSONResponse:
    session = current_session(request)
    principal = session.principal if session is not None else None
    if principal is None or request.app.state.revocations.revoked(principal.key_id):
        return JSONResponse({"signed_in": False}, status_code=401)
    store = kpi_store_of(request.app)
    view = store.current
    return JSONResponse(
        {
            "signed_in": True,
            "generation": view.generation if view is not None else None,
            "as_of": view.as_of.isoformat() if view is not None else None,
            "data_age_seconds": store.data_age_seconds(),
        },
        headers={"Cache-Control": "no-store"},
    )
