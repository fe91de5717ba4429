"""What each page shows, put together from the KPI services' answers (never recomputed here).

The pipeline's chain lays a period's funnel beside the previous period's and the velocity
between milestones; the forecast lays the monthly forecast beside its split per milestone.
What is shown is what the API answers for the same filters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select

from app.core.database import Database
from app.core.errors import ConflictError
from app.models.targets import Target
from app.services.kpis import queries
from app.services.kpis.answers import (
    BandCalibration,
    ConversionAnswer,
    ForecastAnswer,
    FunnelAnswer,
    Scorecard,
)
from app.services.kpis.breakdowns import MilestoneForecast, RepStep
from app.services.kpis.filters import Filters
from app.services.kpis.rows import OpportunityKpis
from app.services.kpis.snapshot import Snapshot
from app.services.kpis.store import KpiStore
from app.services.state.owners import RepRef
from app.services.targets.plan import target_plan
from app.services.targets.public import TargetPlan
from app.services.targets.records import current_targets
from app.web.filters import PageFilters

__all__ = [
    "FORECAST_MONTHS",
    "ForecastView",
    "PipelineView",
    "RepLine",
    "RepView",
    "cached",
    "forecast_view",
    "page_key",
    "pipeline_view",
    "rep_view",
    "reps_view",
]

T = TypeVar("T")
SHORTFALL_MINIMUM = 3
"""A milestone reached fewer times than this in the previous period is too thin to compare."""


FORECAST_MONTHS = 6
"""The months ahead the forecast page shows."""


def page_key(snapshot: Snapshot, key: tuple[Any, ...]) -> tuple[Any, ...]:
    """Where a page's answer for `key` is kept in the KPI view's answers (per generation)."""
    return (snapshot.generation, snapshot.as_of, "web", *key)


async def cached(
    store: KpiStore, snapshot: Snapshot, key: tuple[Any, ...], compute: Callable[[Snapshot], T]
) -> T:
    """`compute(snapshot)` on a worker thread, once per view generation (as the API does);
    the first pages' answers are computed ahead (`app.web.warming`)."""
    full = page_key(snapshot, key)
    found = store.remembered(full)
    if found is None:
        found = await run_in_threadpool(compute, snapshot)
        store.remember(full, found)
    return found  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Stop:
    """One milestone in a process's chain, as the pipeline page shows it."""

    key: str
    name: str
    kind: str | None
    position: int
    reached: int
    previous: int
    conversion: ConversionAnswer | None
    next_name: str | None
    median_days: float | None
    p80_days: float | None
    short: bool = False

    @property
    def change(self) -> int:
        return self.reached - self.previous

    @property
    def change_share(self) -> float | None:
        return self.change / self.previous if self.previous else None


@dataclass(frozen=True)
class Chain:
    key: str
    name: str
    stops: list[Stop]
    versions: list[int]

    @property
    def shortfall(self) -> Stop | None:
        return next((s for s in self.stops if s.short), None)


@dataclass(frozen=True)
class PipelineView:
    funnel: FunnelAnswer
    chains: list[Chain]


def _shortfall(stops: list[Stop]) -> list[Stop]:
    """Mark the milestone whose movement fell furthest behind the previous period's."""
    candidates = [s for s in stops if s.previous >= SHORTFALL_MINIMUM and s.reached < s.previous]
    if not candidates:
        return stops
    worst = min(candidates, key=lambda s: (s.change_share or 0.0, s.position))
    return [replace(s, short=s is worst) for s in stops]


def pipeline_view(snapshot: Snapshot, filters: PageFilters) -> PipelineView:
    now = snapshot.as_of
    current = queries.funnel(snapshot, filters.kpi(now))
    before = {
        p.process: {m.milestone: m.reached for m in p.milestones}
        for p in queries.funnel(snapshot, filters.kpi(now, back=1)).processes
    }
    speed = {
        p.process: {(s.from_, s.to): s for s in p.steps}
        for p in queries.velocity(snapshot, filters.kpi()).processes
    }
    chains = []
    for process in current.processes:
        names = {m.milestone: m.name for m in process.milestones}
        stops = []
        for step in process.milestones:
            pace = (
                speed.get(process.process, {}).get((step.milestone, step.next_milestone))
                if step.next_milestone
                else None
            )
            stops.append(
                Stop(
                    key=step.milestone,
                    name=step.name,
                    kind=step.kind,
                    position=step.position,
                    reached=step.reached,
                    previous=before.get(process.process, {}).get(step.milestone, 0),
                    conversion=step.conversion_to_next,
                    next_name=names.get(step.next_milestone or ""),
                    median_days=pace.median_days if pace else None,
                    p80_days=pace.p80_days if pace else None,
                )
            )
        chains.append(
            Chain(process.process, process.name, _shortfall(stops), process.ruleset_versions)
        )
    return PipelineView(current, chains)


