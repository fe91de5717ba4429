"""The forecast: the months ahead with their P10-P90 band, split into the deals at each
milestone and the pipeline not yet created; beside it the backtest (managers)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from app.api.deps import DatabaseDep, keeper_of
from app.kpis.backtest import CellSummary
from app.services.kpis.backtest import (
    BacktestReport,
    ReplayPoint,
    kept_backtest,
    kept_calibration,
)
from app.web import charts
from app.web.deps import KPI_ROLES, ViewerDep, csrf_protect, view_snapshot
from app.web.filters import FilterChoices, page_filters
from app.web.rendering import PageRoute, render
from app.web.views import FORECAST_MONTHS, cached, forecast_view

router = APIRouter(route_class=PageRoute, dependencies=[Depends(csrf_protect)])

BACKTEST_ORIGINS = 12


@router.get("/forecast")
async def forecast(request: Request, viewer: ViewerDep, database: DatabaseDep) -> Response:
    viewer.require(*KPI_ROLES)
    filters = await page_filters(request, viewer, database)
    store, snapshot = await view_snapshot(request)
    keeper = keeper_of(request.app)
    known, calibration = await run_in_threadpool(
        lambda: kept_calibration(keeper, database, filters.kpi(), wait=False)
    )
    view = await cached(
        store,
        snapshot,
        ("forecast", filters, *known),
        lambda s: forecast_view(s, filters, FORECAST_MONTHS, calibration),
    )
    chart = charts.forecast_band(
        view.labels,
        [
            charts.Series("Deals open now", view.open_pipeline, "s1"),
            charts.Series(
                "Pipeline not yet created",
                [m.new_pipeline_amount for m in view.forecast.months],
                "s2",
            ),
        ],
        [m.p10_amount for m in view.forecast.months],
        [m.p90_amount for m in view.forecast.months],
        title="Expected won amount per month, with the P10 to P90 band",
    )
    return render(
        request,
        "forecast.html",
        viewer,
        live=True,
        filters=filters,
        choices=FilterChoices.of(snapshot, viewer),
        periods=None,
        view=view,
        chart=chart,
    )


@router.get("/forecast/backtest")
async def backtest(request: Request, viewer: ViewerDep, database: DatabaseDep) -> Response:
    """The backtest over every rep (so not for reps, as in the API): the keeper's answer, the
    one the API gives, computed off the request path; while the first one is computed the
    page says so and loads it when it is ready."""
    viewer.require("manager")
    keeper = keeper_of(request.app)
    kept = await run_in_threadpool(
        lambda: kept_backtest(keeper, database, months=BACKTEST_ORIGINS, wait=False)
    )
    report = kept.value if kept is not None else None
    chart = None
    points: list[ReplayPoint] = []
    cells: list[CellSummary] = []
    if isinstance(report, BacktestReport):
        points = [
            p
            for p in report.points
            if p.horizon_months == 1 and not p.cumulative and p.part == "total"
        ]
        cells = [c for c in report.cells if c.part == "total" and c.horizon_months in (1, 3)]
        chart = charts.lines(
            [p.month for p in points],
            [
                charts.Series("Milestone forecast", [p.forecast for p in points], "s1"),
                charts.Series(
                    "Weighted pipeline", [p.weighted_pipeline or 0.0 for p in points], "s2"
                ),
                charts.Series("Actual won", [p.actual for p in points], "s3"),
            ],
            title="Backtest, one month ahead: forecast, weighted pipeline and actual won",
        )
    return render(
        request,
        "backtest.html",
        viewer,
        kept=kept,
        report=report,
        points=points,
        cells=cells,
        chart=chart,
        live=True,
    )
