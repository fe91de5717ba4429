"""The P10-P90 band calibrated by the history's own backtest errors.

The model's variance (`band`) adds up what it knows to be uncertain; what it does not know —
a market that moves between the fit and the outcome, months that are not independent — shows
in its past errors. So at an instant T the band is widened or narrowed until it would have
held 80 % of the outcomes it forecast at earlier origins: per horizon, single month or
cumulative, and part (deals open at the origin, deals created later, the total, each apart),
each from its own errors. The size of the past standardized errors |e|
(`band.standardized_error`) that 80 % of a new one stays under, over Z90, is the scale the
band needed (`Correction.raw_scale`: 1.5 means half as wide again). A cumulative window is
calibrated by the cumulative outcomes themselves, so months whose errors go the same way
(a market that moved) widen its band as much as they did, never as if they were independent.

Which quantile of n past errors: the 80th percentile of n errors is held by the next one only
(0.8 n + 0.2) / (n + 1) of the time on average (74 % with 10 origins): a band drawn at it is
too narrow exactly where the history is short. The order statistic a new error falls under
with probability 0.8 — rank 0.8 (n + 1), as split conformal prediction takes it — is the
level (0.8 n - 0.2) / (n - 1) of the errors' linear quantile (`quantile_level`): 87 % with
10 origins, 82 % with 30; the largest error below 4 origins.

Only what was known before T counts: an outcome enters once its window is over
(`Outcome.known_at` <= T), so a forecast made at an origin before T whose month ends after T
is not used yet.

Few past origins say little: the quantile of n errors has a sampling variance of about
0.79 / n on the log scale (that of the 0.8 quantile of |N(0, 1)|), while a model's own band is
rarely off by more than a factor exp(±0.3) (`PRIOR_SD`). Shrinking the log of the scale by
that normal prior gives the weight n / (n + n0), n0 = 0.79 / 0.3² ≈ 9 origins
(`HALF_WEIGHT_ORIGINS`). It is shrunk towards what the part's errors of every horizon and
kind say together (`Correction.prior_scale`, itself shrunk towards 1, the model's own band, by
the number of origins behind it): a month three ahead is known two months later than the
first, and until its own errors speak it borrows how far off the model's band was for the
nearer ones, rather than the model's band alone.

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
    "pooled_scale",
    "quantile_level",
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
    """The factor applied: `raw_scale` shrunk towards `prior_scale` by the number of origins."""
    raw_scale: float | None
    """What the cell's past errors alone ask for (None: no past origin)."""
    origins: int
    """Past origins whose outcome was known (the evidence)."""
    past_coverage: float | None
    """Share of those outcomes the model's own band held (0.80 claimed)."""
    prior_scale: float = 1.0
    """What the part's past errors of every horizon, single month and cumulative, ask
    together (shrunk towards 1 by their origins): where `scale` starts with few origins."""

    @classmethod
    def none(cls, cell: Cell, prior_scale: float = 1.0) -> Correction:
        return cls(cell[0], cell[1], cell[2], prior_scale, None, 0, None, prior_scale)


def quantile_level(n: int) -> float:
    """The level of the linear quantile of n past |errors| that a new one stays under with
    probability `COVERAGE` on average: rank 0.8 (n + 1) of n, (0.8 n - 0.2) / (n - 1); 1 (the
    largest) when n is too small for that rank (below 4), or 1."""
    if n < 2:
        return 1.0
    return min((COVERAGE * n - (1.0 - COVERAGE)) / (n - 1), 1.0)


def _raw_scale(size: np.ndarray, n: int) -> float:
    """The scale the |errors| `size` ask, read at the level of `n` origins."""
    raw = float(np.quantile(size, quantile_level(n))) / Z90
    return min(max(raw, SCALE_LIMITS[0]), SCALE_LIMITS[1])


def _shrunk(raw: float, n: int, prior: float) -> float:
    """`raw` moved from `prior` by n / (n + n0) of the way on the log scale."""
    weight = n / (n + HALF_WEIGHT_ORIGINS)
    return math.exp(weight * math.log(raw) + (1.0 - weight) * math.log(prior))


def pooled_scale(errors: Sequence[float], origins: int) -> float:
    """The scale a part's past errors of every cell ask together, `origins` the distinct
    origins they come from (errors of one origin are not independent: the origins are the
    evidence), shrunk towards 1; 1 with no error."""
    if not errors or origins <= 0:
        return 1.0
    size = np.abs(np.asarray(errors, dtype=float))
    return _shrunk(_raw_scale(size, origins), origins, 1.0)


def correction(cell: Cell, errors: Sequence[float], prior_scale: float = 1.0) -> Correction:
    """The correction `errors` (past standardized errors of one cell, one per origin) ask,
    shrunk towards `prior_scale` (`pooled_scale`; 1: the model's own band)."""
    n = len(errors)
    if n == 0:
        return Correction.none(cell, prior_scale)
    size = np.abs(np.asarray(errors, dtype=float))
    raw = _raw_scale(size, n)
    return Correction(
        horizon_months=cell[0],
        cumulative=cell[1],
        part=cell[2],
        scale=_shrunk(raw, n, prior_scale),
        raw_scale=raw,
        origins=n,
        past_coverage=float(np.mean(size <= Z90)),
        prior_scale=prior_scale,
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
        by_part: dict[str, list[float]] = {}
        origins: dict[str, set[datetime]] = {}
        for known_at, origin, cell, error in errors:
            if known_at > instant:
                break
            if origin < instant:
                by_cell.setdefault(cell, []).append(error)
                by_part.setdefault(cell[2], []).append(error)
                origins.setdefault(cell[2], set()).add(origin)
        prior = {part: pooled_scale(e, len(origins[part])) for part, e in by_part.items()}
        found[instant] = {cell: correction(cell, e, prior[cell[2]]) for cell, e in by_cell.items()}
    return found


def scale_of(found: Mapping[Cell, Correction], cell: Cell) -> float:
    """The factor of `cell`'s band: its correction, or where no past origin speaks of it yet
    the pooled correction of its part (1 where nothing is known)."""
    known = found.get(cell)
    if known is not None:
        return known.scale
    pooled = next((c.prior_scale for c in found.values() if c.part == cell[2]), 1.0)
    return pooled