@dataclass(frozen=True)
class ForecastView:
    forecast: ForecastAnswer
    split: list[MilestoneForecast]

    @property
    def labels(self) -> list[str]:
        return [m.month for m in self.forecast.months]

    @property
    def open_pipeline(self) -> list[float]:
        """Per month, the expected amount of the deals open now (without new pipeline)."""
        return [round(m.expected_amount - m.new_pipeline_amount, 2) for m in self.forecast.months]

    @property
    def rows(self) -> list[MilestoneForecast]:
        """The milestones any open deal stands at."""
        return [m for m in self.split if m.deals]


def forecast_view(
    snapshot: Snapshot, filters: PageFilters, months: int, calibration: BandCalibration
) -> ForecastView:
    """The forecast with its band as `calibration` draws it (the API's, `kept_calibration`)."""
    kpi = filters.kpi()
    return ForecastView(
        queries.forecast_kpi(snapshot, kpi, months, True, calibration),
        queries.forecast_by_milestone(snapshot, kpi, months),
    )


@dataclass(frozen=True)
class MilestoneDeals:
    process: str
    position: int
    name: str
    deals: list[OpportunityKpis]

    @property
    def expected_value(self) -> float:
        return round(sum(d.expected_value for d in self.deals), 2)


@dataclass(frozen=True)
class RepView:
    card: Scorecard
    weeks: list[tuple[date, float]]
    steps: list[RepStep]
    by_milestone: list[MilestoneDeals]


WEEKS = 12
OPEN_DEALS_SHOWN = 5000


def rep_view(snapshot: Snapshot, owner: str) -> RepView:
    """A rep's page: their progress value week by week, latest steps, open deals by milestone
    and stalled deals; what moved, never how busy anyone was."""
    card = queries.scorecard(snapshot, owner)
    start = queries.bucket_start(snapshot.as_of, "week") - timedelta(weeks=WEEKS - 1)
    first = datetime(start.year, start.month, start.day, tzinfo=UTC)
    moved = queries.movement(
        snapshot,
        Filters(owner=owner, start=first, end=snapshot.as_of + timedelta(seconds=1)),
        "week",
    )
    per_week: dict[date, float] = {}
    for item in moved.per_rep:
        per_week[item.period] = per_week.get(item.period, 0.0) + item.progress_value
    weeks = [
        (start + timedelta(weeks=i), round(per_week.get(start + timedelta(weeks=i), 0.0), 2))
        for i in range(WEEKS)
    ]
    rows = queries.opportunity_page(
        snapshot, Filters(owner=owner), outcome="open", limit=OPEN_DEALS_SHOWN
    ).data
    groups: dict[tuple[str, int], MilestoneDeals] = {}
    for row in rows:
        key = (row.process, row.position)
        if key not in groups:
            groups[key] = MilestoneDeals(
                row.process, row.position, row.milestone_name or "Opportunity created", []
            )
        groups[key].deals.append(row)
    ordered = [groups[k] for k in sorted(groups)]
    for group in ordered:
        group.deals.sort(key=lambda d: -d.expected_value)
    steps = queries.latest_steps(snapshot, Filters(owner=owner), limit=10)
    return RepView(card, weeks, steps, ordered)


@dataclass(frozen=True)
class RepLine:
    owner: str
    name: str
    team: str | None
    progress_value: float
    advances: int


def reps_view(snapshot: Snapshot, filters: PageFilters, reps: list[RepRef]) -> list[RepLine]:
    """The reps (of the team filtered on), with this month's progress value and advances."""
    moved = queries.movement(snapshot, filters.kpi(), "month")
    month = queries.bucket_start(snapshot.as_of, "month")
    progress = {m.rep: m for m in moved.per_rep if m.period == month}
    lines: dict[str, RepLine] = {}
    for rep in reps:
        if rep.external_id in lines or (filters.team and rep.team != filters.team):
            continue
        found = progress.get(rep.external_id)
        lines[rep.external_id] = RepLine(
            rep.external_id,
            rep.name,
            rep.team,
            found.progress_value if found else 0.0,
            found.advances if found else 0,
        )
    return sorted(lines.values(), key=lambda line: (-line.progress_value, line.name.lower()))


def targets_stamp(database: Database) -> tuple[int, object]:
    """Changes whenever a target is set, changed or removed: part of the key plans are kept
    under, so a new target shows at once, not at the next pipeline pass."""
    with database.sessions() as session:
        count, latest = session.execute(
            select(func.count(Target.id), func.max(Target.updated_at))
        ).one()
    return int(count), latest


def current_target_plans(
    database: Database, snapshot: Snapshot, *, process: str | None, owner: str | None, rep: bool
) -> list[TargetPlan]:
    """The plans of the targets whose month or quarter holds the view's as-of: those of
    `process` (or every process); a rep's page (`rep`) shows only `owner`'s own targets."""
    if rep and owner is None:
        return []  # a rep key with no CRM owner has no targets of its own
    with database.sessions() as session:
        targets = current_targets(session, snapshot.as_of, process=process, owner=owner)
    plans = []
    for target in targets:
        try:
            plans.append(target_plan(snapshot, target))
        except ConflictError:  # its process is in no active ruleset
            continue
    return plans
