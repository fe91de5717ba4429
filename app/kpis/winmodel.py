"""P(won in a window | process, milestone, days at it): the forecast's model.

Why not `model.Model`'s landmark curves: a deal at milestone k for d days used to take the
curve of the coarse landmark L <= d below it (0, 7, 14, 30, ...) conditioned only on "no
outcome yet". Deals that *advanced* between L and d (the likelier winners) stayed in its
reference set, so a deal that had not advanced by d looked better than it was; backtests
showed the milestone forecast biased high and worse than deal age alone. Here:

- **Exact landmarks.** The reference set of a deal at k for d days is every deal that was
  still at k d' days after reaching it, d' the point of `GRID` at or below d (daily for a
  month, then every 3 days to 90, weekly to a year, monthly to three): deals that moved on
  before d' are out.
- **Recency.** Each stay is weighted by its age at the as-of with its process's half-life
  (`recency.recency_weights`; one for all, or one per process as ops set it or a backtest
  chose it, `halflife`): the model follows a market that changes.
- **Shrinkage.** A cell is pulled towards its parent as if the parent added `PRIOR_DEALS`
  deals: the same process and milestone at the grid point just below (nearly the same
  deals, a few days earlier), down to arrival at the milestone, which is pulled towards every
  process at that milestone. Thin cells and long tails borrow from their neighbours; a rich
  cell keeps its own estimate (`curves.shrink`). Two other parents were measured and dropped
  (backtests of generated histories, BENCHMARKS.md): the coarse landmark below (0, 7, 14,
  30, ...) biased the forecast high, its deals including those that advanced since; every
  process at the same days did a little worse than the neighbour a few days earlier.
- **Deal size.** Large deals win less often than small ones: each deal's probability is
  moved by its size class's observed-over-expected wins (`size.size_effect`).
- **Evidence.** Every estimate says how many deals its own cell rests on.

With every deal at position 0 (no milestone reached) this is the same estimator on deal age
alone: the backtest's milestone-free baseline.

    model = fit_win_model(columns, epoch(as_of))
    model.win(process, position, days_at=12.0)              # Estimate: value, sample, ...
    model.probabilities(process, position, days, offsets)   # [deal, window] P(won in it)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from app.kpis.columns import Bools, DealColumns, Floats, Ints
from app.kpis.curves import HORIZON_DAYS, DailyCurve, daily_incidence, never_certain, shrink
from app.kpis.history import DAY, DealHistory
from app.kpis.incidence import CENSORED, LOST, WON
from app.kpis.recency import DEFAULT_HALF_LIFE_DAYS, recency_weights
from app.kpis.size import SizeEffect, size_effect

__all__ = [
    "GRID",
    "PRIOR_DEALS",
    "Estimate",
    "HalfLives",
    "Source",
    "WinModel",
    "fit_win_model",
    "fit_win_model_histories",
    "grid_point",
]

GRID: tuple[int, ...] = (
    tuple(range(0, 31))
    + tuple(range(33, 91, 3))
    + tuple(range(97, 366, 7))
    + tuple(range(395, 1096, 30))
)
PRIOR_DEALS = 10.0
"""A parent's weight in deals: a cell of 10 deals is half its own, half its parent."""
_GRID = np.array(GRID, dtype=np.float64)
_FOREVER = float(HORIZON_DAYS)
_GRID_BELOW = dict(zip(GRID[1:], GRID[:-1], strict=True))
_SELF_SUFFICIENT = 50.0
"""A cell with 50 times the prior's deals gives its parent under 2 %: the parent is not
computed (a long chain of parents costs time for nothing)."""
_OPEN_ENDING = 0


HalfLives = float | None | Mapping[int, float | None]
"""One half-life for every process (None: every deal alike), or one per process id (a
process not listed takes `DEFAULT_HALF_LIFE_DAYS`)."""
Source = Literal["process", "pooled", "none"]
"""Whose deals an estimate rests on: its process's, every process's, or none."""


