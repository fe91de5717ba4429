"""The backtest over the stored history: opportunity state plus, for the baseline as it stood
at each origin, the CRM's own field history (Salesforce `OpportunityHistory`: amount, stage
probability and close date over time). Where a CRM keeps no such history in the raw layer,
today's values stand in, and the answer says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from app.core.database import Database
from app.core.timestamps import DataAgeSeconds, IsoDateTime
from app.kpis.backtest import BacktestPoint, HorizonSummary, backtest, month_starts, summarise
from app.kpis.forecast import PipelineDeal
from app.kpis.history import DealHistory
from app.models.base import utcnow
from app.services.kpis.past import FieldHistory
from app.services.kpis.snapshot import Snapshot
from app.services.kpis.store import KpiStore

__all__ = ["BacktestReport", "FieldHistory", "NoBacktest", "ReplayPoint", "run_backtest"]


@dataclass(frozen=True, slots=True)
class ReplayPoint:
    """One origin and horizon: what was won in the month beside what each method expected."""

    origin: date
    horizon_months: int
    month: str
    """`YYYY-MM`."""
    actual: float
    forecast: float
    p10: float
    p90: float
    baseline: float
    naive: float

    @classmethod
    def of(cls, point: BacktestPoint) -> ReplayPoint:
        return cls(
            origin=point.origin,
            horizon_months=point.horizon,
            month=point.month.isoformat()[:7],
            actual=round(point.actual, 2),
            forecast=round(point.forecast, 2),
            p10=round(point.p10, 2),
            p90=round(point.p90, 2),
            baseline=round(point.baseline, 2),
            naive=round(point.naive, 2),
        )


@dataclass(frozen=True, slots=True)
class BacktestReport:
    """The backtest as the API and `milestones backtest --json` print it."""

    history_until: IsoDateTime
    as_of: IsoDateTime
    computed_at: IsoDateTime
    origins: list[date]
    baseline_values: str
    """Where the weighted pipeline at each origin comes from."""
    method: str
    horizons: list[HorizonSummary]
    points: list[ReplayPoint]
    data_age_seconds: DataAgeSeconds = None


@dataclass(frozen=True, slots=True)
class NoBacktest:
    """The answer while no opportunity is in a sales process yet."""

    origins: list[date]
    horizons: list[HorizonSummary]
    note: str
    data_age_seconds: DataAgeSeconds = None


def _current(snapshot: Snapshot) -> Callable[[DealHistory, datetime], PipelineDeal | None]:
    def at(deal: DealHistory, moment: datetime) -> PipelineDeal | None:
        info = snapshot.info.get(deal.key)
        if info is None:
            return None
        return PipelineDeal(deal.amount, info.stage_probability or 0.0, info.close_date)

    return at


def run_backtest(
    database: Database,
    months: int = 12,
    store: KpiStore | None = None,
    new_pipeline: bool = True,
    snapshot: Snapshot | None = None,
) -> BacktestReport | NoBacktest:
    """WAPE of the forecast, the baseline and a naive run-rate over the last `months` origins
    whose 3-month horizon is complete (by the view's as-of, or `snapshot`'s: a past one)."""
    store = store or KpiStore(database)
    snapshot = snapshot or store.snapshot()
    deals = [d for d in snapshot.deals.values() if d.process is not None]
    if not deals:
        return NoBacktest(
            origins=[],
            horizons=[],
            note="no opportunity history yet",
            data_age_seconds=store.data_age_seconds(),
        )
    first = min(d.created_at for d in deals)
    history_until = max(
        max(d.created_at for d in deals),
        max((d.closed_at for d in deals if d.closed_at is not None), default=first),
        max((d.reached[-1][1] for d in deals if d.reached), default=first),
    )
    now = snapshot.as_of  # the KPI view's "now": the data's clock, as every KPI uses it
    # an origin needs its third month finished: three month starts after it, up to now
    eligible = [o for o in month_starts(first, now) if len(month_starts(o, now)) >= 3]
    eligible = eligible[-months:]
    history = FieldHistory.load(database)
    at = history.at if len(history) else _current(snapshot)
    points = backtest(deals, eligible, at, new_pipeline=new_pipeline)
    return BacktestReport(
        history_until=history_until,
        as_of=now,
        computed_at=utcnow(),
        origins=[o.date() for o in eligible],
        baseline_values="CRM field history as of each origin"
        if len(history)
        else "today's amount, stage probability and close date (no field history stored)",
        method="As-of replay: at each origin the model is fitted only on what was known "
        "then; horizon h is the h-th calendar month from the origin; WAPE = sum|actual - "
        "forecast| / sum actual over all origins.",
        horizons=summarise(points),
        points=[ReplayPoint.of(p) for p in points],
        data_age_seconds=store.data_age_seconds(),
    )
