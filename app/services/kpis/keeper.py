"""Answers too slow for a request (the backtest, the candidate milestones), computed off the
request path and kept.

A backtest replays a dozen past origins with a model fit each: about a second on a small
history, a minute and more at 100,000 deals. No request should wait for that, and no answer
should be computed once per reader. So a `Keeper` computes each answer asked of it on a thread
of its own, at the KPI view's snapshot (the one generation and data clock every answer uses),
keeps the newest per key, and computes it again when the view publishes a new generation if
someone read it since (or it is pinned, `keep`): coalesced (one computation at a time, always
at the newest snapshot) and no sooner than `refresh_seconds` after the previous one started,
because the scores of months that are over move little with one pipeline pass while a
recomputation costs a core for minutes at scale.

Readers never wait for a recomputation: they get the newest finished answer, which says the
generation and the instant it was computed at (`Kept.as_of`, `Kept.current`). Only the first
answer for a key can be waited for (`wait=True`, the API) or not (a page says "being computed"
and asks again).

    keeper = Keeper(store)
    kept = keeper.get(key, lambda snapshot: slow_answer(snapshot), wait=False)
    if kept is None: ...      # being computed; kept.value, kept.as_of, kept.current otherwise
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from app.core.caching import BoundedCache
from app.services.kpis.snapshot import Snapshot
from app.services.kpis.store import KpiStore

__all__ = ["Keeper", "Kept"]

log = logging.getLogger(__name__)

T = TypeVar("T")
REFRESH_SECONDS = 600.0
"""At most one recomputation of a kept answer per this many seconds (the first is at once)."""
SIZE = 16


@dataclass(frozen=True, slots=True)
class Kept(Generic[T]):
    """An answer as last computed, and the view it was computed at."""

    value: T
    generation: int
    as_of: datetime
    seconds: float
    """How long the computation took."""
    current: bool = True
    """Whether it was computed at the view's current generation (else a newer one is due)."""


@dataclass
class _Ask:
    compute: Callable[[Snapshot], Any]
    pinned: bool = False
    """Kept fresh whether asked or not (`keep`)."""
    asked: bool = True
    """Asked for since it was last computed: only then is a new generation worth computing."""
    started: float | None = None
    failed: BaseException | None = None


def _fits(kept: Kept[Any], snapshot: Snapshot) -> bool:
    return kept.generation == snapshot.generation and kept.as_of == snapshot.as_of


@dataclass
class Keeper:
    """Slow answers of one KPI view, computed on the keeper's thread, newest kept per key."""

    store: KpiStore
    refresh_seconds: float = REFRESH_SECONDS
    size: int = SIZE
    _kept: BoundedCache[Hashable, Kept[Any]] = field(init=False)
    _asks: dict[Hashable, _Ask] = field(default_factory=dict)
    _due: dict[Hashable, None] = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._kept = BoundedCache(
            "slow answers (the backtest, the candidates) as last computed: one computation "
            "serves every reader until the view moves on",
            size=self.size,
        )
        self.store.on_snapshot(self._moved)

    def get(self, key: Hashable, compute: Callable[[Snapshot], T], *, wait: bool) -> Kept[T] | None:
        """The newest answer for `key`: current, or older while the current one is computed
        (`current=False`); None while the first is computed, unless `wait`. A failed
        computation is raised to the next reader (and tried again after)."""
        snapshot = self.store.snapshot()
        with self._cond:
            ask = self._asks.get(key)
            if ask is None:
                ask = self._remember(key, compute)
            ask.asked = True
            kept = self._kept.get(key)
            if kept is not None and _fits(kept, snapshot):
                return kept
            if ask.failed is not None:
                failed, ask.failed = ask.failed, None
                raise failed
            self._schedule(key)
            if kept is not None:
                return replace(kept, current=False)
            if not wait:
                return None
            while (kept := self._kept.get(key)) is None:
                if ask.failed is not None:
                    failed, ask.failed = ask.failed, None
                    raise failed
                if self._asks.get(key) is not ask:  # pushed out by newer asks: ask again
                    ask = self._remember(key, compute)
                    self._schedule(key)
                self._cond.wait()
            return kept

    def keep(self, key: Hashable, compute: Callable[[Snapshot], Any]) -> None:
        """Compute the answer for `key` now, off any request, and keep it fresh from now on
        (at start-up: the answers a first page asks for)."""
        with self._cond:
            ask = self._asks.get(key) or self._remember(key, compute)
            ask.pinned = True
            self._schedule(key)

    def stop(self, wait_seconds: float = 30.0) -> None:
        """End the keeper's thread (the API's shutdown) and wait for the answer it is computing,
        at most `wait_seconds`: a process that exits with the thread inside numpy can abort.
        A later ask starts another thread."""
        with self._cond:
            self._stop.set()
            thread, self._thread = self._thread, None
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(wait_seconds)

    def _remember(self, key: Hashable, compute: Callable[[Snapshot], Any]) -> _Ask:
        if len(self._asks) >= self.size:
            oldest = next(iter(self._asks))
            del self._asks[oldest]
            self._due.pop(oldest, None)
        ask = self._asks[key] = _Ask(compute)
        return ask

    def _schedule(self, key: Hashable) -> None:
        """Under the lock: `key` is computed again, at the newest snapshot then."""
        self._due[key] = None
        if self._thread is None:
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._work, args=(self._stop,), daemon=True, name="kpi-keeper"
            )
            self._thread.start()
        self._cond.notify_all()

    def _moved(self, snapshot: Snapshot) -> None:
        """The store published a new generation: every kept answer that someone asked for
        since it was computed (or that is pinned) is due again; the others wait for a reader,
        who gets the older answer meanwhile, so that no core is spent on answers nobody reads."""
        with self._cond:
            for key, ask in self._asks.items():
                if not (ask.pinned or ask.asked):
                    continue
                kept = self._kept.get(key)
                if kept is None or not _fits(kept, snapshot):
                    self._schedule(key)

    def _next(self, stop: threading.Event) -> tuple[Hashable, _Ask] | None:
        """Under the lock: the due key to compute now, waiting until one is (None: stopped)."""
        while not stop.is_set():
            now = time.monotonic()
            soonest: float | None = None
            for key in list(self._due):
                ask = self._asks.get(key)
                if ask is None:
                    del self._due[key]
                    continue
                ready = (
                    0.0 if key not in self._kept else (ask.started or 0.0) + self.refresh_seconds
                )
                if ready <= now:
                    del self._due[key]
                    return key, ask
                soonest = ready if soonest is None else min(soonest, ready)
            self._cond.wait(None if soonest is None else soonest - now)
        return None

    def _work(self, stop: threading.Event) -> None:
        while True:
            with self._cond:
                found = self._next(stop)
                if found is None:
                    return
                key, ask = found
            self._compute(key, ask)

    def _compute(self, key: Hashable, ask: _Ask) -> None:
        snapshot = self.store.snapshot()
        kept = self._kept.get(key)
        if kept is not None and _fits(kept, snapshot):
            return
        ask.started = started = time.monotonic()
        ask.asked = False
        try:
            value = ask.compute(snapshot)
        except Exception as exc:  # raised to the next reader; the keeper goes on
            log.exception("kept answer %r failed", key)
            with self._cond:
                ask.failed = exc
                self._cond.notify_all()
            return
        seconds = time.monotonic() - started
        log.debug("kept answer %r computed in %.1f s", key, seconds)
        with self._cond:
            self._kept.put(key, Kept(value, snapshot.generation, snapshot.as_of, seconds))
            self._cond.notify_all()
