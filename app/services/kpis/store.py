"""The API's in-memory view of opportunity state, kept fresh from the database's changes.

Each API process holds one `KpiStore`: a `Snapshot` of every opportunity's path as columns,
loaded once (`loader`) and then refreshed by reading only the state rows updated since the
last look (at most every `REFRESH_SECONDS`, with an overlap so that late commits are not
missed). Events are never scanned on a read.

A published snapshot is never changed: a refresh builds the next one (copying the arrays,
replacing the changed rows), derives what every answer needs at the view's as-of instant
(`app.kpis.derived`) and swaps it in. The model is refitted when state has changed and it is
older than `MODEL_SECONDS`. With `background=True` (the API) refreshes and refits run on a
thread of their own and readers keep the previous snapshot meanwhile; `start()` loads and
fits before the first request. KPI answers are cached per snapshot generation.

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
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select

from app.core.caching import BoundedCache
from app.core.database import Database
from app.core.errors import InvalidRequestError
from app.kpis.columns import DealColumns, epoch, fit_model_columns, instant
from app.kpis.derived import derive
from app.kpis.model import Model
from app.models import OpportunityState, SyncRun
from app.models.base import utcnow
from app.services.kpis.halflives import (
    ChoiceCache,
    fitted_with,
    new_choice_cache,
    process_half_lives,
    snapshot_deals,
)
from app.services.kpis.loader import StateRows, load_processes, load_state_rows
from app.services.kpis.past import FieldHistory, PastFacts, snapshot_at
from app.services.kpis.snapshot import Labels, Snapshot
from app.services.state.active import active_versions
from app.services.state.clock import AsOf, data_age, data_clock
from app.services.sync.status import FINISHED_OK

__all__ = ["KpiStore"]

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0
MODEL_SECONDS = 60.0
WATCH_SECONDS = 0.5
"""How often a watching view (the API's) looks for a finished pipeline pass."""
OVERLAP = timedelta(minutes=2)
CACHE_SIZE = 512
PAST_SNAPSHOTS = 4


# -- the store -----------------------------------------------------------------------------------


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


@dataclass
class KpiStore:
    """One process's view of opportunity state: snapshots, their refresh, cached answers."""

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
    _answers: BoundedCache[tuple[Any, ...], Any] = field(
        default_factory=lambda: BoundedCache(
            "encoded KPI answers: a dashboard asks the same ones until state changes",
            size=CACHE_SIZE,
        )
    )
    _warmers: list[Callable[[Snapshot], None]] = field(default_factory=list)
    watch_seconds: float = WATCH_SECONDS
    _stop: threading.Event = field(default_factory=threading.Event)
    _watching: bool = False
    _threads: list[threading.Thread] = field(default_factory=list)
    _caught_up: float | None = None
    _last_sync: datetime | None = None
    _last_ok_sync: datetime | None = None
    _fields: BoundedCache[int, FieldHistory] = field(
        default_factory=lambda: BoundedCache(
            "the CRM's field history, read once per generation for every past instant", size=1
        )
    )
    _choices: ChoiceCache = field(default_factory=new_choice_cache)
    _past: BoundedCache[tuple[int, float], Snapshot] = field(
        default_factory=lambda: BoundedCache(
            "snapshots at past instants: a cut, a field-history read and a refit each",
            size=PAST_SNAPSHOTS,
        )
    )

    def start(self) -> KpiStore:
        """Load and fit on a thread now, so that the first request finds it ready; then, for a
        background view, watch the database and take in every finished pipeline pass within
        `watch_seconds`, so that no answer waits for a request to notice it (pushed, not
        pulled)."""
        _tune_malloc()
        self._start_thread(self._first_load, "kpi-load")
        if self.background:
            self._watching = True
            self._start_thread(self._watch, "kpi-watch")
        return self

    def stop(self, wait_seconds: float = 30.0) -> None:
        """Stop watching (the API's shutdown) and wait for a load or refresh under way, at most
        `wait_seconds` in all (a process that exits with it inside numpy can abort); reads then
        refresh on request again."""
        self._watching = False
        self._stop.set()
        deadline = time.monotonic() + wait_seconds
        for thread in list(self._threads):
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]

    def _start_thread(self, target: Callable[[], None], name: str) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        thread = threading.Thread(target=target, daemon=True, name=name)
        self._threads.append(thread)
        thread.start()

    def _watch(self) -> None:
        """Publish a pass's state at once with the model it has, then refit on it (a fit
        takes seconds at scale: the new state should not wait for it)."""
        while not self._ready.wait(0.5):
            if self._stop.is_set():
                return
        while not self._stop.wait(self.watch_seconds):
            try:
                with self._work:
                    fitted = self._model_at
                    if self._update(force_model=False) and self._model_at == fitted:
                        self._refit()
            except Exception:
                log.exception("KPI view: catching up failed")

    @property
    def current(self) -> Snapshot | None:
        """The published snapshot as it is (never waits, never refreshes)."""
        return self._snapshot

    def data_age_seconds(self) -> float | None:
        """Seconds since the newest successful sync the view has taken in finished: how old
        the CRM data behind every answer is (None before any sync). Every answer states it,
        in its body and the `X-Data-Age-Seconds` header, from this one reading."""
        return data_age(self._last_ok_sync)

    @property
    def age_seconds(self) -> float | None:
        """Seconds since the view last matched the database (None before the first load)."""
        if self._caught_up is None:
            return None
        return max(0.0, time.monotonic() - self._caught_up)

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
        """The view at the data clock: with a past `MILESTONES_KPI_AS_OF`, what an export cut
        then answers (`at`). See `_latest`."""
        return self._as_set(self._latest(fresh))

    def at(self, moment: datetime) -> Snapshot:
        """The view as an export cut at `moment` would answer (`past.snapshot_at`), kept for
        a few instants per generation; InvalidRequestError for an instant it cannot answer:
        after the data clock (the future is unknown) or before the first opportunity."""
        now = self.snapshot()
        moment = moment.astimezone(now.as_of.tzinfo)
        if moment > now.as_of:
            raise InvalidRequestError(
                f"as_of: {moment.isoformat()} is after the data clock ({now.as_of.isoformat()}): "
                "the future is unknown"
            )
        cols = now.columns
        live = np.isin(cols.process, np.array(list(now.processes), dtype=np.int64))
        if not live.any() or epoch(moment) < float(cols.created[live].min()):
            first = "none yet" if not live.any() else instant(float(cols.created[live].min()))
            raise InvalidRequestError(
                f"as_of: {moment.isoformat()} is before the first opportunity ({first}): "
                "there is nothing to answer about"
            )
        if moment == now.as_of and now is not self._snapshot:
            return now  # the view is cut at this very instant already
        base = self._snapshot
        assert base is not None
        return self._cut(base, moment)

    def _as_set(self, snapshot: Snapshot) -> Snapshot:
        """`snapshot`, cut at the as-of setting when that is a fixed instant."""
        if not isinstance(self.as_of_setting, datetime):
            return snapshot
        return self._cut(snapshot, snapshot.as_of)

    def _cut(self, base: Snapshot, moment: datetime) -> Snapshot:
        key = (base.generation, epoch(moment))
        found = self._past.get(key)
        if found is None:
            fields = self._fields.get(base.generation)
            if fields is None:
                fields = FieldHistory.load(self.database)
                self._fields.put(base.generation, fields)
            facts = PastFacts.load(self.database, base, moment, fields)
            found = snapshot_at(base, moment, facts)
            self._past.put(key, found)
        return found

    def _latest(self, fresh: bool = False) -> Snapshot:
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
        if not fresh and (self._watching or now - self._checked < self.refresh_seconds):
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
        self._start_thread(self._background_update, "kpi-refresh")
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
        """The answer kept for `key` (which starts with the snapshot's generation), or None."""
        return self._answers.get(key)

    def remember(self, key: tuple[Any, ...], value: Any) -> None:
        self._answers.put(key, value)

    # -- refresh --------------------------------------------------------------------------------

    def _update(self, force_model: bool) -> bool:
        """Take in what changed since the last look; whether the view moved. A finished sync
        that changed no state still moves the data clock: the view is derived again at the
        new instant, and its model is fitted again there (now with `force_model`, after the
        publication when watching), since a view started now fits it at that instant."""
        checked = time.monotonic()
        with self.database.session() as session:
            versions = active_versions(session)
            current = self._snapshot
            high = session.scalar(select(func.max(OpportunityState.updated_at)))
            last_sync, last_ok_sync = session.execute(
                select(
                    func.max(SyncRun.finished_at),
                    func.max(SyncRun.finished_at).filter(SyncRun.status.in_(FINISHED_OK)),
                )
            ).one()
            if current is not None and current.versions == versions:
                if high is None or (self._watermark is not None and high <= self._watermark):
                    moved = False
                    if last_sync != self._last_sync:
                        as_of = data_clock(session, self.as_of_setting)
                        self._last_sync = last_sync
                        moved = as_of != current.as_of
                        if moved:
                            model = current.model
                            if force_model:
                                model = fit_model_columns(current.columns, epoch(as_of))
                            moved_to = self._at(current, model, as_of, refit=force_model)
                            self._publish(moved_to, refit=force_model)
                    self._last_ok_sync = last_ok_sync  # once the data is published, not before
                    self._caught_up = checked
                    return moved
                since = (self._watermark or high) - OVERLAP
                processes = current.processes
                width = current.columns.positions
                rows = load_state_rows(session, versions, since, width, self._labels)
            else:
                processes = load_processes(session, set(versions.values()))
                width = 1 + max(
                    (m.position for p in processes.values() for m in p.milestones), default=0
                )
                rows = load_state_rows(session, versions, None, width, self._labels)
                current = None
            as_of = data_clock(session, self.as_of_setting)
        merged, row_of = _merge(current, rows)
        cols = merged.columns
        stale = time.monotonic() - self._model_at > self.model_seconds
        refit = current is None or force_model or stale
        model = fit_model_columns(cols, epoch(as_of)) if refit or current is None else current.model
        half_lives = current.half_lives if current is not None else {}
        if refit or set(half_lives) != set(processes):
            half_lives = process_half_lives(
                processes,
                lambda: snapshot_deals(cols, self._labels, merged.last_action),
                as_of,
                self._choices,
                (tuple(sorted(versions.items())), high),
            )
        snapshot = Snapshot(
            versions,
            processes,
            cols,
            merged.names,
            merged.external_ids,
            merged.probability,
            merged.close_month,
            merged.last_action,
            labels=self._labels,
            row_of=row_of,
            model=model,
            as_of=as_of,
            derived=derive(cols, model, as_of, fitted_with(half_lives)),
            generation=0,
            loaded_at=utcnow(),
            half_lives=half_lives,
        )
        with self._lock:
            self._watermark = high
            self._last_sync = last_sync
        self._publish(snapshot, refit=refit)
        self._last_ok_sync = last_ok_sync
        self._caught_up = checked
        if current is None:
            _release_memory()
        return True

    def _refit(self) -> None:
        """Fit the model again on the published state (a watching view, after state or the
        data clock moved): the view then answers what a write-back of this pass wrote."""
        current = self._snapshot
        assert current is not None
        model = fit_model_columns(current.columns, epoch(current.as_of))
        self._publish(self._at(current, model, current.as_of, refit=True), refit=True)

    def _publish(self, snapshot: Snapshot, *, refit: bool) -> None:
        """Swap `snapshot` in under a new generation; warm its answers."""
        generation = (self._snapshot.generation + 1) if self._snapshot else 1
        snapshot = replace(snapshot, generation=generation, loaded_at=utcnow())
        with self._lock:
            self._snapshot = snapshot
            if refit:
                self._model_at = time.monotonic()
        self._answers.clear()  # keys carry the generation: this only frees the memory
        self._past.clear()
        self._ready.set()
        for warm in self._warmers:
            try:
                warm(self._as_set(snapshot))
            except Exception:
                log.exception("KPI view: precomputing an answer failed")

    def _at(
        self,
        base: Snapshot,
        model: Model,
        as_of: datetime,
        *,
        refit: bool,
    ) -> Snapshot:
        """`base`'s state with this model, derived at this instant; each process's
        half-life resolved again on a refit (or when a process has none yet), kept
        otherwise, like the model."""
        half_lives = base.half_lives
        if refit or set(half_lives) != set(base.processes):
            half_lives = process_half_lives(
                base.processes,
                lambda: list(base.deals.values()),
                as_of,
                self._choices,
                (tuple(sorted(base.versions.items())), self._watermark),
            )
        return replace(
            base,
            model=model,
            as_of=as_of,
            derived=derive(base.columns, model, as_of, fitted_with(half_lives)),
            half_lives=half_lives,
            _presorted={},  # sorted as of the old instant
        )


