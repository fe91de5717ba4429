"""Reading opportunity state out of the database, as columns for a `Snapshot`.

Two reads: the processes of the active ruleset versions (`load_processes`) and the
opportunity state rows each connection's active version keeps, all of them or only those
updated since an instant (`load_state_rows`). State rows are
streamed in chunks of `CHUNK` and turned into numpy columns chunk by chunk, so a load of
100,000 opportunities never holds them all as Python objects at once. On SQLite the scan
runs with a small page cache that is emptied afterwards: SQLite would otherwise keep what a
one-off scan read for the life of the process.

    versions = active_versions(session)            # {connection_id: version_id}
    processes = load_processes(session, set(versions.values()))
    rows = load_state_rows(session, versions, since=None, width=5, labels=labels)
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection as DatabaseConnection
from sqlalchemy import false, or_, select

from app.kpis.columns import OUTCOMES, DealColumns, Floats, Ints
from app.kpis.halflife import Setting, parse_half_life
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
from app.services.kpis.snapshot import Labels, MilestoneInfo, ProcessInfo
from app.services.state.clock import as_utc
from app.services.state.opportunities import segment_of

__all__ = ["CHUNK", "StateRows", "load_processes", "load_state_rows"]

CHUNK = 10_000
SQLITE_SCAN_CACHE_KIB = 8192


@dataclass
class StateRows:
    """Opportunity state rows as columns, with what listings show beside them."""

    columns: DealColumns
    names: list[str]
    external_ids: list[str]
    probability: Floats
    close_month: Ints
    last_action: Floats

    @classmethod
    def concatenate(cls, parts: list[StateRows]) -> StateRows:
        return cls(
            DealColumns.concatenate([p.columns for p in parts]),
            [n for p in parts for n in p.names],
            [e for p in parts for e in p.external_ids],
            np.concatenate([p.probability for p in parts]),
            np.concatenate([p.close_month for p in parts]),
            np.concatenate([p.last_action for p in parts]),
        )


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

    def columns(self, width: int) -> StateRows:
        reach = np.full((len(self.keys), width), np.nan)
        reach[:, 0] = self.created
        for i, steps in enumerate(self.reach):
            for p, at in steps:
                if p < width:
                    reach[i, p] = at
        return StateRows(
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


def _seconds(moment: datetime | None) -> float:
    """Seconds since the epoch (NaN for none); a naive instant is UTC."""
    if moment is None:
        return float("nan")
    return as_utc(moment).timestamp()


def _setting(stored: str | None) -> Setting:
    """The half-life as stored with the process (validated when the ruleset was)."""
    return None if stored is None else parse_half_life(stored)


def load_processes(session: Any, version_ids: Collection[int]) -> dict[int, ProcessInfo]:
    """The processes of these ruleset versions by id, each with its milestones."""
    processes: dict[int, ProcessInfo] = {}
    if not version_ids:
        return processes
    rows = session.execute(
        select(Process, RulesetVersion.version)
        .join(RulesetVersion, RulesetVersion.id == Process.ruleset_version_id)
        .where(Process.ruleset_version_id.in_(sorted(version_ids)))
        .order_by(Process.id)
    ).tuples()
    for process, version in rows:
        milestones = session.execute(
            select(Milestone).where(Milestone.process_id == process.id).order_by(Milestone.position)
        ).scalars()
        processes[process.id] = ProcessInfo(
            process.id,
            process.key,
            process.name,
            segment_of(process.segment_selector or {}),
            version,
            tuple(
                MilestoneInfo(m.id, m.key, m.name, m.position, m.kind, m.guidance)
                for m in milestones
            ),
            _setting(process.half_life_days),
        )
    return processes


@contextmanager
def _one_off_scan(connection: DatabaseConnection) -> Iterator[None]:
    """On SQLite: a small page cache during the scan, emptied and restored after it."""
    if connection.dialect.name != "sqlite":
        yield
        return
    cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_SCAN_CACHE_KIB}")
    yield
    connection.exec_driver_sql("PRAGMA shrink_memory")
    connection.exec_driver_sql(f"PRAGMA cache_size={int(cache_size or -2000)}")


def load_state_rows(
    session: Any,
    versions: Mapping[int, int],
    since: datetime | None,
    width: int,
    labels: Labels,
) -> StateRows:
    """The state rows each connection's active version keeps (`versions`: connection id to
    version id; all rows, or those updated after `since`) as columns `width` positions wide;
    owners, teams, segments and connections indexed in `labels`."""
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
        .where(
            or_(
                false(),
                *(
                    (state.connection_id == connection_id)
                    & (state.ruleset_version_id == version_id)
                    for connection_id, version_id in versions.items()
                ),
            )
        )
    )
    if since is not None:
        query = query.where(state.updated_at > since)
    owners = {
        row[0]: (row[1], row[2])
        for row in session.execute(select(CrmOwner.id, CrmOwner.external_id, CrmOwner.name))
    }
    connections = dict(session.execute(select(Connection.id, Connection.name)).tuples().all())
    parse = datetime.fromisoformat
    outcomes = {name: i for i, name in enumerate(OUTCOMES)}
    parts: list[StateRows] = []
    out = _Rows()
    connection = session.connection()
    with _one_off_scan(connection):
        # a statement option: on the connection it would stay set for the session's later queries
        result = connection.execute(query.execution_options(yield_per=CHUNK))
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
    return StateRows.concatenate(parts)
