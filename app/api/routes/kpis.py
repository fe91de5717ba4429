"""KPIs and the forecast for managers (all of them) and reps (their own), over the API.

Every endpoint takes the same filters (process, segment, owner, team, connection and, where it
applies, a period `start`..`end`, end exclusive) and `as_of`, a past instant to answer at as
an export taken then would (`KpiStore.at`); an unknown parameter, an inverted period, a value
out of range or an instant the view cannot answer at is a 422 problem naming the parameter.
A rep's key sees only that rep's opportunities: the owner filter is set to the rep, and naming
another owner is a 403.
Tables take cursor pagination (`limit`, `cursor`) and `format=csv`.

Every answer states `as_of`, the data clock it is computed at, and ends with
`data_age_seconds`, how long ago the newest successful sync behind it finished (also the
`X-Data-Age-Seconds` header). Answers are encoded once per state generation; the age, which
moves every second, is written into the kept bytes as each response is sent.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import fields
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app.api import kpi_examples as examples
from app.api.answering import (
    ALL_FILTERS,
    AS_OF,
    NO_PERIOD,
    AsOfQuery,
    Reader,
    answer,
    documented,
    encode,
    encode_json,
    instant,
    ok_responses,
    request_filters,
    requested_as_of,
)
from app.api.deps import DatabaseDep, KpiStoreDep, keeper_of, kpi_store_of
from app.core.database import Database
from app.core.errors import ForbiddenError, InvalidRequestError, NotFoundError
from app.services.kpis import queries as service
from app.services.kpis.answers import (
    BandCalibration,
    ForecastAnswer,
    FunnelAnswer,
    MovementAnswer,
    Scorecard,
    VelocityAnswer,
)
from app.services.kpis.backtest import (
    BacktestReport,
    NoBacktest,
    backtest_ask,
    band_calibration,
    kept_backtest,
    kept_calibration,
    run_backtest,
)
from app.services.kpis.backtest import csv_rows as backtest_csv_rows
from app.services.kpis.keeper import Keeper
from app.services.kpis.rows import (
    OpportunityDetail,
    OpportunityKpis,
    OpportunityPage,
    OpportunityTable,
)
from app.services.kpis.store import KpiStore
from app.services.kpis.timeline import opportunity_timeline
from app.services.state.owners import owner_id_of

router = APIRouter(prefix="/api/v1", tags=["kpis"])

TABLE = {"limit", "cursor", "format"}


def _cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequestError("cursor: not a cursor this API returned") from None


COLUMNS = [f.name for f in fields(OpportunityKpis)]


def _cell(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _table(page: OpportunityPage, fmt: str, name: str, as_of: datetime) -> Any:
    next_cursor = (
        base64.urlsafe_b64encode(str(page.next_after).encode()).decode()
        if page.next_after is not None
        else None
    )
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS if page.data else ["id"])
        writer.writerows([_cell(getattr(row, c)) for c in COLUMNS] for row in page.data)
        headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
        if next_cursor:
            headers["X-Next-Cursor"] = next_cursor
        return out.getvalue().encode(), "text/csv; charset=utf-8", headers
    table = OpportunityTable(page.data, len(page.data), page.total, next_cursor, as_of)
    return encode_json(table), "application/json", {}


LimitQuery = Annotated[int, Query(ge=1, le=1000, description="Rows per page.")]
CursorQuery = Annotated[str | None, Query(description="`next_cursor` of the previous page.")]
FormatQuery = Annotated[Literal["json", "csv"], Query(description="json, or csv for export.")]
Answer = tuple[tuple[Any, ...], Callable[[Any], Any]]
"""A cache key (without the generation) and how to compute the answer from a snapshot."""


def _funnel(filters: service.Filters) -> Answer:
    return ("funnel", filters.key()), lambda s: service.funnel(s, filters)


def _movement(filters: service.Filters, by: service.Bucket) -> Answer:
    return ("movement", by, filters.key()), lambda s: service.movement(s, filters, by)


def _velocity(filters: service.Filters) -> Answer:
    return ("velocity", filters.key()), lambda s: service.velocity(s, filters)


def _forecast(
    filters: service.Filters,
    months: int,
    new_pipeline: bool,
    known: tuple[Any, ...],
    calibration: BandCalibration,
) -> Answer:
    """`known` tells the band calibrations apart (the backtest's generation and instant)."""
    return (
        ("forecast", months, new_pipeline, filters.key(), *known),
        lambda s: service.forecast_kpi(s, filters, months, new_pipeline, calibration),
    )


@router.get(
    "/funnel",
    response_model=FunnelAnswer,
    summary="Reached per milestone, conversion to the next milestone and to won",
    responses=ok_responses(examples.FUNNEL),
    openapi_extra={"parameters": documented(ALL_FILTERS)},
)
async def funnel(request: Request, principal: Reader, store: KpiStoreDep) -> Response:
    return await answer(
        store, *_funnel(request_filters(request, principal, set())), as_of=requested_as_of(request)
    )


@router.get(
    "/movement",
    response_model=MovementAnswer,
    summary="Milestone advances and progress value per rep, team and process",
    responses=ok_responses(examples.MOVEMENT),
    openapi_extra={"parameters": documented(ALL_FILTERS)},
)
async def movement(
    request: Request,
    principal: Reader,
    store: KpiStoreDep,
    by: Annotated[Literal["week", "month"], Query(description="Bucket size.")] = "week",
) -> Response:
    filters = request_filters(request, principal, {"by"})
    return await answer(store, *_movement(filters, by), as_of=requested_as_of(request))


@router.get(
    "/velocity",
    response_model=VelocityAnswer,
    summary="Median and 80th-percentile days between milestones, open deals censored",
    responses=ok_responses(examples.VELOCITY),
    openapi_extra={"parameters": documented(ALL_FILTERS)},
)
async def velocity(request: Request, principal: Reader, store: KpiStoreDep) -> Response:
    return await answer(
        store,
        *_velocity(request_filters(request, principal, set())),
        as_of=requested_as_of(request),
    )


@router.get(
    "/stalled",
    response_model=OpportunityTable,
    summary="Open opportunities stalled beyond the historical 80th percentile, with guidance",
    responses=ok_responses(examples.OPPORTUNITIES, table=True),
    openapi_extra={"parameters": documented(NO_PERIOD)},
)
async def stalled(
    request: Request,
    principal: Reader,
    store: KpiStoreDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
    format: FormatQuery = "json",
) -> Response:
    filters = request_filters(request, principal, TABLE, period=False)
    after = _cursor(cursor)
    return await answer(
        store,
        ("stalled", filters.key(), limit, after, format),
        lambda s: _table(
            service.opportunity_page(
                s, filters, outcome="open", only_stalled=True, limit=limit, after=after
            ),
            format,
            "stalled",
            s.as_of,
        ),
        as_of=requested_as_of(request),
    )


@router.get(
    "/forecast",
    response_model=ForecastAnswer,
    summary="Expected won amount and count per month with a P10-P90 band, and the baseline",
    responses=ok_responses(examples.FORECAST),
    openapi_extra={"parameters": documented(NO_PERIOD)},
)
async def forecast(
    request: Request,
    principal: Reader,
    store: KpiStoreDep,
    database: DatabaseDep,
    months: Annotated[int, Query(ge=1, le=12, description="Months ahead, this one first.")] = 3,
    new_pipeline: Annotated[
        bool, Query(description="Add expected wins of deals not yet created.")
    ] = True,
) -> Response:
    """The band is calibrated by the keeper's backtest of every opportunity (computed off the
    request path: until the first one is ready, the band is the model's own and says so), or
    for a past view, one replayed on this request from what was known before that instant,
    once per instant."""
    filters = request_filters(request, principal, {"months", "new_pipeline"}, period=False)
    as_of = requested_as_of(request)
    if as_of is not None:

        def past(snapshot: Any) -> Any:
            calibration = band_calibration(database, snapshot, filters, store)
            return service.forecast_kpi(snapshot, filters, months, new_pipeline, calibration)

        key = ("forecast", months, new_pipeline, filters.key())
        return await answer(store, key, past, as_of=as_of)
    keeper = keeper_of(request.app)
    known, calibration = await run_in_threadpool(
        lambda: kept_calibration(keeper, database, filters, wait=False)
    )
    return await answer(store, *_forecast(filters, months, new_pipeline, known, calibration))


@router.get(
    "/opportunities",
    response_model=OpportunityTable,
    summary="Opportunities with their milestone, win probability and expected value",
    responses=ok_responses(examples.OPPORTUNITIES, table=True),
    openapi_extra={"parameters": documented(ALL_FILTERS)},
)
async def opportunities(
    request: Request,
    principal: Reader,
    store: KpiStoreDep,
    outcome: Annotated[Literal["open", "won", "lost"] | None, Query()] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
    format: FormatQuery = "json",
) -> Response:
    filters = request_filters(request, principal, TABLE | {"outcome"})
    after = _cursor(cursor)
    return await answer(
        store,
        ("opportunities", outcome, filters.key(), limit, after, format),
        lambda s: _table(
            service.opportunity_page(s, filters, outcome=outcome, limit=limit, after=after),
            format,
            "opportunities",
            s.as_of,
        ),
        as_of=requested_as_of(request),
    )


@router.get(
    "/opportunities/{opportunity_id}",
    response_model=OpportunityDetail,
    summary="One opportunity: timeline of milestone events with evidence, win probability, "
    "expected value, the next step",
    responses=ok_responses(examples.OPPORTUNITY),
)
async def opportunity(
    opportunity_id: int,
    principal: Reader,
    store: KpiStoreDep,
    database: DatabaseDep,
    as_of: AsOfQuery = None,
) -> Response:
    moment = instant(AS_OF, as_of)

    def compute(snapshot: Any) -> OpportunityDetail:
        row = service.opportunity_detail(snapshot, opportunity_id)
        if principal.role == "rep" and row.owner != principal.owner:
            raise NotFoundError(f"no opportunity with id {opportunity_id}")
        past = snapshot.as_of if moment is not None else None
        timeline = opportunity_timeline(database, opportunity_id, snapshot.versions, past)
        return OpportunityDetail.of(row, snapshot.as_of, timeline)

    owner = principal.owner if principal.role == "rep" else None
    return await answer(store, ("opportunity", opportunity_id, owner), compute, as_of=moment)


@router.get(
    "/reps/{rep}/scorecard",
    response_model=Scorecard,
    summary="A rep's own KPIs: progress value this week and month, movement, stalled deals",
    responses=ok_responses(examples.SCORECARD),
)
async def scorecard(
    rep: Annotated[
        str, Path(max_length=320, description="The rep's CRM owner id, name or e-mail.")
    ],
    principal: Reader,
    store: KpiStoreDep,
    database: DatabaseDep,
    as_of: AsOfQuery = None,
) -> Response:
    rep = await run_in_threadpool(_owner_id, database, rep)
    if principal.role == "rep" and rep != principal.owner:
        raise ForbiddenError("a rep's key sees only that rep's own scorecard")
    return await answer(
        store,
        ("scorecard", rep),
        lambda s: service.scorecard(s, rep),
        as_of=instant(AS_OF, as_of),
    )


def _owner_id(database: Database, who: str) -> str:
    with database.sessions() as session:
        return owner_id_of(session, who)


def _day(name: str, text: str | None) -> date | None:
    moment = instant(name, text)
    if moment is None:
        return None
    if moment != datetime(moment.year, moment.month, moment.day, tzinfo=UTC):
        raise InvalidRequestError(f"{name}: an origin is a day (YYYY-MM-DD), midnight UTC")
    return moment.date()


def _backtest_csv(result: BacktestReport | NoBacktest) -> tuple[bytes, str, dict[str, str]]:
    header, rows = backtest_csv_rows(result)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    headers = {"Content-Disposition": 'attachment; filename="backtest.csv"'}
    return out.getvalue().encode(), "text/csv; charset=utf-8", headers


@router.get(
    "/backtest",
    response_model=BacktestReport | NoBacktest,
    summary="The forecast replayed as of past origins, 1-12 months ahead (each month and "
    "cumulative; deals open at the origin, created later, total): WAPE, bias, P10-P90 "
    "coverage and pinball loss beside the milestone-free model, the CRM's weighted pipeline "
    "and a naive run-rate. Lower WAPE is better.",
    responses=ok_responses(examples.BACKTEST, table=True),
    openapi_extra={"parameters": documented(NO_PERIOD)},
)
async def backtest(
    request: Request,
    principal: Reader,
    store: KpiStoreDep,
    database: DatabaseDep,
    months: Annotated[
        int, Query(ge=1, le=520, description="Without `from`: how many of the latest origins.")
    ] = 12,
    start: Annotated[
        str | None, Query(alias="from", description="First origin (YYYY-MM-DD, midnight UTC).")
    ] = None,
    end: Annotated[str | None, Query(alias="to", description="Last origin (YYYY-MM-DD).")] = None,
    every: Annotated[
        Literal["month", "week"], Query(description="Origins at month starts, or every 7 days.")
    ] = "month",
    horizons: Annotated[int, Query(ge=1, le=12, description="Months ahead: 1..N.")] = 12,
    format: FormatQuery = "json",
) -> Response:
    if principal.role == "rep":
        raise ForbiddenError("the backtest covers every rep: it needs a manager key")
    accepted = {"months", "from", "to", "every", "horizons", "format"}
    filters = request_filters(request, principal, accepted, period=False)
    first, last = _day("from", start), _day("to", end)

    as_of = requested_as_of(request)
    if as_of is not None:  # a past view: computed on this request, once per instant

        def compute(snapshot: Any) -> Any:
            result = run_backtest(
                database,
                months,
                store,
                start=first,
                end=last,
                every=every,
                horizons=horizons,
                filters=filters,
                snapshot=snapshot,
            )
            return _backtest_csv(result) if format == "csv" else result

        key = ("backtest", months, first, last, every, horizons, format, filters.key())
        return await answer(store, key, compute, as_of=as_of)
    kept = await run_in_threadpool(
        lambda: kept_backtest(
            keeper_of(request.app),
            database,
            months=months,
            start=first,
            end=last,
            every=every,
            horizons=horizons,
            filters=filters,
            wait=True,
        )
    )
    assert kept is not None
    report = kept.value
    encoded = await run_in_threadpool(
        encode, None, lambda _: _backtest_csv(report) if format == "csv" else report
    )
    response = encoded.sent(store.data_age_seconds())
    # a kept answer may be a generation old while the current one is computed: its body's
    # `as_of` says when it was computed at; the header says whether a newer one is coming
    response.headers["X-KPI-Generation"] = str(kept.generation)
    response.headers["X-KPI-Current"] = "true" if kept.current else "false"
    return response


def _precompute(store: KpiStore, keeper: Keeper, database: Database) -> Callable[[Any], None]:
    """Answers a manager's dashboard asks first, encoded as soon as a snapshot is published
    (the forecast once a backtest calibrates its band)."""

    def warm(snapshot: Any) -> None:
        everyone = service.Filters()
        answers = [_funnel(everyone), _velocity(everyone), _movement(everyone, "week")]
        known, calibration = kept_calibration(keeper, database, everyone, wait=False)
        if calibration.state != "being computed":
            answers.append(_forecast(everyone, 3, True, known, calibration))
        for name, compute in answers:
            full = (snapshot.generation, *name)
            if store.remembered(full) is None:
                store.remember(full, encode(snapshot, compute))

    return warm


@asynccontextmanager
async def _start_view(app: Any) -> AsyncIterator[None]:
    """Load opportunity state and fit the model while the server starts, not on a request."""
    store = kpi_store_of(app)
    keeper = keeper_of(app)
    if not store.ready:
        store.on_snapshot(_precompute(store, keeper, app.state.database))
        store.start()
        keeper.keep(*backtest_ask(keeper, app.state.database))  # the forecast page's
    try:
        yield
    finally:
        keeper.stop()
        store.stop()


router.lifespan_context = _start_view
