"""What every KPI answer needs per opportunity at one instant, computed once over columns.

Position, days at it, win probability, stall flag and the probability of being won in each
of the next `FORECAST_MONTHS` calendar months, for every row of a `DealColumns`, plus per
process the expected wins of deals not yet created. A KPI request then only filters and
sums these arrays.

    derived = derive(columns, model, as_of)
    derived.win[row], derived.month_p[row, 0]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from app.kpis.columns import Bools, DealColumns, Floats, Ints, epoch
from app.kpis.forecast import month_windows, new_deal_wins, window_offsets
from app.kpis.history import DAY
from app.kpis.incidence import WON
from app.kpis.model import Model, landmark_for

__all__ = ["FORECAST_MONTHS", "Derived", "derive"]

FORECAST_MONTHS = 12


@dataclass
class Derived:
    """Per opportunity, at one as-of instant: computed once, read by every request."""

    position: Ints
    since: Floats
    days_at: Floats
    win: Floats
    """P(won eventually | where it stands); 1 or 0 once closed."""
    threshold: Floats
    """Stall threshold in days (NaN: none, or closed)."""
    stalled: Bools
    month_p: Floats
    """[row, month]: P(won in month i from as_of), open deals (else 0)."""
    new_pipeline: dict[int, Floats]
    """Per process: Σ over future creation days of P(a deal created then is won in month i)."""


@dataclass(frozen=True)
class _CurveArrays:
    """A fitted outcome curve as arrays, from the landmark (days at the position) it starts at."""

    times: Floats
    survival: Floats
    won: Floats
    landmark: int


def _curve_arrays(model: Model, process: int, position: int, days_at: float) -> _CurveArrays | None:
    curve, landmark, _ = model.curve(process, position, days_at)
    if curve is None:
        return None
    return _CurveArrays(
        np.asarray(curve.times, dtype=np.float64),
        np.asarray(curve.survival, dtype=np.float64),
        np.asarray(curve.incidences.get(WON, ()), dtype=np.float64),
        landmark,
    )


def _step(times: Floats, values: Floats, t: Floats, before: float) -> Floats:
    """The step function `values` (changing at `times`) read at each of `t`."""
    if not values.shape[0]:
        return np.zeros_like(t)
    i = np.searchsorted(times, t, side="right") - 1
    return np.where(i < 0, before, values[np.maximum(i, 0)])


def derive(columns: DealColumns, model: Model, as_of: datetime) -> Derived:
    """Position, days at it, win probability, stall flag and monthly P(won) per opportunity."""
    cols = columns
    moment = epoch(as_of)
    n = len(cols)
    position, since = cols.position_at(moment)
    is_open = cols.outcome == 0
    until = np.where(is_open | np.isnan(cols.closed), moment, np.fmin(cols.closed, moment))
    days_at = np.maximum(0.0, (until - since) / DAY)  # a closed deal stops ageing at its close
    win = np.where(cols.outcome == 1, 1.0, 0.0)
    threshold = np.full(n, np.nan)
    windows = month_windows(as_of, FORECAST_MONTHS)
    offsets = window_offsets(as_of, windows)
    month_p = np.zeros((n, FORECAST_MONTHS))
    landmarks = np.array([landmark_for(d) for d in days_at.tolist()], dtype=np.int64)
    live = is_open & (cols.process >= 0)
    groups = np.stack([cols.process, position, landmarks], axis=1)[live]
    rows = np.nonzero(live)[0]
    if rows.shape[0]:
        unique, inverse = np.unique(groups, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for g, (process, pos, landmark) in enumerate(unique.tolist()):
            members = rows[inverse == g]
            stall = model.stall_threshold(process, pos)
            threshold[members] = np.nan if stall is None else stall
            curve = _curve_arrays(model, process, pos, float(landmark))
            if curve is None:
                continue
            times, won = curve.times, curve.won
            after = days_at[members] - curve.landmark
            alive = _step(times, curve.survival, after, 1.0)
            at_after = _step(times, won, after, 0.0)
            eventual = float(won[-1]) if won.shape[0] else 0.0
            safe = np.where(alive > 0.0, alive, 1.0)
            win[members] = np.where(
                alive > 0.0, np.clip((eventual - at_after) / safe, 0.0, 1.0), 0.0
            )
            for i, (start, end) in enumerate(offsets):
                if end <= start:
                    continue
                gained = _step(times, won, after + end, 0.0) - _step(
                    times, won, after + max(start, 0.0), 0.0
                )
                month_p[members, i] = np.where(alive > 0.0, np.maximum(0.0, gained / safe), 0.0)
    stalled = live & ~np.isnan(threshold) & (days_at > np.nan_to_num(threshold, nan=np.inf))
    new_pipeline = {
        process: np.array(new_deal_wins(model, process, offsets), dtype=np.float64)
        for process in np.unique(cols.process[cols.process >= 0]).tolist()
    }
    return Derived(position, since, days_at, win, threshold, stalled, month_p, new_pipeline)
