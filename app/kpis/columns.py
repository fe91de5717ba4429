"""The same histories as `history.DealHistory`, held as columns (numpy arrays), and the KPI
math over them: what lets one API process answer for 100,000 opportunities in milliseconds.

`DealColumns` keeps one row per opportunity: process, creation, close and outcome, amount,
the indexes of its owner, team, segment and connection, and `reach[:, p]`, the first time
position p was reached (column 0 is the creation; NaN where never reached). Instants are
seconds since the epoch (UTC) as float64. Every function here reproduces the pure-Python
definitions of `history`, `conversion` and `model` (the tests hold them to it); those stay
the reference and are what the backtest replays.

    cols = DealColumns.from_histories(deals)
    stays = cols.stays(as_of)                  # every stay of every deal, as arrays
    model = fit_model_columns(cols, as_of)     # == model.fit_model(deals, as_of)
    conversion_columns(cols, mask, 2, WON_TARGET, as_of)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from app.kpis.conversion import FAILED, REACHED, WON_TARGET, Conversion
from app.kpis.history import DAY, DealHistory
from app.kpis.incidence import CENSORED, LOST, WON
from app.kpis.model import ADVANCED, CLOSED, MIN_SAMPLE, RESOLUTION_DAYS, Model

__all__ = [
    "OUTCOMES",
    "ArrayCurve",
    "Bools",
    "DealColumns",
    "Floats",
    "Ints",
    "Presorted",
    "Stays",
    "aj_arrays",
    "aj_sorted",
    "conversion_columns",
    "conversion_presorted",
    "epoch",
    "fit_model_columns",
    "instant",
    "presort_conversion",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
OUTCOMES = ("open", "won", "lost")
_OPEN, _WON, _LOST = 0, 1, 2
_ENDING_ADVANCED = 3


def epoch(moment: datetime) -> float:
    return moment.timestamp()


def instant(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _fmin_above(reach: Floats) -> Floats:
    """`out[:, p]`: the earliest time any position above p was reached (inf if none)."""
    filled = np.where(np.isnan(reach), np.inf, reach)
    out = np.full_like(filled, np.inf)
    running = np.full(filled.shape[0], np.inf)
    for p in range(filled.shape[1] - 1, -1, -1):
        out[:, p] = running
        running = np.minimum(running, filled[:, p])
    return out


@dataclass
class Stays:
    """Every stay of every deal (see `DealHistory.stays`), one row each."""

    row: Ints
    position: Ints
    start: Floats
    end: Floats
    ending: Ints
    """0 open (censored), 1 won, 2 lost, 3 advanced."""


@dataclass
class DealColumns:
    key: Ints
    process: Ints
    """Process id, or -1 (none, or deleted)."""
    created: Floats
    closed: Floats
    outcome: Ints
    """0 open, 1 won, 2 lost."""
    amount: Floats
    owner: Ints
    team: Ints
    segment: Ints
    connection: Ints
    reach: Floats

    def __len__(self) -> int:
        return int(self.key.shape[0])

    @property
    def positions(self) -> int:
        return int(self.reach.shape[1])

    # -- rows ----------------------------------------------------------------------------------

    def take(self, rows: Ints) -> DealColumns:
        """A copy holding `rows`, in that order."""
        return DealColumns(**{name: getattr(self, name)[rows] for name in _FIELDS})

    @classmethod
    def concatenate(cls, parts: Sequence[DealColumns]) -> DealColumns:
        """The rows of every part, one after the other (all as wide as each other)."""
        return cls(
            **{name: np.concatenate([getattr(part, name) for part in parts]) for name in _FIELDS}
        )

    def assign(self, rows: Ints, source: DealColumns, source_rows: Ints) -> None:
        """Overwrite `rows`, in place, with `source`'s `source_rows`."""
        for name in _FIELDS:
            getattr(self, name)[rows] = getattr(source, name)[source_rows]

    def as_of(self, moment: float) -> tuple[DealColumns, Ints]:
        """The histories as they were known at `moment` (`DealHistory.as_of` of every row), and
        which rows they are: rows created after it dropped, later reaches unknown (NaN), deals
        closed after it open again with no close."""
        rows = np.nonzero(self.created <= moment)[0]
        cut = self.take(rows)
        cut.reach[cut.reach > moment] = np.nan
        later = ~(cut.closed <= moment)  # NaN (never closed) included
        cut.outcome[later] = _OPEN
        cut.closed[later] = np.nan
        return cut, rows

    def widened(self, width: int) -> DealColumns:
        """As wide as `width` positions at least: the new positions never reached (NaN)."""
        if self.positions >= width:
            return self
        pad = np.full((len(self), width - self.positions), np.nan)
        return replace(self, reach=np.concatenate([self.reach, pad], axis=1))

    @classmethod
    def from_histories(
        cls, deals: Sequence[DealHistory], positions: int | None = None
    ) -> DealColumns:
        """Columns of these histories; owner, team, segment and connection as dense indexes."""
        width = positions or 1 + max((p for d in deals for p, _ in d.reached), default=0)
        reach = np.full((len(deals), width), np.nan)
        labels: dict[str, dict[object, int]] = {"owner": {}, "team": {}, "segment": {}, "conn": {}}

        def index(kind: str, value: object) -> int:
            if value is None:
                return -1
            return labels[kind].setdefault(value, len(labels[kind]))

        for i, deal in enumerate(deals):
            reach[i, 0] = epoch(deal.created_at)
            for position, at in deal.reached:
                if np.isnan(reach[i, position]):
                    reach[i, position] = epoch(at)
        return cls(
            key=np.array([d.key for d in deals], dtype=np.int64),
            process=np.array(
                [-1 if d.process is None else d.process for d in deals], dtype=np.int64
            ),
            created=reach[:, 0].copy(),
            closed=np.array([np.nan if d.closed_at is None else epoch(d.closed_at) for d in deals]),
            outcome=np.array([OUTCOMES.index(d.outcome) for d in deals], dtype=np.int64),
            amount=np.array([d.amount for d in deals], dtype=np.float64),
            owner=np.array([index("owner", d.owner) for d in deals], dtype=np.int64),
            team=np.array([index("team", d.team) for d in deals], dtype=np.int64),
            segment=np.array([index("segment", d.segment) for d in deals], dtype=np.int64),
            connection=np.array([index("conn", d.connection) for d in deals], dtype=np.int64),
            reach=reach,
        )

    # -- paths ---------------------------------------------------------------------------------

    def records(self) -> Bools:
        """`[:, p]`: position p was an advance (reached with nothing higher reached before)."""
        above = _fmin_above(self.reach)
        reached = ~np.isnan(self.reach)
        records = reached & ~(above < self.reach)
        records[:, 0] = True
        return records

    def position_at(self, moment: float) -> tuple[Ints, Floats]:
        """Highest position reached by `moment` per deal, and since when (`position_at`)."""
        records = self.records() & (np.nan_to_num(self.reach, nan=np.inf) <= moment)
        records[:, 0] = True
        width = self.positions
        position = (width - 1) - np.argmax(records[:, ::-1], axis=1)
        since = self.reach[np.arange(len(self)), position]
        return position.astype(np.int64), since

    def is_closed_by(self, moment: float) -> Bools:
        closed: Bools = (self.outcome != _OPEN) & ~np.isnan(self.closed) & (self.closed <= moment)
        return closed

    def stays(self, as_of: float, rows: Ints | None = None) -> Stays:
        """The stays of every deal (or of `rows`) up to closing or `as_of`."""
        reach = self.reach if rows is None else self.reach[rows]
        closed_at = self.closed if rows is None else self.closed[rows]
        outcome = self.outcome if rows is None else self.outcome[rows]
        row_ids = np.arange(len(self)) if rows is None else rows
        eol = np.minimum(np.where(np.isnan(closed_at), as_of, closed_at), as_of)
        created = reach[:, 0]
        above = _fmin_above(reach)
        filled = np.nan_to_num(reach, nan=np.inf)
        final = np.where(
            (outcome != _OPEN) & ~np.isnan(closed_at) & (closed_at <= as_of), outcome, _OPEN
        )
        parts: list[tuple[Ints, Ints, Floats, Floats, Ints]] = []
        for p in range(reach.shape[1]):
            if p == 0:
                present = np.ones(reach.shape[0], dtype=bool)
                entry = created
            else:
                present = (filled[:, p] <= eol) & ~(above[:, p] < filled[:, p])
                entry = np.maximum(filled[:, p], created)
            following = above[:, p]
            advanced = following <= eol
            end = np.where(advanced, np.maximum(following, entry), np.maximum(eol, entry))
            ending = np.where(advanced, _ENDING_ADVANCED, final)
            idx = np.nonzero(present)[0]
            parts.append(
                (
                    row_ids[idx],
                    np.full(idx.shape[0], p, dtype=np.int64),
                    entry[idx],
                    end[idx],
                    ending[idx].astype(np.int64),
                )
            )
        return Stays(*(np.concatenate([part[k] for part in parts]) for k in range(5)))


