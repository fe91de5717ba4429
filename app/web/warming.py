"""The pages a manager opens first, drawn ahead of the first request of each generation.

Every pipeline pass publishes a new generation of the KPI view, and a page's answers are kept
per generation: without this, the first view of the pipeline, forecast and reps pages after
each pass would compute them on the request (0.2 to 0.6 s each at 100,000 deals). They are
computed instead on the view's refresh thread as soon as the generation is published, under
the keys the pages read (`views.page_key`), as the API warms its dashboard answers.

    store.on_snapshot(warm_pages(store, database, keeper))

The forecast is drawn with the band calibration kept then (`kept_calibration`: the model's own
band while the first backtest is computed), under the key the page reads with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.core.database import Database
from app.services.kpis.backtest import kept_calibration
from app.services.kpis.keeper import Keeper
from app.services.kpis.snapshot import Snapshot
from app.services.kpis.store import KpiStore
from app.services.state.owners import list_reps
from app.web.filters import PageFilters
from app.web.views import FORECAST_MONTHS, forecast_view, page_key, pipeline_view, reps_view

__all__ = ["warm_pages"]


def warm_pages(store: KpiStore, database: Database, keeper: Keeper) -> Callable[[Snapshot], None]:
    """A warmer for `KpiStore.on_snapshot`: the unfiltered pipeline, forecast and reps views."""

    def warm(snapshot: Snapshot) -> None:
        everyone = PageFilters()
        with database.sessions() as session:
            reps = list_reps(session)
        pages: list[tuple[tuple[Any, ...], Callable[[Snapshot], Any]]] = [
            (("pipeline", everyone), lambda s: pipeline_view(s, everyone)),
            (("reps", everyone), lambda s: reps_view(s, everyone, reps)),
        ]
        known, calibration = kept_calibration(keeper, database, everyone.kpi(), wait=False)
        pages.append(
            (
                ("forecast", everyone, *known),
                lambda s: forecast_view(s, everyone, FORECAST_MONTHS, calibration),
            )
        )
        for key, compute in pages:
            full = page_key(snapshot, key)
            if store.remembered(full) is None:
                store.remember(full, compute(snapshot))

    return warm
