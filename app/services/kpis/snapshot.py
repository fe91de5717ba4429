"""One immutable view of opportunity state, as the KPIs read it.

A `Snapshot` holds every opportunity's path as columns (`DealColumns`: about 200 bytes per
opportunity) with what listings show beside it (name, external id, the CRM's stage
probability and close month), the processes of the active ruleset versions, the fitted
model, and what every answer needs at the view's as-of instant (`Derived`). The store builds
a new one on each refresh and never changes a published one, so readers need no lock.

    snapshot.deals[opportunity_id]     # a DealHistory
    snapshot.info[opportunity_id]      # a DealInfo
    snapshot.conversion_table(1, 2)    # presorted once per snapshot
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from app.kpis.columns import (
    OUTCOMES,
    DealColumns,
    Floats,
    Ints,
    Presorted,
    epoch,
    instant,
    presort_conversion,
)
from app.kpis.derived import Derived
from app.kpis.halflife import HalfLife, Setting
from app.kpis.history import DealHistory
from app.kpis.model import Model

__all__ = ["DealInfo", "Labels", "MilestoneInfo", "ProcessInfo", "Snapshot", "deal_history"]


@dataclass(frozen=True)
class MilestoneInfo:
    """A milestone of a process, with the method (guidance) that gets a deal there."""

    id: int
    key: str
    name: str
    position: int
    kind: str
    guidance: str


@dataclass(frozen=True)
class ProcessInfo:
    """A process of an active ruleset version and its milestones, in order."""

    id: int
    key: str
    name: str
    segment: str | None
    version: int
    """The ruleset version (its number) the process belongs to."""
    milestones: tuple[MilestoneInfo, ...]
    half_life_days: Setting = None
    """The forecast's recency half-life as ops set it in the ruleset (None: not set)."""

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
class Snapshot:
    """Opportunity state at `as_of`, each connection's under its active ruleset version;
    `generation` counts refreshes."""

    versions: dict[int, int]
    """Connection id -> the id of the ruleset version active on it."""
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
    half_lives: dict[int, HalfLife] = field(default_factory=dict)
    """Per process: the half-life `derived` was fitted with, and why (`halflives`)."""

    _presorted: dict[tuple[int, int], Presorted] = field(default_factory=dict)

    def conversion_table(self, position: int, target: int) -> Presorted:
        """Every deal's (duration, cause) from `position` to `target`, sorted, made once."""
        table = self._presorted.get((position, target))
        if table is None:
            table = presort_conversion(self.columns, position, target, epoch(self.as_of))
            self._presorted[(position, target)] = table
        return table

    @property
    def deals(self) -> Mapping[int, DealHistory]:
        """Each opportunity as a `DealHistory` (built on access)."""
        return _Deals(self)

    @property
    def info(self) -> Mapping[int, DealInfo]:
        return _Infos(self)

    def history(self, row: int) -> DealHistory:
        return deal_history(self.columns, self.labels, self.last_action, row)

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


def deal_history(cols: DealColumns, labels: Labels, last_action: Floats, row: int) -> DealHistory:
    """Row `row` of the columns as a `DealHistory`."""
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
    last = float(last_action[row])
    return DealHistory(
        key=int(cols.key[row]),
        process=None if cols.process[row] < 0 else int(cols.process[row]),
        created_at=instant(float(cols.created[row])),
        reached=tuple((p, instant(at)) for p, at in reached),
        outcome=OUTCOMES[int(cols.outcome[row])],
        closed_at=None if np.isnan(closed) else instant(closed),
        amount=float(cols.amount[row]),
        owner=labels.owner_ids[owner] if owner >= 0 else None,
        team=labels.teams[team] if team >= 0 else None,
        segment=labels.segments[segment] if segment >= 0 else None,
        connection=labels.connection_ids[connection] if connection >= 0 else None,
        last_action_at=None if np.isnan(last) else instant(last),
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