_FIELDS = tuple(f.name for f in fields(DealColumns))


# -- Aalen-Johansen over arrays --------------------------------------------------------------


@dataclass
class ArrayCurve:
    """The cumulative incidence of `incidence.aalen_johansen`, as arrays."""

    times: Floats
    survival: Floats
    incidences: dict[int, Floats]
    size: int
    counts: dict[int, int]

    def eventual(self, cause: int) -> float:
        values = self.incidences.get(cause)
        return float(values[-1]) if values is not None and values.shape[0] else 0.0

    def quantile(self, cause: int, q: float, *, among_cause: bool = False) -> float | None:
        values = self.incidences.get(cause)
        if values is None or not values.shape[0]:
            return None
        target = q * float(values[-1]) if among_cause else q
        if target <= 0.0:
            return None
        hit = np.nonzero(values >= target - 1e-12)[0]
        return float(self.times[hit[0]]) if hit.shape[0] else None


def aj_arrays(durations: Floats, causes: Ints, wanted: Iterable[int] = (WON, LOST)) -> ArrayCurve:
    """`aalen_johansen` over arrays of durations (days, >= 0) and causes (0 = censored)."""
    wanted = tuple(wanted)
    size = int(durations.shape[0])
    counts = {int(c): int(n) for c, n in zip(*np.unique(causes, return_counts=True), strict=True)}
    if size == 0:
        empty = np.zeros(0)
        return ArrayCurve(empty, empty, {c: empty for c in wanted}, 0, {})
    times, inverse = np.unique(durations, return_inverse=True)
    k = times.shape[0]
    total = np.bincount(inverse, minlength=k)
    per_cause = {c: np.bincount(inverse[causes == c], minlength=k) for c in wanted}
    events = np.zeros(k, dtype=np.int64)
    for values in per_cause.values():
        events += values
    at_risk = size - np.concatenate(([0], np.cumsum(total)[:-1]))
    has = events > 0
    risk = at_risk[has].astype(np.float64)
    survival = np.cumprod(1.0 - events[has] / risk).astype(np.float64)
    before = np.concatenate(([1.0], survival[:-1]))
    incidences = {c: np.cumsum(before * per_cause[c][has] / risk) for c in wanted}
    return ArrayCurve(times[has], survival, incidences, size, counts)


