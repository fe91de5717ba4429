"""What each page shows, put together from the KPI services' answers (never recomputed here).

The pipeline's chain lays a period's funnel beside the previous period's and the velocity
between milestones; the forecast lays the monthly forecast beside its split per milestone.
What is shown is what the API answers for the same filters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from fastapi.concurrency import run_in_threadpool

from app.services.kpis import queries
from app.services.kpis.answers import ConversionAnswer, ForecastAnswer, FunnelAnswer
from app.services.kpis.breakdowns import MilestoneForecast
from app.services.kpis.snapshot import Snapshot
from app.services.kpis.store import KpiStore
from app.web.filters import PageFilters

__all__ = ["ForecastView", "PipelineView", "cached", "forecast_view", "pipeline_view"]

T = TypeVar("T")
SHORTFALL_MINIMUM = 3
"""A milestone reached fewer times than this in the previous period is too thin to compare."""


async def cached(
    store: KpiStore, snapshot: Snapshot, key: tuple[Any, ...], compute: Callable[[Snapshot], T]
) -> T:
    """`compute(snapshot)` on a worker thread, once per view generation (as the API does)."""
    full = (snapshot.generation, snapshot.as_of, "web", *key)
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


def forecast_view(snapshot: Snapshot, filters: PageFilters, months: int) -> ForecastView:
    kpi = filters.kpi()
    return ForecastView(
        queries.forecast_kpi(snapshot, kpi, months, True),
        queries.forecast_by_milestone(snapshot, kpi, months),
    )
