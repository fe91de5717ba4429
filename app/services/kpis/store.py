"""The API's in-memory view of opportunity state, kept fresh from the database's changes.

Each API process holds one `KpiStore`: every opportunity's path (positions reached and when,
outcome, amount, owner, team) as columns (`app.kpis.columns.DealColumns`, numpy arrays: about
200 bytes per opportunity), loaded once and then refreshed by reading only the state rows
updated since the last look (at most every `REFRESH_SECONDS`, with an overlap so that late
commits are not missed). Events are never scanned on a read.

A `Snapshot` is immutable once published: a refresh builds the next one (copying the arrays,
replacing the changed rows) and swaps it in. With it come what every answer needs at the
view's as-of instant — each open opportunity's position, days at it, win probability, stall
flag and monthly win probabilities — computed once per snapshot, so a request only filters
and sums. The model is refitted when state has changed and it is older than `MODEL_SECONDS`.
With `background=True` (the API) refreshes and refits run on a thread of their own and
readers keep the previous snapshot meanwhile; `start()` loads and fits before the first
request. KPI answers are cached per snapshot generation.

The view's "now" (`Snapshot.as_of`) is the data's clock, not necessarily the wall clock:
see `app.services.state.clock`.

    store = KpiStore(database, background=True).start()
    snapshot = store.snapshot()        # columns, processes, model, as_of, generation
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select

from app.core.database import Database
from app.kpis.columns import (
    OUTCOMES,
    Bools,
    DealColumns,
    Floats,
    Ints,
    Presorted,
    epoch,
    fit_model_columns,
    instant,
    presort_conversion,
)
from app.kpis.forecast import month_windows
from app.kpis.history import DAY, DealHistory
from app.kpis.incidence import WON
from app.kpis.model import Model, landmark_for
from app.models import (
    Connection,
    CrmOwner,
    Milestone,
    Opportunity,
    OpportunityState,
    Process,
    RulesetVersion,
)
from app.models.base import utcnow
from app.services.state.clock import AsOf, data_clock
from app.services.state.opportunities import segment_of

__all__ = [
    "DealInfo",
    "Derived",
    "KpiStore",
    "Labels",
    "MilestoneInfo",
    "ProcessInfo",
    "Snapshot",
    "data_clock",
]

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0
MODEL_SECONDS = 60.0
OVERLAP = timedelta(minutes=2)
CACHE_SIZE = 512
FORECAST_MONTHS = 12
CHUNK = 10_000
SQLITE_SCAN_CACHE_KIB = 8192


@dataclass(frozen=True)
class MilestoneInfo:
    id: int
    key: str
    name: str
    position: int
    kind: str
    guidance: str


@dataclass(frozen=True)
class ProcessInfo:
    id: int
    key: str
    name: str
    segment: str | None
    milestones: tuple[MilestoneInfo, ...]

    def at(self, position: int) -> MilestoneInfo | None:
        for milestone in self.milestones:
            if milestone.position == position:
                return milestone
        return None

    def after(self, position: int) -> MilestoneInfo | None:
        for milestone in self.milestones:
            if milestone.position > position:
                return milestone
        return None


@dataclass(frozen=True, slots=True)
class DealInfo:
    """What listings show besides the history."""

    name: str
    external_id: str
    owner_external_id: str | None
    owner_name: str | None
    connection: str | None
    stage_probability: float | None
    close_date: date | None
    current_since: datetime


@dataclass
class Labels:
    """Dense indexes of owners, teams, segments and connections; append-only, shared."""

    owner_ids: list[int] = field(default_factory=list)
    owner_external: list[str | None] = field(default_factory=list)
    owner_names: list[str | None] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    connection_ids: list[int] = field(default_factory=list)
    connection_names: list[str | None] = field(default_factory=list)
    _index: dict[tuple[str, object], int] = field(default_factory=dict)

    def index(self, kind: str, value: object, *extra: Any) -> int:
        if value is None:
            return -1
        found = self._index.get((kind, value))
        if found is not None:
            if kind == "owner":  # names change; the id does not
                self.owner_external[found], self.owner_names[found] = extra
            return found
        if kind == "owner":
            found = len(self.owner_ids)
            self.owner_ids.append(int(value))  # type: ignore[call-overload]
            self.owner_external.append(extra[0])
            self.owner_names.append(extra[1])
        elif kind == "team":
            found = len(self.teams)
            self.teams.append(str(value))
        elif kind == "segment":
            found = len(self.segments)
            self.segments.append(str(value))
        else:
            found = len(self.connection_ids)
            self.connection_ids.append(int(value))  # type: ignore[call-overload]
            self.connection_names.append(extra[0])
        self._index[(kind, value)] = found
        return found

    def owners_with_external_id(self, external_id: str) -> list[int]:
        return [i for i, e in enumerate(self.owner_external) if e == external_id]


@dataclass
class Derived:
    """Per opportunity, at the snapshot's as-of: computed once, read by every request."""

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


