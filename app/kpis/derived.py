"""What every KPI answer needs per opportunity at one instant, computed once over columns.

Position, days at it, win probability (never exactly 0 or 1 while open, with the number of
deals it rests on), stall flag and the probability of being won in each of the next
`FORECAST_MONTHS` calendar months, for every row of a `DealColumns`, plus per process the
expected wins of deals not yet created. Win probabilities and months come from the forecast's
model (`winmodel.WinModel`, the one the backtest scores); stall thresholds from `model.Model`.
A KPI request then only filters and sums these arrays.

    derived = derive(columns, model, as_of, {process_id: 180.0})
    derived.win[row], derived.month_p[row, 0]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from app.kpis.columns import Bools, DealColumns, Floats, Ints, epoch
from app.kpis.forecast import month_windows, window_offsets
from app.kpis.history import DAY
from app.kpis.model import Model
from app.kpis.recency import DEFAULT_HALF_LIFE_DAYS
from app.kpis.winmodel import HalfLives, WinModel, fit_win_model

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
    based_on: Ints
    """Open deals: how many deals of history their win probability rests on (0 if closed)."""
    evidence: Floats
    """Open deals: the effective (recency-weighted) evidence of their curve."""
    forecaster: WinModel


def derive(
    columns: DealColumns,
    model: Model,
    as_of: datetime,
    half_lives: HalfLives = DEFAULT_HALF_LIFE_DAYS,
) -> Derived:
    """Position, days at it, win probability, stall flag and monthly P(won) per opportunity,
    the forecast's model fitted with `half_lives` (one, or one per process)."""
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
    live = is_open & (cols.process >= 0)
    based_on = np.zeros(n, dtype=np.int64)
    evidence = np.zeros(n)
    forecaster = fit_win_model(cols, moment, half_lives)
    groups = np.stack([cols.process, position], axis=1)[live]
    rows = np.nonzero(live)[0]
    if rows.shape[0]:
        unique, inverse = np.unique(groups, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for g, (process, pos) in enumerate(unique.tolist()):
            members = rows[inverse == g]
            stall = model.stall_threshold(process, pos)
            threshold[members] = np.nan if stall is None else stall
            days, amounts = days_at[members], cols.amount[members]
            month_p[members], evidence[members] = forecaster.probabilities(
                process, pos, days, offsets, amounts
            )
            win[members], based_on[members] = forecaster.eventual(process, pos, days, amounts)
    stalled = live & ~np.isnan(threshold) & (days_at > np.nan_to_num(threshold, nan=np.inf))
    new_pipeline = {
        process: np.array(forecaster.new_deal_wins(process, offsets)[0], dtype=np.float64)
        for process in np.unique(cols.process[cols.process >= 0]).tolist()
    }
    return Derived(
        position,
        since,
        days_at,
        win,
        threshold,
        stalled,
        month_p,
        new_pipeline,
        based_on,
        evidence,
        forecaster,
    )
