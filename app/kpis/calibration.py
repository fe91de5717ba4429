"""The P10-P90 band calibrated by the history's own backtest errors.

The model's variance (`band`) adds up what it knows to be uncertain; what it does not know —
a market that moves between the fit and the outcome, months that are not independent — shows
in its past errors. So at an instant T the band is widened or narrowed until it would have
held 80 % of the outcomes it forecast at earlier origins: per horizon, single month or
cumulative, and part (deals open at the origin, deals created later, the total, each apart),
the 80th percentile of the past standardized errors |e| (`band.standardized_error`) over Z90
is the scale the band needed (`Correction.raw_scale`: 1.5 means half as wide again).

Only what was known before T counts: an outcome enters once its window is over
(`Outcome.known_at` <= T), so a forecast made at an origin before T whose month ends after T
is not used yet.

Few past origins say little: the 80th percentile of n errors has a sampling variance of about
0.79 / n on the log scale (that of the 0.8 quantile of |N(0, 1)|), while a model's own band is
rarely off by more than a factor exp(±0.3) (`PRIOR_SD`). Shrinking the log of the scale
towards 0 (the band as the model says it) by that normal prior gives the weight n / (n + n0),
n0 = 0.79 / 0.3² ≈ 9 origins (`HALF_WEIGHT_ORIGINS`): nine past origins move the band half way
to what they ask, thirty about three quarters of it, none not at all.

    found = corrections(outcomes, as_of)
    found[(1, False, "total")].scale          # the factor this month's band is drawn with
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from app.kpis.band import Z90, standardized_error

__all__ = [
    "HALF_WEIGHT_ORIGINS",
    "PRIOR_SD",
    "Cell",
    "Correction",
    "Outcome",
    "correction",
    "corrections",
    "corrections_at",
    "scale_of",
]

Cell = tuple[int, bool, str]
"""(horizon in months, cumulative, part: "open", "new" or "total")."""

COVERAGE = 0.8
"""What the P10-P90 band claims."""
PRIOR_SD = 0.3
"""How far (log scale) a model's own band is typically off before any backtest says so."""
_DENSITY = 2.0 * math.exp(-Z90 * Z90 / 2.0) / math.sqrt(2.0 * math.pi)
"""The density of |N(0, 1)| at its 80th percentile, Z90."""
QUANTILE_LOG_VARIANCE = COVERAGE * (1.0 - COVERAGE) / (_DENSITY * Z90) ** 2
"""n times the variance of the log of the 80th percentile of n calibrated errors (≈ 0.79)."""
HALF_WEIGHT_ORIGINS = QUANTILE_LOG_VARIANCE / PRIOR_SD**2
"""Past origins that move the band half way to what they ask (≈ 8.8)."""
SCALE_LIMITS = (0.1, 10.0)
"""A band at most ten times narrower or wider than the model's: a guard against a degenerate
history (every past outcome exactly on its forecast), not a tuning."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """A past forecast of one cell, made at `origin`, and what happened."""

    cell: Cell
    origin: datetime
    known_at: datetime
    """The end of its window: from then on the outcome is known."""
    mean: float
    variance: float
    """The model's own variance (uncalibrated)."""
    actual: float


@dataclass(frozen=True, slots=True)
class Correction:
    """How much wider (above 1) or narrower (below 1) a cell's band is drawn, and what that
    rests on."""

    horizon_months: int
    cumulative: bool
    part: str
    scale: float
    """The factor applied: `raw_scale` shrunk towards 1 by the number of origins."""
    raw_scale: float | None
    """What the past errors alone ask for (None: no past origin)."""
    origins: int
    """Past origins whose outcome was known (the evidence)."""
    past_coverage: float | None
    """Share of those outcomes the model's own band held (0.80 claimed)."""

    @classmethod
    def none(cls, cell: Cell) -> Correction:
        return cls(cell[0], cell[1], cell[2], 1.0, None, 0, None)


def correction(cell: Cell, errors: Sequence[float]) -> Correction:
    """The correction `errors` (past standardized errors of one cell, one per origin) ask."""
    n = len(errors)
    if n == 0:
        return Correction.none(cell)
    size = np.abs(np.asarray(errors, dtype=float))
    raw = float(np.quantile(size, COVERAGE)) / Z90
    raw = min(max(raw, SCALE_LIMITS[0]), SCALE_LIMITS[1])
    weight = n / (n + HALF_WEIGHT_ORIGINS)
    return Correction(
        horizon_months=cell[0],
        cumulative=cell[1],
        part=cell[2],
        scale=math.exp(weight * math.log(raw)),
        raw_scale=raw,
        origins=n,
        past_coverage=float(np.mean(size <= Z90)),
    )


def corrections(outcomes: Iterable[Outcome], as_of: datetime) -> dict[Cell, Correction]:
    """Per cell, the correction of a band drawn at `as_of`, from the outcomes known by then
    (window over at or before `as_of`) of forecasts made before it. A forecast that was a
    point (no mean or no variance) has no error to learn from and is left out."""
    return corrections_at(outcomes, [as_of])[as_of]


def corrections_at(
    outcomes: Iterable[Outcome], instants: Iterable[datetime]
) -> dict[datetime, dict[Cell, Correction]]:
    """`corrections` at each of `instants` (a backtest's origins), each error computed once."""
    errors = []
    for outcome in outcomes:
        error = standardized_error(outcome.mean, outcome.variance, outcome.actual)
        if error is not None:
            errors.append((outcome.known_at, outcome.origin, outcome.cell, error))
    errors.sort(key=lambda e: e[0])
    found: dict[datetime, dict[Cell, Correction]] = {}
    for instant in instants:
        by_cell: dict[Cell, list[float]] = {}
        for known_at, origin, cell, error in errors:
            if known_at > instant:
                break
            if origin < instant:
                by_cell.setdefault(cell, []).append(error)
        found[instant] = {cell: correction(cell, e) for cell, e in by_cell.items()}
    return found


def scale_of(found: Mapping[Cell, Correction], cell: Cell) -> float:
    """The factor of `cell`'s band (1 where no past origin speaks of it)."""
    known = found.get(cell)
    return 1.0 if known is None else known.scale