@dataclass(frozen=True)
class Estimate:
    """A win probability with its evidence: `sample` deals of its own cell at `landmark`
    (the grid point at or below the days at the milestone)."""

    value: float
    sample: int
    source: Source
    landmark: int


def grid_point(days_at: float) -> int:
    """The point of `GRID` at or below `days_at` (0 below 0)."""
    return int(_GRID[max(0, int(np.searchsorted(_GRID, days_at, side="right")) - 1)])


@dataclass(frozen=True)
class _Stays:
    """Every stay at one (process or pooled, position), ordered by `to_final`."""

    length: Floats
    """Days spent at the position (to advancing, closing, or the as-of)."""
    to_final: Floats
    """Days from reaching the position to the deal's outcome (or the as-of while open)."""
    cause: Ints
    weight: Floats
    still_there: Bools


Key = tuple[int | None, int, int]
"""(process or None for every process, position, grid days)"""


@dataclass
class WinModel:
    as_of: float
    half_life_days: HalfLives
    stays: dict[tuple[int | None, int], _Stays]
    prior_deals: float = PRIOR_DEALS
    sizes: dict[int, SizeEffect] = field(default_factory=dict)
    """Per process: how deal size moves the chance of winning (`size.size_effect`)."""
    value_ratios: dict[int, float] = field(default_factory=dict)
    """Per process: sum of amount * size factor over sum of amount (for new pipeline)."""
    _curves: dict[Key, DailyCurve | None] = field(default_factory=dict)
    _arrivals: dict[int | None, dict[int, Estimate]] = field(default_factory=dict)

    def _own(self, owner: int | None, position: int, days: int) -> DailyCurve | None:
        stays = self.stays.get((owner, position))
        if stays is None:
            return None
        there = ~(
            (days > stays.length) | ((days == stays.length) & ~stays.still_there & (days != 0))
        ) & (stays.to_final >= days)
        return daily_incidence(
            stays.to_final[there] - days, stays.cause[there], stays.weight[there], presorted=True
        )

    def _parent(self, owner: int | None, position: int, days: int) -> Key | None:
        if days > 0:
            return (owner, position, _GRID_BELOW[days])
        if owner is not None:
            return (None, position, 0)
        return None

    def cell(self, owner: int | None, position: int, days: int) -> DailyCurve | None:
        """The shrunk curve of one cell (cached)."""
        key = (owner, position, days)
        if key not in self._curves:
            own = self._own(owner, position, days)
            parent = None
            if own is None or own.effective < _SELF_SUFFICIENT * self.prior_deals:
                parent_key = self._parent(owner, position, days)
                parent = self.cell(*parent_key) if parent_key is not None else None
            self._curves[key] = shrink(own, parent, self.prior_deals)
        return self._curves[key]

    def curve(
        self, process: int | None, position: int, days_at: float
    ) -> tuple[DailyCurve | None, int, Source]:
        days = grid_point(days_at)
        curve = self.cell(process, position, days)
        if curve is None:
            return None, days, "none"
        own = (process, position) in self.stays and curve.deals > 0
        return curve, days, "process" if own or process is None else "pooled"

    def win(self, process: int | None, position: int, days_at: float = 0.0) -> Estimate:
        """P(won eventually | at `position` for `days_at` days): never exactly 0 or 1, with
        the number of deals it rests on."""
        curve, days, source = self.curve(process, position, days_at)
        if curve is None:
            return Estimate(never_certain(0.0, 0), 0, "none", days)
        value = float(curve.eventual(days_at - days))
        return Estimate(never_certain(value, curve.deals), curve.deals, source, days)

    def arrival_win(self, process: int | None, position: int) -> Estimate:
        """P(won eventually | just arrived at `position`), made non-decreasing along the
        process's milestones (isotonic, weighted by the deals each arrival rests on): a
        customer's step forward never lowers a deal's chance, so it never lowers a rep's
        progress value. Where history has one milestone win less often than the one before
        (noise, or a milestone that adds no information), the two share their pooled
        probability. A position the process never reached takes the one below it."""
        if process not in self._arrivals:
            self._arrivals[process] = self._isotonic_arrivals(process)
        fitted = self._arrivals[process]
        if position in fitted:
            return fitted[position]
        below = [p for p in fitted if p < position]
        return fitted[max(below)] if below else self.win(process, position)

    def _isotonic_arrivals(self, process: int | None) -> dict[int, Estimate]:
        positions = sorted(pos for owner, pos in self.stays if owner == process)
        raw = {position: self.win(process, position) for position in positions}
        blocks: list[tuple[float, float, list[int]]] = []  # (mean, weight, positions)
        for position in positions:
            estimate = raw[position]
            blocks.append((estimate.value, float(max(estimate.sample, 1)), [position]))
            while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:  # pool adjacent violators
                (m1, w1, p1), (m2, w2, p2) = blocks[-2], blocks[-1]
                blocks[-2:] = [((m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, p1 + p2)]
        return {
            position: Estimate(mean, raw[position].sample, raw[position].source, 0)
            for mean, _, members in blocks
            for position in members
        }

    def win_between(
        self, process: int | None, position: int, days_at: float, start: float, end: float
    ) -> float:
        """P(won between `start` and `end` days from now | at `position` for `days_at` days)."""
        curve, days, _ = self.curve(process, position, days_at)
        if curve is None or end <= start:
            return 0.0
        return float(curve.win_between(days_at - days, start, end))

    def probabilities(
        self,
        process: int | None,
        position: int,
        days_at: Floats,
        offsets: Sequence[tuple[float, float]],
        amounts: Floats | None = None,
    ) -> tuple[Floats, Floats]:
        """[deal, window] P(won in each window) for deals at one position (with `amounts`,
        moved by their size), and each deal's effective evidence (0 where history has none)."""
        out = np.zeros((days_at.shape[0], len(offsets)))
        evidence = np.zeros(days_at.shape[0])
        points = _GRID[np.maximum(np.searchsorted(_GRID, days_at, side="right") - 1, 0)]
        starts = np.array([start for start, _ in offsets], dtype=np.float64)
        ends = np.array([end for _, end in offsets], dtype=np.float64)
        for days in np.unique(points).tolist():
            members = np.nonzero(points == days)[0]
            curve = self.cell(process, position, int(days))
            if curve is None:
                continue
            evidence[members] = curve.effective
            out[members] = curve.windows(days_at[members] - days, starts, ends)
        effect = self.sizes.get(process) if process is not None else None
        if amounts is not None and effect is not None:
            out = np.minimum(out * effect.factor(amounts)[:, None], 1.0)
        return out, evidence

    def eventual(
        self,
        process: int | None,
        position: int,
        days_at: Floats,
        amounts: Floats | None = None,
    ) -> tuple[Floats, Ints]:
        """`win` for many deals at one position at once (moved by their size with
        `amounts`): P(won eventually), never 0 or 1, and the deals each rests on."""
        p, _ = self.probabilities(process, position, days_at, [(0.0, _FOREVER)], amounts)
        deals = np.zeros(days_at.shape[0], dtype=np.int64)
        points = _GRID[np.maximum(np.searchsorted(_GRID, days_at, side="right") - 1, 0)]
        for days in np.unique(points).tolist():
            curve = self.cell(process, position, int(days))
            if curve is not None:
                deals[points == days] = curve.deals
        margin = 0.5 / (deals + 1.0)
        return np.clip(p[:, 0], margin, 1.0 - margin), deals

    def new_deal_wins(
        self, process: int, offsets: Sequence[tuple[float, float]]
    ) -> tuple[list[float], float]:
        """Per window: Σ over the days ahead of P(a deal created that day, at noon, is won
        inside the window); and the evidence of the new-deal curve. Times a creation rate
        (deals per day) that is the expected number of wins from deals not yet created."""
        curve = self.cell(process, 0, 0)
        if curve is None or not offsets:
            return [0.0] * len(offsets), 0.0
        created = np.arange(int(np.ceil(offsets[-1][1]))) + 0.5
        wins = []
        for start, end in offsets:
            lo = np.clip(start - created, 0.0, None)
            hi = end - created
            live = hi > lo
            gained = curve.won_by(hi[live]) - curve.won_by(lo[live])
            wins.append(float(np.clip(gained, 0.0, None).sum()))
        return wins, curve.effective


def _weights(age: Floats, process: Ints, half_life_days: HalfLives) -> Floats:
    """Each stay's recency weight under its own process's half-life."""
    if not isinstance(half_life_days, Mapping):
        return recency_weights(age, half_life_days)
    weight = recency_weights(age, DEFAULT_HALF_LIFE_DAYS)
    for owner, half_life in half_life_days.items():
        mine = process == owner
        if mine.any():
            weight[mine] = recency_weights(age[mine], half_life)
    return weight


def fit_win_model(
    cols: DealColumns,
    as_of: float,
    half_life_days: HalfLives = DEFAULT_HALF_LIFE_DAYS,
    rows: Bools | None = None,
    prior_deals: float = PRIOR_DEALS,
) -> WinModel:
    """Every stay known at `as_of` (epoch seconds), grouped by process and position."""
    keep = (cols.process >= 0) & (cols.created <= as_of)
    if rows is not None:
        keep &= rows
    stays = cols.stays(as_of, np.nonzero(keep)[0])
    process = cols.process[stays.row]
    closed = cols.is_closed_by(as_of)[stays.row]
    cause = np.where(closed, np.where(cols.outcome[stays.row] == 1, WON, LOST), CENSORED)
    final_time = np.where(closed, cols.closed[stays.row], as_of)
    to_final = np.maximum(0.0, (final_time - stays.start) / DAY)
    length = np.maximum(0.0, (stays.end - stays.start) / DAY)
    weight = _weights((as_of - stays.start) / DAY, process, half_life_days)
    still = stays.ending == _OPEN_ENDING
    sizes, ratios = {}, {}
    for owner in np.unique(process).tolist():
        mine = process == owner
        amount = cols.amount[stays.row[mine]]
        sizes[owner] = effect = size_effect(
            amount, stays.position[mine], (cause == WON)[mine], closed[mine], weight[mine]
        )
        first = stays.position[mine] == 0
        total = float(amount[first].sum())
        ratios[owner] = (
            float((amount[first] * effect.factor(amount[first])).sum()) / total if total else 1.0
        )
    order = np.argsort(to_final, kind="stable")
    grouped: dict[tuple[int | None, int], _Stays] = {}
    sorted_position = stays.position[order]
    sorted_process = process[order]
    for position in np.unique(sorted_position).tolist():
        at = sorted_position == position
        for owner in [*np.unique(sorted_process[at]).tolist(), None]:
            sel = order[at if owner is None else at & (sorted_process == owner)]
            grouped[(owner, position)] = _Stays(
                length[sel], to_final[sel], cause[sel].astype(np.int64), weight[sel], still[sel]
            )
    return WinModel(as_of, half_life_days, grouped, prior_deals, sizes, ratios)


def fit_win_model_histories(
    deals: Sequence[DealHistory],
    as_of_seconds: float,
    half_life_days: HalfLives = DEFAULT_HALF_LIFE_DAYS,
    prior_deals: float = PRIOR_DEALS,
) -> WinModel:
    """`fit_win_model` of plain histories (the backtest's cut-back deals)."""
    known = [d for d in deals if d.process is not None]
    if not known:
        return WinModel(as_of_seconds, half_life_days, {}, prior_deals)
    cols = DealColumns.from_histories(known)
    return fit_win_model(cols, as_of_seconds, half_life_days, prior_deals=prior_deals)
