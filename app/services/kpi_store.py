"""The API's in-memory view of opportunity state, kept fresh from the database's changes.

Each API process holds one `KpiStore`: every opportunity's history (positions reached and
when, outcome, amount, owner, team) as plain `DealHistory` values, loaded once and then
refreshed by reading only the state rows updated since the last look (at most every
`REFRESH_SECONDS`, with an overlap so that late commits are not missed). Events are never
scanned on a read. The fitted model is refitted in a background thread when the state has
changed and the model is older than `MODEL_SECONDS`; readers keep using the previous one
until the new one is ready. Results of KPI queries are cached per store generation, so a
dashboard polling the same view costs one dictionary lookup until something changes.

    store = KpiStore(database)
    snapshot = store.snapshot()        # deals, processes, model, generation
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select

from app.db import Database
from app.kpis.history import DealHistory
from app.kpis.model import Model, fit_model
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
from app.services.opportunity_state import segment_of

__all__ = ["DealInfo", "KpiStore", "MilestoneInfo", "ProcessInfo", "Snapshot"]

REFRESH_SECONDS = 2.0
MODEL_SECONDS = 60.0
OVERLAP = timedelta(minutes=2)
CACHE_SIZE = 512
T = TypeVar("T")


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
class Snapshot:
    version_id: int | None
    processes: dict[int, ProcessInfo]
    deals: dict[int, DealHistory]
    info: dict[int, DealInfo]
    model: Model
    generation: int
    loaded_at: datetime

    def process_by_key(self, key: str) -> ProcessInfo | None:
        for process in self.processes.values():
            if process.key == key:
                return process
        return None


@dataclass
class KpiStore:
    database: Database
    refresh_seconds: float = REFRESH_SECONDS
    model_seconds: float = MODEL_SECONDS
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _snapshot: Snapshot | None = None
    _watermark: datetime | None = None
    _checked: float = 0.0
    _model_at: float = 0.0
    _model_dirty: bool = False
    _fitting: bool = False
    _cache: OrderedDict[tuple[Any, ...], Any] = field(default_factory=OrderedDict)

    def snapshot(self) -> Snapshot:
        now = time.monotonic()
        with self._lock:
            if self._snapshot is not None and now - self._checked < self.refresh_seconds:
                return self._snapshot
            self._checked = now
            self._refresh()
            snapshot = self._snapshot
            assert snapshot is not None
            if (
                self._model_dirty
                and not self._fitting
                and now - self._model_at > self.model_seconds
            ):
                self._fitting = True
                threading.Thread(target=self._refit, daemon=True).start()
            return snapshot

    def cached(self, key: tuple[Any, ...], compute: Callable[[Snapshot], T]) -> T:
        """`compute(snapshot)`, remembered until the snapshot's generation changes."""
        snapshot = self.snapshot()
        full = (snapshot.generation, *key)
        with self._lock:
            if full in self._cache:
                self._cache.move_to_end(full)
                return self._cache[full]  # type: ignore[no-any-return]
        value = compute(snapshot)
        with self._lock:
            self._cache[full] = value
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return value

    def _refit(self) -> None:
        try:
            with self._lock:
                snapshot = self._snapshot
                self._model_dirty = False
            if snapshot is None:
                return
            deals = list(snapshot.deals.values())
            model = fit_model(deals, utcnow())
            with self._lock:
                if self._snapshot is not None:
                    self._snapshot.model = model
                    self._snapshot.generation += 1
                self._model_at = time.monotonic()
        finally:
            self._fitting = False

    def _refresh(self) -> None:
        with self.database.session() as session:
            version_id = session.scalar(
                select(RulesetVersion.id).where(RulesetVersion.is_active.is_(True))
            )
            current = self._snapshot
            if current is None or current.version_id != version_id:
                self._load_all(session, version_id)
                return
            high = session.scalar(select(func.max(OpportunityState.updated_at)))
            if high is None or (self._watermark is not None and high <= self._watermark):
                return
            since = (self._watermark or high) - OVERLAP
            changed = self._load(session, version_id, since)
            if not changed:
                return
            current.deals.update({k: v[0] for k, v in changed.items()})
            current.info.update({k: v[1] for k, v in changed.items()})
            current.generation += 1
            current.loaded_at = utcnow()
            self._watermark = high
            self._model_dirty = True

    def _load_all(self, session: Any, version_id: int | None) -> None:
        processes: dict[int, ProcessInfo] = {}
        if version_id is not None:
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
        high = session.scalar(select(func.max(OpportunityState.updated_at)))
        loaded = self._load(session, version_id, None) if version_id is not None else {}
        deals = {k: v[0] for k, v in loaded.items()}
        now = utcnow()
        generation = (self._snapshot.generation + 1) if self._snapshot else 1
        self._snapshot = Snapshot(
            version_id,
            processes,
            deals,
            {k: v[1] for k, v in loaded.items()},
            fit_model(deals.values(), now),
            generation,
            now,
        )
        self._watermark = high
        self._model_at = time.monotonic()
        self._model_dirty = False

    def _load(
        self, session: Any, version_id: int | None, since: datetime | None
    ) -> dict[int, tuple[DealHistory, DealInfo]]:
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
                CrmOwner.external_id,
                CrmOwner.name,
                Connection.name,
            )
            .join(Opportunity, Opportunity.id == state.opportunity_id)
            .outerjoin(CrmOwner, CrmOwner.id == state.owner_id)
            .outerjoin(Connection, Connection.id == state.connection_id)
            .where(state.ruleset_version_id == version_id)
        )
        if since is not None:
            query = query.where(state.updated_at > since)
        found: dict[int, tuple[DealHistory, DealInfo]] = {}
        parse = datetime.fromisoformat
        for row in session.execute(query):
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
                owner_external_id,
                owner_name,
                connection_name,
            ) = row
            created = created_at or current_since or utcnow()
            steps = sorted(
                ((int(p), parse(at)) for p, at in (reached or {}).items()),
                key=lambda item: item[1],
            )
            found[opportunity_id] = (
                DealHistory(
                    key=opportunity_id,
                    process=None if deleted else process_id,
                    created_at=created,
                    reached=tuple(steps),
                    outcome=outcome,
                    closed_at=closed_at,
                    amount=float(amount or 0),
                    owner=owner_id,
                    team=team,
                    segment=segment,
                    connection=connection_id,
                    last_action_at=last_action,
                ),
                DealInfo(
                    name,
                    external_id,
                    owner_external_id,
                    owner_name,
                    connection_name,
                    float(probability) if probability is not None else None,
                    close_date,
                    current_since or created,
                ),
            )
        return found
