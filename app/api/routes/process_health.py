"""Process health for ops and managers: has a milestone's conversion or velocity drifted, and
does each milestone earn its place?

`GET /api/v1/health/drift`, `/value` and `/candidates` answer like every KPI answer: over the
KPI view at the data clock or a past `as_of`, with the filters of every KPI but the period,
encoded once per view generation, ending with `data_age_seconds` (also the
`X-Data-Age-Seconds` header). The candidates read every stored customer record, minutes on a
large history: the KPI keeper computes them off the request, and until its answer for the
view's current generation is ready the endpoint answers 202 `being computed` (poll it).
`POST /api/v1/health/compare` backtests a draft rule file beside the active versions before it
is activated, at the data clock (no `as_of`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from app.api.answering import (
    NO_PERIOD,
    answer,
    documented,
    encode,
    ok_responses,
    request_filters,
    requested_as_of,
)
from app.api.deps import DatabaseDep, KpiStoreDep, keeper_of, require
from app.api.routes.mappings import RulesetSubmission, _invalid
from app.core.errors import InvalidRequestError
from app.services.access.api_keys import Principal
from app.services.health.candidates import candidates_now
from app.services.health.drift import drift as drift_answer
from app.services.health.public import (
    CandidatesAnswer,
    CandidatesPending,
    DriftAnswer,
    ValueAnswer,
    VersionsCompared,
)
from app.services.health.value import milestone_value
from app.services.health.versions import compare_versions
from app.services.mapping.rulesets import RulesetRejected

router = APIRouter(prefix="/api/v1/health", tags=["process health"])

Reader = Annotated[Principal, Depends(require("ops", "manager"))]

EXAMPLE: dict[str, Any] = {
    "filters": {"process": None, "segment": None, "owner": None, "team": None,
                "connection": None, "start": None, "end": None},
    "as_of": "2024-03-04T00:00:00+00:00",
    "method": "Weekly cohorts by the Monday they reached a milestone ...",
    "false_discovery_rate": 0.05,
    "tested": 2,
    "flagged": 2,
    "steps": [
        {"process": "enterprise_new_business", "from_milestone": "created",
         "from_name": "Opportunity created", "to_milestone": "reply", "to_name": "Replied",
         "metric": "created", "horizon_days": None, "pace": None,
         "baseline_weeks": ["2023-07-10", "2024-01-01"],
         "recent_weeks": ["2024-01-08", "2024-02-26"],
         "baseline": {"value": 31.2, "low": 28.4, "high": 34.0, "deals": 811},
         "recent": {"value": 0.0, "low": 0.0, "high": 0.0, "deals": 0},
         "p_value": 1.2e-11, "flagged": True, "direction": "down", "since": "2024-01-01",
         "before": {"value": 31.0, "low": 28.3, "high": 33.7, "deals": 838},
         "after": {"value": 0.0, "low": 0.0, "high": 0.0, "deals": 0},
         "change": -31.0,
         "summary": "new deals in Enterprise new business fell from 31 to 0 a week since 1 "
         "January 2024", "note": None},
        {"process": "smb_new_business", "from_milestone": "meeting_held",
         "from_name": "Meeting held", "to_milestone": "proposal_requested",
         "to_name": "Proposal requested", "metric": "conversion", "horizon_days": 11.0,
         "pace": 1.0,
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
    "and milestone, and of new deals a week per process (metric `created`): recent weeks "
    "against the half-year before, false discoveries held at 5 % over every test "
    "(Benjamini-Hochberg), with size and since when",
    responses=ok_responses(EXAMPLE),
    openapi_extra={"parameters": documented(NO_PERIOD)},
)
async def drift(request: Request, principal: Reader, store: KpiStoreDep) -> Response:
    filters = request_filters(request, principal, set(), period=False)
    return await answer(
        store,
        ("health-drift", filters.key()),
        lambda snapshot: drift_answer(snapshot, filters),
        as_of=requested_as_of(request),
    )


VALUE_EXAMPLE: dict[str, Any] = {
    "filters": {"process": None, "segment": None, "owner": None, "team": None,
                "connection": None, "start": None, "end": None},
    "as_of": "2024-03-04T00:00:00+00:00",
    "method": "For each milestone, the deals that reached it straight from the milestone ...",
    "false_discovery_rate": 0.05,
    "milestones": [
        {"process": "smb_new_business", "milestone": "meeting_held", "name": "Meeting held",
         "previous": "reply", "previous_name": "Replied", "reached_deals": 900,
         "reached": {"value": 0.27, "low": 0.24, "high": 0.3, "deals": 610},
         "comparable": {"value": 0.04, "low": 0.03, "high": 0.05, "deals": 2400},
         "lift": 0.23, "lift_low": 0.19, "lift_high": 0.27, "ratio": 6.75,
         "p_value": 1e-30, "verdict": "adds information",
         "days_added": {"value": 5.8, "low": 5.5, "high": 6.1, "deals": 880},
         "out_of_order": 4, "out_of_order_share": 0.0044, "often_out_of_order": False,
         "summary": "Replied → Meeting held: 27% of the deals that reached it won, against 4% "
         "of comparable deals that had not yet (+23 points, adds information); the step "
         "takes 5.8 days (median)"},
    ],
    "no_information": [],
    "out_of_order": [],
    "data_age_seconds": 42.0,
}  # fmt: skip


@router.get(
    "/value",
    response_model=ValueAnswer,
    summary="Per process and milestone: the win rate of deals that reached it against "
    "comparable deals that had not yet (same previous milestone, similar days there), the "
    "lift, the days the step adds; milestones that add no information or are often reached "
    "out of order are named",
    responses=ok_responses(VALUE_EXAMPLE),
    openapi_extra={"parameters": documented(NO_PERIOD)},
)
async def value(request: Request, principal: Reader, store: KpiStoreDep) -> Response:
    filters = request_filters(request, principal, set(), period=False)
    return await answer(
        store,
        ("health-value", filters.key()),
        lambda snapshot: milestone_value(snapshot, filters),
        as_of=requested_as_of(request),
    )


CANDIDATES_EXAMPLE: dict[str, Any] = {
    "status": "ready",
    "filters": {"process": None, "segment": None, "owner": None, "team": None,
                "connection": None, "start": None, "end": None},
    "as_of": "2025-07-01T00:00:00+00:00",
    "method": "Customer-side records that no active rule makes the evidence of a milestone ...",
    "records_scanned": 49572,
    "tested": 26,
    "candidates": [
        {"process": "smb_new_business", "stream": "EmailMessage",
         "action": "EmailMessage with Incoming true, Subject containing “security”",
         "key": "EmailMessage|Incoming=true|Subject~security", "deals": 209,
         "reached": {"value": 0.78, "low": 0.72, "high": 0.83, "deals": 174},
         "comparable": {"value": 0.22, "low": 0.2, "high": 0.25, "deals": 3100},
         "lift": 0.56, "lift_low": 0.49, "lift_high": 0.62, "ratio": 3.5, "p_value": 1e-40,
         "after": "meeting_held",
         "evidence": [
             {"occurred_at": "2023-03-02T10:15:00+00:00",
              "opportunity": {"external_id": "006000000000001AAA", "name": "Acme - New"},
              "evidence": {"connection": "crm", "stream": "EmailMessage",
                           "external_id": "02s000000000001AAA",
                           "url": "https://example.my.salesforce.com/lightning/r/EmailMessage/"
                           "02s000000000001AAA/view"},
              "text": "Security questionnaire: Acme"}],
         "rule_yaml": "- key: security_questionnaire\n  name: Security questionnaire\n"
         "  kind: writes\n  rules:\n  - key: security_questionnaire_emailmessage\n"
         "    stream: EmailMessage\n    when:\n      Incoming: true\n"
         "      Subject:\n        contains: security questionnaire\n",
         "validates": True, "problems": []},
    ],
    "data_age_seconds": 42.0,
}  # fmt: skip


PENDING_EXAMPLE: dict[str, Any] = {
    "status": "being computed",
    "filters": CANDIDATES_EXAMPLE["filters"],
    "as_of": "2025-07-01T00:00:00+00:00",
    "note": "the candidates read every stored customer record: they are computed off the "
    "request for the KPI view's current generation; ask again until status is ready",
    "retry_after_seconds": 5,
    "previous": None,
    "data_age_seconds": 42.0,
}


@router.get(
    "/candidates",
    response_model=CandidatesAnswer,
    summary="Candidate milestones: customer actions in the stored records that no rule makes a "
    "milestone, whose occurrence predicts winning, each with its lift over comparable deals, "
    "the deals that show it, sample evidence and a milestone to paste into the rules. "
    "Computed off the request, once per KPI view generation: until the answer for the current "
    "generation is ready the endpoint answers 202 with `status: being computed` (and the "
    "previous generation's answer, if any, in `previous`); ask again after `Retry-After` "
    "seconds until it answers 200 with `status: ready`",
    responses={
        **ok_responses(CANDIDATES_EXAMPLE),
        202: {
            "model": CandidatesPending,
            "description": "Being computed: ask again after `Retry-After` seconds",
            "headers": {"Retry-After": {"description": "Seconds", "schema": {"type": "integer"}}},
            "content": {"application/json": {"example": PENDING_EXAMPLE}},
        },
    },
    openapi_extra={"parameters": documented(NO_PERIOD)},
)
async def candidates(
    request: Request, principal: Reader, store: KpiStoreDep, database: DatabaseDep
) -> Response:
    """Never computed on the request: the keeper's answer for the view's current generation
    (`candidates_now`), or 202 "being computed" while it computes it."""
    filters = request_filters(request, principal, set(), period=False)
    as_of = requested_as_of(request)
    keeper = keeper_of(request.app)
    found = await run_in_threadpool(lambda: candidates_now(keeper, database, filters, as_of))
    encoded = await run_in_threadpool(encode, None, lambda _: found)
    response = encoded.sent(store.data_age_seconds())
    if isinstance(found, CandidatesPending):
        response.status_code = 202
        response.headers["Retry-After"] = str(found.retry_after_seconds)
    return response


class CompareRequest(RulesetSubmission):
    months: int = Field(default=12, ge=1, le=36, description="The latest origins scored.")


@router.post(
    "/compare",
    response_model=VersionsCompared,
    summary="Backtest of forecast quality with the active ruleset versions and with a draft "
    "rule file, side by side, before it is activated (nothing is stored)",
    responses={422: {"description": "Invalid ruleset or parameters",
                     "content": {"application/problem+json": {}}}},
    openapi_extra={"parameters": documented(NO_PERIOD[:-1])},
)  # fmt: skip
def compare(
    request: Request,
    body: CompareRequest,
    principal: Reader,
    store: KpiStoreDep,
    database: DatabaseDep,
) -> VersionsCompared | JSONResponse:
    filters = request_filters(request, principal, set(), period=False)
    if requested_as_of(request) is not None:
        raise InvalidRequestError("as_of: the comparison reads the view at the data clock")
    try:
        return compare_versions(
            database,
            body.rules,
            body.file,
            store=store,
            filters=filters,
            months=body.months,
            connection=body.connection,
        )
    except RulesetRejected as rejected:
        return _invalid(request, rejected)