def aj_sorted(durations: Floats, causes: Ints, wanted: Iterable[int] = (WON, LOST)) -> ArrayCurve:
    """`aj_arrays` of durations already in ascending order: no sort, one pass."""
    wanted = tuple(wanted)
    size = int(durations.shape[0])
    if size == 0:
        empty = np.zeros(0)
        return ArrayCurve(empty, empty, {c: empty for c in wanted}, 0, {})
    change = np.ones(size, dtype=bool)
    change[1:] = durations[1:] != durations[:-1]
    starts = np.nonzero(change)[0]
    total = np.diff(np.append(starts, size))
    per_cause = {c: np.add.reduceat((causes == c).astype(np.int64), starts) for c in wanted}
    counts = {c: int(n.sum()) for c, n in per_cause.items() if n.sum()}
    events = np.zeros(starts.shape[0], dtype=np.int64)
    for values in per_cause.values():
        events += values
    censored = size - int(events.sum())
    if censored:
        counts[CENSORED] = censored
    at_risk = size - np.concatenate(([0], np.cumsum(total)[:-1]))
    has = events > 0
    risk = at_risk[has].astype(np.float64)
    survival = np.cumprod(1.0 - events[has] / risk).astype(np.float64)
    before = np.concatenate(([1.0], survival[:-1]))
    incidences = {c: np.cumsum(before * per_cause[c][has] / risk) for c in wanted}
    return ArrayCurve(durations[starts][has], survival, incidences, size, counts)


# -- conversion --------------------------------------------------------------------------------


def _durations_causes(
    cols: DealColumns, rows: Bools | Ints, position: int, target: int, as_of: float
) -> tuple[Floats, Ints]:
    """Days from reaching `position` to reaching `target` (or won), to closing without it, or
    to `as_of` while open, and which of the three, for the deals in `rows` (a mask or indices)."""
    start = cols.reach[:, position][rows]
    closed_at = cols.closed[rows]
    closed = cols.is_closed_by(as_of)[rows]
    if target == WON_TARGET:
        done = np.where(closed & (cols.outcome[rows] == _WON), closed_at, np.nan)
    elif target >= cols.positions:
        done = np.full(start.shape[0], np.nan)
    else:
        later = np.nan_to_num(cols.reach[rows][:, target:], nan=np.inf).min(axis=1)
        done = np.where(later <= as_of, later, np.nan)
    has_done = ~np.isnan(done)
    failed = ~has_done & closed
    end = np.where(has_done, done, np.where(failed, closed_at, as_of))
    durations = np.maximum(0.0, (end - start) / DAY)
    causes = np.where(has_done, REACHED, np.where(failed, FAILED, CENSORED)).astype(np.int64)
    return durations, causes