def _merge(current: Snapshot | None, fresh: StateRows) -> tuple[StateRows, dict[int, int]]:
    """The current snapshot's rows with the `fresh` ones replacing theirs or added after
    them, and each opportunity's row. Without a snapshot: `fresh`, in opportunity order."""
    if current is None:
        order = np.argsort(fresh.columns.key, kind="stable")
        chosen = order.tolist()
        first = StateRows(
            fresh.columns.take(order),
            [fresh.names[i] for i in chosen],
            [fresh.external_ids[i] for i in chosen],
            fresh.probability[order],
            fresh.close_month[order],
            fresh.last_action[order],
        )
        return first, {k: i for i, k in enumerate(first.columns.key.tolist())}
    old = current.columns.widened(fresh.columns.positions)
    cols = old.take(np.arange(len(old)))
    new = fresh.columns.widened(cols.positions)
    keys = new.key.tolist()
    row_of = dict(current.row_of)
    existing = [(i, row_of[k]) for i, k in enumerate(keys) if k in row_of]
    added = [i for i, k in enumerate(keys) if k not in row_of]
    names, external = list(current.names), list(current.external_ids)
    prob, month, last = (
        current.stage_probability.copy(),
        current.close_month.copy(),
        current.last_action.copy(),
    )
    if existing:
        src = np.array([i for i, _ in existing], dtype=np.int64)
        dst = np.array([j for _, j in existing], dtype=np.int64)
        cols.assign(dst, new, src)
        prob[dst] = fresh.probability[src]
        month[dst] = fresh.close_month[src]
        last[dst] = fresh.last_action[src]
        for i, j in existing:
            names[j], external[j] = fresh.names[i], fresh.external_ids[i]
    if added:
        src = np.array(added, dtype=np.int64)
        cols = DealColumns.concatenate([cols, new.take(src)])
        prob = np.concatenate([prob, fresh.probability[src]])
        month = np.concatenate([month, fresh.close_month[src]])
        last = np.concatenate([last, fresh.last_action[src]])
        for i in added:
            row_of[int(keys[i])] = len(names)
            names.append(fresh.names[i])
            external.append(fresh.external_ids[i])
    return StateRows(cols, names, external, prob, month, last), row_of
