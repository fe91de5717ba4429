"""The recency half-life of each process, as the view's model is fitted with it.

One truth for the API, the CLI, the web app and the CRM write-back: the store resolves each
process's half-life when it fits the model (`halflife.resolve`: as ops set it in the ruleset,
the default, or "auto": chosen by `backtest.choose_half_life` on the process's deals as known
strictly before the view's as-of), keeps it on the snapshot (`Snapshot.half_lives`) and
derives every win probability with it. A choice costs a small backtest per candidate, so it
is kept in a `BoundedCache` per process and data generation (the state's watermark and the
as-of): a refit on unchanged data does not choose again.

    half_lives = process_half_lives(processes, deals, as_of, cache, data_key)
    derive(columns, model, as_of, fitted_with(half_lives))
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import datetime

from app.core.caching import BoundedCache
from app.kpis.backtest import choose_half_life
from app.kpis.columns import DealColumns, Floats
from app.kpis.halflife import HalfLife, resolve
from app.kpis.history import DealHistory
from app.services.kpis.snapshot import Labels, ProcessInfo, deal_history

__all__ = [
    "ChoiceCache",
    "fitted_with",
    "new_choice_cache",
    "process_half_lives",
    "snapshot_deals",
]

ChoiceCache = BoundedCache[tuple[int, Hashable], HalfLife]
CHOICES = 64


def new_choice_cache() -> ChoiceCache:
    return BoundedCache(
        "half-lives chosen by backtest ('auto'): a few backtests per process and data generation",
        size=CHOICES,
    )


def process_half_lives(
    processes: Mapping[int, ProcessInfo],
    deals: Callable[[], Sequence[DealHistory]],
    as_of: datetime,
    cache: ChoiceCache | None = None,
    data_key: Hashable = None,
) -> dict[int, HalfLife]:
    """Each process's half-life and why. "auto" is chosen on `deals()` (every deal of these
    processes, read only when a process is "auto") as known strictly before `as_of`; with a
    `cache`, once per (process, `data_key`, `as_of`)."""
    history: Sequence[DealHistory] | None = None
    found: dict[int, HalfLife] = {}
    for process in processes.values():

        def choose(process_id: int = process.id) -> float | None:
            nonlocal history
            if history is None:
                history = [d for d in deals() if d.process in processes]
            mine = {d.key for d in history if d.process == process_id}
            return choose_half_life(history, as_of, selected=mine)

        key = (process.id, (data_key, as_of))
        auto = process.half_life_days == "auto"
        kept = cache.get(key) if cache is not None and auto else None
        if kept is None:
            kept = resolve(process.half_life_days, choose)
            if cache is not None and auto:
                cache.put(key, kept)
        found[process.id] = kept
    return found


def snapshot_deals(cols: DealColumns, labels: Labels, last_action: Floats) -> list[DealHistory]:
    """Every row of the columns as a `DealHistory` (what `choose_half_life` replays)."""
    return [deal_history(cols, labels, last_action, row) for row in range(len(cols))]


def fitted_with(half_lives: Mapping[int, HalfLife]) -> dict[int, float | None]:
    """The per-process half-lives `winmodel.fit_win_model` takes."""
    return {process: chosen.days for process, chosen in half_lives.items()}
