"""Process health for ops and managers: has a milestone's conversion or velocity drifted?

`GET /api/v1/health/drift` answers like every KPI answer: over the KPI view at the data clock
or a past `as_of`, with the filters of every KPI but the period, encoded once per view
generation, ending with `data_age_seconds` (also the `X-Data-Age-Seconds` header).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.api.deps import KpiStoreDep, require
from app.api.routes.kpis import NO_PERIOD, _answer, _as_of, _documented, _filters, _ok
from app.services.access.api_keys import Principal
from app.services.health.drift import drift as drift_answer
from app.services.health.public import DriftAnswer

router = APIRouter(prefix="/api/v1/health", tags=["process health"])

Reader = Annotated[Principal, Depends(require("ops", "manager"))]

EXAMPLE: dict[str, Any] = {
    "filters": {"process": None, "segment": None, "owner": None, "team": None,
                "connection": None, "start": None, "end": None},
    "as_of": "2024-03-04T00:00:00+00:00",
    "method": "Weekly cohorts by the Monday they reached a milestone ...",
    "false_discovery_rate": 0.05,
    "tested": 1,
    "flagged": 1,
    "steps": [
        {"process": "smb_new_business", "from_milestone": "meeting_held",
         "from_name": "Meeting held", "to_milestone": "proposal_requested",
         "to_name": "Proposal requested", "metric": "conversion", "horizon_days": 11.0,
         "baseline_weeks": ["2023-06-12", "2023-12-04"],
         "recent_weeks": ["2023-12-11", "2024-01-29"],
         "baseline": {"value": 0.49, "low": 0.44, "high": 0.54, "deals": 410},
         "recent": {"value": 0.33, "low": 0.27, "high": 0.40, "deals": 160},
         "p_value": 0.0004, "flagged": True, "direction": "down", "since": "2024-01-01",
         "before": {"value": 0.48, "low": 0.44, "high": 0.53, "deals": 450},
         "after": {"value": 0.29, "low": 0.22, "high": 0.37, "deals": 120},
         "change": -0.19,
         "summary": "Meeting held → Proposal requested fell from 48% to 29% since 1 January "
         "2024 (conversion within 11 days)", "note": None},
    ],
    "data_age_seconds": 42.0,
}  # fmt: skip


@router.get(
    "/drift",
    response_model=DriftAnswer,
    summary="Drift of conversion to the next milestone and of days to reach it, per process "
    "and milestone: recent weekly cohorts against the half-year before, false discoveries "
    "held at 5 % over every test (Benjamini-Hochberg), with size and since when",
    responses=_ok(EXAMPLE),
    openapi_extra={"parameters": _documented(NO_PERIOD)},
)
async def drift(request: Request, principal: Reader, store: KpiStoreDep) -> Response:
    filters = _filters(request, principal, set(), period=False)
    return await _answer(
        store,
        ("health-drift", filters.key()),
        lambda snapshot: drift_answer(snapshot, filters),
        as_of=_as_of(request),
    )