def conversion_columns(
    cols: DealColumns, mask: Bools, position: int, target: int, as_of: float
) -> Conversion:
    """`conversion.conversion` of the deals in `mask`."""
    if position >= cols.positions:
        return Conversion(None, 0, 0, 0, 0)
    start = cols.reach[:, position]
    keep = mask & ~np.isnan(start) & (start <= as_of)
    if not keep.any():
        return Conversion(None, 0, 0, 0, 0)
    durations, causes = _durations_causes(cols, keep, position, target, as_of)
    return Conversion.of(aj_arrays(durations, causes, (REACHED, FAILED)))


@dataclass
class Presorted:
    """Every deal's (duration, cause) for one conversion, in ascending duration order: a
    conversion over any subset is then one pass (`conversion_presorted`)."""

    rows: Ints
    durations: Floats
    causes: Ints


def presort_conversion(cols: DealColumns, position: int, target: int, as_of: float) -> Presorted:
    if position >= cols.positions:
        return Presorted(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64))
    start = cols.reach[:, position]
    rows = np.nonzero(~np.isnan(start) & (start <= as_of))[0]
    durations, causes = _durations_causes(cols, rows, position, target, as_of)
    order = np.argsort(durations, kind="stable")
    return Presorted(rows[order], durations[order], causes[order])


def conversion_presorted(table: Presorted, mask: Bools) -> Conversion:
    """`conversion.conversion` of the deals in `mask`, from their presorted table."""
    sel = mask[table.rows]
    if not sel.any():
        return Conversion(None, 0, 0, 0, 0)
    return Conversion.of(aj_sorted(table.durations[sel], table.causes[sel], (REACHED, FAILED)))


# -- the model ----------------------------------------------------------------------------------


class _Tally:
    """Counts per (group, rounded duration, cause), gathered as integer codes, decoded once."""

    def __init__(self) -> None:
        self.groups: list[Any] = []
        self.codes: list[Ints] = []

    def add(self, group: Any, days: Floats, causes: Ints) -> None:
        if not days.shape[0]:
            return
        steps = np.round(days / RESOLUTION_DAYS).astype(np.int64)
        index = len(self.groups)
        self.groups.append(group)
        self.codes.append((index << 40) | (steps << 2) | causes)

    def into(self, target: dict[Any, dict[tuple[float, int], int]]) -> None:
        if not self.codes:
            return
        unique, counts = np.unique(np.concatenate(self.codes), return_counts=True)
        groups = (unique >> 40).tolist()
        days = (((unique >> 2) & ((1 << 38) - 1)) * RESOLUTION_DAYS).tolist()
        causes = (unique & 3).tolist()
        for g, t, cause, n in zip(groups, days, causes, counts.tolist(), strict=True):
            target.setdefault(self.groups[g], {})[(t, cause)] = n


def fit_model_columns(
    cols: DealColumns, as_of: float, min_sample: int = MIN_SAMPLE, rows: Bools | None = None
) -> Model:
    """`model.fit_model` over columns (the deals in `rows`, or all): velocity and stalls."""
    model = Model(instant(as_of), min_sample)
    keep = (cols.process >= 0) & (cols.created <= as_of)
    if rows is not None:
        keep &= rows
    selected = np.nonzero(keep)[0]
    stays = cols.stays(as_of, selected)
    process = cols.process[stays.row]
    length = np.maximum(0.0, (stays.end - stays.start) / DAY)
    leave_cause = np.where(
        stays.ending == _ENDING_ADVANCED,
        ADVANCED,
        np.where(stays.ending == _OPEN, CENSORED, CLOSED),
    ).astype(np.int64)
    leaves = _Tally()
    for position in np.unique(stays.position).tolist():
        at = stays.position == position
        for owner in [*np.unique(process[at]).tolist(), None]:
            sel = at if owner is None else at & (process == owner)
            leaves.add((owner, position), length[sel], leave_cause[sel])
    leaves.into(model.leave_counts)
    return model