@dataclass
class Snapshot:
    version_id: int | None
    processes: dict[int, ProcessInfo]
    columns: DealColumns
    names: list[str]
    external_ids: list[str]
    stage_probability: Floats
    close_month: Ints
    """year * 12 + month - 1 of the CRM close date, -1 if none."""
    last_action: Floats
    labels: Labels
    row_of: dict[int, int]
    model: Model
    as_of: datetime
    derived: Derived
    generation: int
    loaded_at: datetime

    _presorted: dict[tuple[int, int], Presorted] = field(default_factory=dict)

    def conversion_table(self, position: int, target: int) -> Presorted:
        """Every deal's (duration, cause) from `position` to `target`, sorted, made once."""
        table = self._presorted.get((position, target))
        if table is None:
            table = presort_conversion(self.columns, position, target, epoch(self.as_of))
            self._presorted[(position, target)] = table
        return table

    def process_by_key(self, key: str) -> ProcessInfo | None:
        for process in self.processes.values():
            if process.key == key:
                return process
        return None

    @property
    def deals(self) -> Mapping[int, DealHistory]:
        """Each opportunity as a `DealHistory` (built on access)."""
        return _Deals(self)

    @property
    def info(self) -> Mapping[int, DealInfo]:
        return _Infos(self)

    def history(self, row: int) -> DealHistory:
        cols = self.columns
        reached = [
            (p, float(cols.reach[row, p]))
            for p in range(1, cols.positions)
            if not np.isnan(cols.reach[row, p])
        ]
        reached.sort(key=lambda item: item[1])
        owner, team, segment, connection = (
            int(cols.owner[row]),
            int(cols.team[row]),
            int(cols.segment[row]),
            int(cols.connection[row]),
        )
        closed = float(cols.closed[row])
        last = float(self.last_action[row])
        return DealHistory(
            key=int(cols.key[row]),
            process=None if cols.process[row] < 0 else int(cols.process[row]),
            created_at=instant(float(cols.created[row])),
            reached=tuple((p, instant(at)) for p, at in reached),
            outcome=OUTCOMES[int(cols.outcome[row])],
            closed_at=None if np.isnan(closed) else instant(closed),
            amount=float(cols.amount[row]),
            owner=self.labels.owner_ids[owner] if owner >= 0 else None,
            team=self.labels.teams[team] if team >= 0 else None,
            segment=self.labels.segments[segment] if segment >= 0 else None,
            connection=self.labels.connection_ids[connection] if connection >= 0 else None,
            last_action_at=None if np.isnan(last) else instant(last),
        )

    def deal_info(self, row: int) -> DealInfo:
        cols, labels = self.columns, self.labels
        owner, connection = int(cols.owner[row]), int(cols.connection[row])
        probability = float(self.stage_probability[row])
        month = int(self.close_month[row])
        since = float(self.derived.since[row])
        return DealInfo(
            self.names[row],
            self.external_ids[row],
            labels.owner_external[owner] if owner >= 0 else None,
            labels.owner_names[owner] if owner >= 0 else None,
            labels.connection_names[connection] if connection >= 0 else None,
            None if np.isnan(probability) else probability,
            None if month < 0 else date(month // 12, month % 12 + 1, 1),
            instant(since if not np.isnan(since) else float(cols.created[row])),
        )


class _Deals(Mapping[int, DealHistory]):
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def __getitem__(self, key: int) -> DealHistory:
        return self.snapshot.history(self.snapshot.row_of[key])

    def __iter__(self) -> Iterator[int]:
        return iter(self.snapshot.row_of)

    def __len__(self) -> int:
        return len(self.snapshot.row_of)


class _Infos(Mapping[int, DealInfo]):
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def __iter__(self) -> Iterator[int]:
        return iter(self.snapshot.row_of)

    def __len__(self) -> int:
        return len(self.snapshot.row_of)

    def __getitem__(self, key: int) -> DealInfo:
        return self.snapshot.deal_info(self.snapshot.row_of[key])


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- derived values ------------------------------------------------------------------------------


def _curve_arrays(model: Model, process: int, position: int, days_at: float) -> Any:
    curve, landmark, _ = model.curve(process, position, days_at)
    if curve is None:
        return None
    times = np.asarray(curve.times, dtype=np.float64)
    survival = np.asarray(curve.survival, dtype=np.float64)
    won = np.asarray(curve.incidences.get(WON, ()), dtype=np.float64)
    return times, survival, won, landmark


def _step(times: Floats, values: Floats, t: Floats, before: float) -> Floats:
    if not values.shape[0]:
        return np.zeros_like(t)
    i = np.searchsorted(times, t, side="right") - 1
    return np.where(i < 0, before, values[np.maximum(i, 0)])


def derive(snapshot_columns: DealColumns, model: Model, as_of: datetime) -> Derived:
    """Position, days at it, win probability, stall flag and monthly P(won) per opportunity."""
    cols = snapshot_columns
    moment = epoch(as_of)
    n = len(cols)
    position, since = cols.position_at(moment)
    is_open = cols.outcome == 0
    until = np.where(is_open | np.isnan(cols.closed), moment, np.fmin(cols.closed, moment))
    days_at = np.maximum(0.0, (until - since) / DAY)  # a closed deal stops ageing at its close
    win = np.where(cols.outcome == 1, 1.0, 0.0)
    threshold = np.full(n, np.nan)
    windows = month_windows(as_of, FORECAST_MONTHS)
    offsets = [
        ((w.start - as_of).total_seconds() / DAY, (w.end - as_of).total_seconds() / DAY)
        for w in windows
    ]
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
            found = _curve_arrays(model, process, pos, float(landmark))
            if found is None:
                continue
            times, survival, won, used = found
            after = days_at[members] - used
            alive = _step(times, survival, after, 1.0)
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
    new_pipeline: dict[int, Floats] = {}
    horizon = int(np.ceil(offsets[-1][1]))
    for process in np.unique(cols.process[cols.process >= 0]).tolist():
        sums = np.zeros(FORECAST_MONTHS)
        for day in range(horizon):
            created = day + 0.5
            for i, (start, end) in enumerate(offsets):
                if end <= created:
                    continue
                p = model.win_between(process, 0, 0.0, max(0.0, start - created), end - created)
                if p > 0.0:
                    sums[i] += p
        new_pipeline[process] = sums
    return Derived(position, since, days_at, win, threshold, stalled, month_p, new_pipeline)


# -- the store -----------------------------------------------------------------------------------


@dataclass
class _Rows:
    """Loaded state rows, before they become columns."""

    keys: list[int] = field(default_factory=list)
    process: list[int] = field(default_factory=list)
    created: list[float] = field(default_factory=list)
    closed: list[float] = field(default_factory=list)
    outcome: list[int] = field(default_factory=list)
    amount: list[float] = field(default_factory=list)
    owner: list[int] = field(default_factory=list)
    team: list[int] = field(default_factory=list)
    segment: list[int] = field(default_factory=list)
    connection: list[int] = field(default_factory=list)
    reach: list[list[tuple[int, float]]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    external_ids: list[str] = field(default_factory=list)
    probability: list[float] = field(default_factory=list)
    close_month: list[int] = field(default_factory=list)
    last_action: list[float] = field(default_factory=list)

    def columns(self, width: int) -> _Fresh:
        reach = np.full((len(self.keys), width), np.nan)
        reach[:, 0] = self.created
        for i, steps in enumerate(self.reach):
            for p, at in steps:
                if p < width:
                    reach[i, p] = at
        return _Fresh(
            DealColumns(
                key=np.array(self.keys, dtype=np.int64),
                process=np.array(self.process, dtype=np.int64),
                created=np.array(self.created, dtype=np.float64),
                closed=np.array(self.closed, dtype=np.float64),
                outcome=np.array(self.outcome, dtype=np.int64),
                amount=np.array(self.amount, dtype=np.float64),
                owner=np.array(self.owner, dtype=np.int64),
                team=np.array(self.team, dtype=np.int64),
                segment=np.array(self.segment, dtype=np.int64),
                connection=np.array(self.connection, dtype=np.int64),
                reach=reach,
            ),
            self.names,
            self.external_ids,
            np.array(self.probability, dtype=np.float64),
            np.array(self.close_month, dtype=np.int64),
            np.array(self.last_action, dtype=np.float64),
        )


@dataclass
class _Fresh:
    """Loaded state rows as columns."""

    columns: DealColumns
    names: list[str]
    external_ids: list[str]
    probability: Floats
    close_month: Ints
    last_action: Floats

    @classmethod
    def concatenate(cls, parts: list[_Fresh]) -> _Fresh:
        return cls(
            DealColumns(
                **{
                    name: np.concatenate([getattr(p.columns, name) for p in parts])
                    for name in _COLUMNS
                }
            ),
            [n for p in parts for n in p.names],
            [e for p in parts for e in p.external_ids],
            np.concatenate([p.probability for p in parts]),
            np.concatenate([p.close_month for p in parts]),
            np.concatenate([p.last_action for p in parts]),
        )


def _tune_malloc() -> None:
    """Keep a long-running API process's heap near what it holds (glibc only).

    Snapshots are large numpy arrays, rebuilt on every refresh: with a fixed mmap threshold
    they are mapped and unmapped instead of growing the heap (glibc otherwise raises the
    threshold after the first large free), and two arenas stop every worker thread from
    keeping a heap of its own.
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD: 1 MiB, no longer dynamic
        libc.mallopt(-8, 2)  # M_ARENA_MAX


def _release_memory() -> None:
    """Give the heap the load left behind back to the system (glibc keeps it otherwise)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _seconds(moment: datetime | None) -> float:
    return float("nan") if moment is None else _aware(moment).timestamp()


@dataclass
class KpiStore:
    database: Database
    refresh_seconds: float = REFRESH_SECONDS
    model_seconds: float = MODEL_SECONDS
    background: bool = False
    as_of_setting: AsOf = "data"
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _work: threading.Lock = field(default_factory=threading.Lock)
    _ready: threading.Event = field(default_factory=threading.Event)
    _snapshot: Snapshot | None = None
    _watermark: datetime | None = None
    _checked: float = 0.0
    _model_at: float = 0.0
    _busy: bool = False
    _labels: Labels = field(default_factory=Labels)
    _cache: OrderedDict[tuple[Any, ...], Any] = field(default_factory=OrderedDict)
    _warmers: list[Callable[[Snapshot], None]] = field(default_factory=list)

    def start(self) -> KpiStore:
        """Load and fit on a thread now, so that the first request finds it ready."""
        _tune_malloc()
        threading.Thread(target=self._first_load, daemon=True, name="kpi-load").start()
        return self

    def on_snapshot(self, warm: Callable[[Snapshot], None]) -> None:
        """Call `warm(snapshot)` on the refresh thread after each new snapshot (precompute)."""
        self._warmers.append(warm)

    def _first_load(self) -> None:
        try:
            with self._work:
                if self._snapshot is None:
                    self._update(force_model=True)
        except Exception:
            log.exception("KPI view: first load failed")
        finally:
            self._checked = time.monotonic()

    def snapshot(self, fresh: bool = False) -> Snapshot:
        """The current view; refreshed from state changes at most every `refresh_seconds`,
        or now when `fresh`: a write-back must see the state its own pass just changed, with
        the model refitted on it, so that it writes what a view started now would answer."""
        now = time.monotonic()
        current = self._snapshot
        if current is None:
            with self._work:
                if self._snapshot is None:
                    self._update(force_model=True)
                    self._checked = time.monotonic()
            assert self._snapshot is not None
            return self._snapshot
        if not fresh and now - self._checked < self.refresh_seconds:
            return current
        self._checked = now
        if fresh or not self.background:
            with self._work:
                self._update(force_model=fresh)
            assert self._snapshot is not None
            return self._snapshot
        with self._lock:
            if self._busy:
                return current
            self._busy = True
        threading.Thread(target=self._background_update, daemon=True, name="kpi-refresh").start()
        return current

    def _background_update(self) -> None:
        try:
            with self._work:
                self._update(force_model=False)
        except Exception:
            log.exception("KPI view: refresh failed")
        finally:
            with self._lock:
                self._busy = False

    @property
    def ready(self) -> bool:
        """Whether a snapshot is loaded (`snapshot()` then never waits for a first load)."""
        return self._snapshot is not None

    def remembered(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
            return found

    def remember(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    # -- refresh --------------------------------------------------------------------------------

    def _update(self, force_model: bool) -> None:
        with self.database.session() as session:
            version_id = session.scalar(
                select(RulesetVersion.id).where(RulesetVersion.is_active.is_(True))
            )
            current = self._snapshot
            high = session.scalar(select(func.max(OpportunityState.updated_at)))
            if current is not None and current.version_id == version_id:
                if high is None or (self._watermark is not None and high <= self._watermark):
                    return
                since = (self._watermark or high) - OVERLAP
                processes = current.processes
                width = current.columns.positions
                rows = self._load(session, version_id, since, width)
            else:
                processes = self._processes(session, version_id)
                width = 1 + max(
                    (m.position for p in processes.values() for m in p.milestones), default=0
                )
                rows = self._load(session, version_id, None, width)
                current = None
            as_of = data_clock(session, self.as_of_setting)
        cols, extra = self._merge(current, rows)
        stale = time.monotonic() - self._model_at > self.model_seconds
        refit = current is None or force_model or stale
        model = fit_model_columns(cols, epoch(as_of)) if refit or current is None else current.model
        derived = derive(cols, model, as_of)
        generation = (self._snapshot.generation + 1) if self._snapshot else 1
        names, external_ids, probability, close_month, last_action, row_of = extra
        snapshot = Snapshot(
            version_id,
            processes,
            cols,
            names,
            external_ids,
            probability,
            close_month,
            last_action,
            labels=self._labels,
            row_of=row_of,
            model=model,
            as_of=as_of,
            derived=derived,
            generation=generation,
            loaded_at=utcnow(),
        )
        with self._lock:
            self._snapshot = snapshot
            self._watermark = high
            if refit:
                self._model_at = time.monotonic()
            self._cache.clear()
        self._ready.set()
        if current is None:
            _release_memory()
        for warm in self._warmers:
            try:
                warm(snapshot)
            except Exception:
                log.exception("KPI view: precomputing an answer failed")

    def _processes(self, session: Any, version_id: int | None) -> dict[int, ProcessInfo]:
        processes: dict[int, ProcessInfo] = {}
        if version_id is None:
            return processes
        rows = session.execute(
            select(Process).where(Process.ruleset_version_id == version_id)
        ).scalars()
        for process in rows:
            milestones = session.execute(
                select(Milestone)
                .where(Milestone.process_id == process.id)
                .order_by(Milestone.position)
            ).scalars()
            processes[process.id] = ProcessInfo(
                process.id,
                process.key,
                process.name,
                segment_of(process.segment_selector or {}),
                tuple(
                    MilestoneInfo(m.id, m.key, m.name, m.position, m.kind, m.guidance)
                    for m in milestones
                ),
            )
        return processes

    def _merge(self, current: Snapshot | None, rows: _Fresh) -> tuple[DealColumns, tuple[Any, ...]]:
        fresh = rows.columns
        probability, close_month, last_action = rows.probability, rows.close_month, rows.last_action
        width = fresh.positions
        if current is None:
            order = np.argsort(fresh.key, kind="stable")
            cols = _take(fresh, order)
            names = [rows.names[i] for i in order.tolist()]
            external = [rows.external_ids[i] for i in order.tolist()]
            extra = (names, external, probability[order], close_month[order], last_action[order])
            row_of = {k: i for i, k in enumerate(cols.key.tolist())}
            return cols, (*extra, row_of)
        old = current.columns
        if old.positions < width:
            pad = np.full((len(old), width - old.positions), np.nan)
            old = replace(old, reach=np.concatenate([old.reach, pad], axis=1))
        row_of = dict(current.row_of)
        existing = [(i, row_of[k]) for i, k in enumerate(fresh.key.tolist()) if k in row_of]
        added = [i for i, k in enumerate(fresh.key.tolist()) if k not in row_of]
        cols = _take(old, np.arange(len(old)))
        names, external = list(current.names), list(current.external_ids)
        if cols.positions > width:
            pad = np.full((len(fresh), cols.positions - width), np.nan)
            fresh = replace(fresh, reach=np.concatenate([fresh.reach, pad], axis=1))
        prob, month, last = (
            current.stage_probability.copy(),
            current.close_month.copy(),
            current.last_action.copy(),
        )
        if existing:
            src = np.array([i for i, _ in existing], dtype=np.int64)
            dst = np.array([j for _, j in existing], dtype=np.int64)
            for name in _COLUMNS:
                getattr(cols, name)[dst] = getattr(fresh, name)[src]
            prob[dst], month[dst], last[dst] = probability[src], close_month[src], last_action[src]
            for i, j in existing:
                names[j], external[j] = rows.names[i], rows.external_ids[i]
        if added:
            src = np.array(added, dtype=np.int64)
            cols = DealColumns(
                **{
                    name: np.concatenate([getattr(cols, name), getattr(fresh, name)[src]])
                    for name in _COLUMNS
                }
            )
            prob = np.concatenate([prob, probability[src]])
            month = np.concatenate([month, close_month[src]])
            last = np.concatenate([last, last_action[src]])
            for i in added:
                row_of[int(fresh.key[i])] = len(names)
                names.append(rows.names[i])
                external.append(rows.external_ids[i])
        return cols, (names, external, prob, month, last, row_of)

    def _load(
        self, session: Any, version_id: int | None, since: datetime | None, width: int
    ) -> _Fresh:
        """State rows (all, or updated since `since`) as columns, read in chunks."""
        state = OpportunityState
        query = (
            select(
                state.opportunity_id,
                state.process_id,
                state.created_at,
                state.reached,
                state.outcome,
                state.closed_at,
                state.amount,
                state.owner_id,
                state.team,
                state.segment,
                state.connection_id,
                state.last_customer_action_at,
                state.deleted,
                state.stage_probability,
                state.close_date,
                state.current_since,
                Opportunity.name,
                Opportunity.external_id,
            )
            .join(Opportunity, Opportunity.id == state.opportunity_id)
            .where(state.ruleset_version_id == version_id)
        )
        if since is not None:
            query = query.where(state.updated_at > since)
        owners = {
            row[0]: (row[1], row[2])
            for row in session.execute(select(CrmOwner.id, CrmOwner.external_id, CrmOwner.name))
        }
        connections = dict(session.execute(select(Connection.id, Connection.name)).tuples().all())
        labels = self._labels
        parse = datetime.fromisoformat
        outcomes = {name: i for i, name in enumerate(OUTCOMES)}
        parts: list[_Fresh] = []
        out = _Rows()
        connection = session.connection()
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # a one-off scan: SQLite's page cache would keep what it read for the process's life
            cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_SCAN_CACHE_KIB}")
        result = connection.execution_options(yield_per=CHUNK).execute(query)
        for row in result:
            (
                opportunity_id,
                process_id,
                created_at,
                reached,
                outcome,
                closed_at,
                amount,
                owner_id,
                team,
                segment,
                connection_id,
                last_action,
                deleted,
                probability,
                close_date,
                current_since,
                name,
                external_id,
            ) = row
            created = _seconds(created_at or current_since or utcnow())
            owner_external, owner_name = owners.get(owner_id, (None, None))
            out.keys.append(opportunity_id)
            out.process.append(-1 if deleted or process_id is None else process_id)
            out.created.append(created)
            out.closed.append(_seconds(closed_at))
            out.outcome.append(outcomes.get(outcome, 0))
            out.amount.append(float(amount or 0))
            out.owner.append(labels.index("owner", owner_id, owner_external, owner_name))
            out.team.append(labels.index("team", team))
            out.segment.append(labels.index("segment", segment))
            out.connection.append(
                labels.index("connection", connection_id, connections.get(connection_id))
            )
            out.reach.append([(int(p), _seconds(parse(at))) for p, at in (reached or {}).items()])
            out.names.append(name)
            out.external_ids.append(external_id)
            out.probability.append(float("nan") if probability is None else float(probability))
            out.close_month.append(
                -1 if close_date is None else close_date.year * 12 + close_date.month - 1
            )
            out.last_action.append(_seconds(last_action))
            if len(out.keys) >= CHUNK:
                parts.append(out.columns(width))
                out = _Rows()
        parts.append(out.columns(width))
        if sqlite:
            connection.exec_driver_sql("PRAGMA shrink_memory")
            connection.exec_driver_sql(f"PRAGMA cache_size={int(cache_size or -2000)}")
        return _Fresh.concatenate(parts)


_COLUMNS = (
    "key",
    "process",
    "created",
    "closed",
    "outcome",
    "amount",
    "owner",
    "team",
    "segment",
    "connection",
    "reach",
)


def _take(cols: DealColumns, order: Ints) -> DealColumns:
    return DealColumns(**{name: getattr(cols, name)[order] for name in _COLUMNS})
