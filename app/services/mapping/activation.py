"""Activating a ruleset version on connections: re-derive their events from stored records,
then swap.

Each connection has its own active version. The new version's events are derived from the
raw layer (no CRM call) while each connection's active version keeps serving and being
updated; records stored meanwhile are caught up; then one transaction makes the new version
the active one of every target connection. By default the targets are every connection whose
CRM the file's processes read; `connections` names them instead. A file with errors is
rejected before anything is stored, so the active versions keep running. Earlier versions
and their events stay, for comparison and for rolling back (`rollback` re-activates the
version a connection had before, re-derived from today's records).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core.crypto import SecretBox
from app.core.database import Database
from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.models import Connection, RulesetActivation, RulesetVersion
from app.models.base import utcnow
from app.services.connections.changes import add_extra_fields, missing_fields
from app.services.connections.registry import connection_settings
from app.services.mapping.preview import checked_ruleset
from app.services.mapping.public import (
    ActivatedOn,
    ActivationSummary,
    DiagnosticPublic,
    VersionPublic,
)
from app.services.mapping.rulesets import (
    ConnectionInfo,
    connections_for,
    store_version,
    version_runtime,
)
from app.services.mapping.runs import RunReport, derive_all, derive_changed
from app.services.state.active import active_versions, version_numbers
from app.services.state.opportunities import rebuild_states
from mappings.catalog import Source
from mappings.diagnostics import Diagnostic
from mappings.validate import validate

__all__ = [
    "ActivationResult",
    "FieldsNotPulled",
    "FieldsToAdd",
    "activate_file",
    "activate_ruleset",
    "activate_version",
    "add_fields",
    "fields_to_add",
    "find_version",
    "list_versions",
    "rollback",
]


@dataclass
class ActivationResult:
    version_id: int
    version: int
    name: str
    connections: list[ActivatedOn] = field(default_factory=list)
    """Each connection the version is now active on, with the version it had before."""
    runs: list[RunReport] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> ActivationSummary:
        return ActivationSummary(
            version=self.version,
            version_id=self.version_id,
            name=self.name,
            connections=self.connections,
            events=sum(r.events_added - r.events_removed for r in self.runs),
            runs=[run.summary() for run in self.runs],
            warnings=[DiagnosticPublic.of(w) for w in self.warnings],
            seconds=round(self.seconds, 3),
        )


@dataclass
class FieldsToAdd:
    """Fields a rule file declares (`fields:`) that a connection's sync does not read."""

    connection: str
    fields: dict[str, list[str]]
    reread: list[str] = field(default_factory=list)
    """Once added: the streams the next sync reads whole to bring the fields in."""


def fields_to_add(
    database: Database, text: str, file: str, connections: Sequence[str] | None = None
) -> list[FieldsToAdd]:
    """Per connection of the file's CRM (or of those named), the declared fields its sync
    does not pull yet.

    Without them a rule on such a field is refused once records are stored, or (before the
    first sync) matches nothing, ever."""
    ruleset = validate(text, file).ruleset
    if ruleset is None:
        return []  # activation reports the file's errors
    found: list[FieldsToAdd] = []
    query = select(Connection).order_by(Connection.name)
    if connections is not None:
        query = query.where(Connection.name.in_(connections))
    with database.sessions() as session:
        for connection in session.scalars(query):
            needed = {
                stream: names
                for (source, stream), names in ruleset.custom_fields.items()
                if source == connection.kind
            }
            try:
                settings = connection_settings(connection)
            except InvalidRequestError:
                continue  # settings no sync can use: nothing to add fields to
            missing = missing_fields(settings, needed) if needed else {}
            if missing:
                found.append(FieldsToAdd(connection.name, missing))
    return found


def add_fields(database: Database, box: SecretBox, wanted: list[FieldsToAdd]) -> None:
    """Add the fields to each connection's extra fields; `reread` names what to sync whole."""
    with database.session() as session:
        for item in wanted:
            item.reread = add_extra_fields(session, box, item.connection, item.fields).reread


class FieldsNotPulled(ConflictError):
    """A rule file declares fields some connection's sync does not read: nothing activated."""

    def __init__(self, needed: list[FieldsToAdd], how: str) -> None:
        pulled = "; ".join(
            f"{item.connection} does not pull "
            + ", ".join(f"{s}.{n}" for s, names in item.fields.items() for n in names)
            for item in needed
        )
        super().__init__(
            f"{pulled} — fields the rules declare under `fields:`. {how} to add them to the "
            "connection's extra fields (its next sync reads those streams whole), or remove "
            "them from the file; nothing was activated"
        )
        self.needed = needed


def activate_file(
    database: Database,
    box: Callable[[], SecretBox],
    text: str,
    file: str,
    *,
    add_missing_fields: bool,
    how_to_add: str = "Ask again with add_fields",
    note: str | None = None,
    connections: Sequence[str] | None = None,
) -> tuple[ActivationResult, list[FieldsToAdd]]:
    """Activate a rule file on `connections` (default: every connection of its CRM), first
    adding the fields it declares that a target does not pull when `add_missing_fields`
    (`FieldsNotPulled` otherwise); with the fields added. `box` opens the credentials, only
    when fields are added."""
    added = fields_to_add(database, text, file, connections)
    if added and not add_missing_fields:
        raise FieldsNotPulled(added, how_to_add)
    if added:
        add_fields(database, box(), added)
    return activate_ruleset(database, text, file, note=note, connections=connections), added


def activate_ruleset(
    database: Database,
    text: str,
    file: str,
    created_by: str | None = None,
    note: str | None = None,
    connections: Sequence[str] | None = None,
) -> ActivationResult:
    """Validate, store (once per distinct text), derive and activate a rule file on
    `connections` (default: every connection of its CRM)."""
    report, _ = checked_ruleset(database, text, file)
    assert report.ruleset is not None
    with database.session() as session:
        _targets(session, report.ruleset.sources(), connections)  # refused before it is stored
        version = store_version(session, report.ruleset, text, created_by, note)
        version_id = version.id
    result = activate_version(database, version_id, connections, activated_by=created_by)
    result.warnings = report.warnings
    return result


def _targets(
    session: Session, sources: set[Source], names: Sequence[str] | None
) -> list[ConnectionInfo]:
    """The connections a version is activated on: those named, or every one of the CRMs its
    processes read (`sources`)."""
    wanted = ", ".join(sorted(sources)) or "no CRM"
    if names is None:
        found = [c for c in connections_for(session) if c.source in sources]
        if not found:
            raise InvalidRequestError(
                f"no connection reads {wanted} records, which this ruleset's processes map: "
                "add one first (`milestones connections add`), then activate"
            )
        return found
    found = []
    for name in dict.fromkeys(names):
        (connection,) = connections_for(session, name)
        if connection.source not in sources:
            raise InvalidRequestError(
                f"connection {name!r} reads {connection.source or 'no CRM'} records; this "
                f"ruleset's processes map {wanted} records: name a {wanted} connection"
            )
        found.append(connection)
    return found


def activate_version(
    database: Database,
    version_id: int,
    connections: Sequence[str] | None = None,
    activated_by: str | None = None,
) -> ActivationResult:
    """Re-derive a stored version over `connections` (default: every connection of its
    CRMs) and make it the version active on each of them, in one transaction."""
    started = time.perf_counter()
    with database.session() as session:
        version = session.get(RulesetVersion, version_id)
        if version is None:
            raise NotFoundError(f"no ruleset version with id {version_id}")
        result = ActivationResult(version.id, version.version, version.name)
        targets = _targets(session, version_runtime(session, version_id).sources(), connections)
    ids = [t.id for t in targets]
    result.runs = [derive_all(database, version_id, cid) for cid in ids]
    for cid in ids:  # what was stored while the full runs went on
        derive_changed(database, version_id, cid, lookback=timedelta(0))
    with database.session() as session:
        if session.get_bind().dialect.name == "postgresql":  # one activation at a time
            session.execute(
                select(Connection.id).where(Connection.id.in_(ids)).with_for_update()
            ).all()
        before = active_versions(session)
        numbers = version_numbers(session, before.values())
        now = utcnow()
        for target in targets:
            previous = before.get(target.id)
            result.connections.append(
                ActivatedOn(connection=target.name, previous_version=numbers.get(previous or 0))
            )
            if previous == version_id:
                continue
            session.execute(
                update(RulesetActivation)
                .where(
                    RulesetActivation.connection_id == target.id,
                    RulesetActivation.ended_at.is_(None),
                )
                .values(ended_at=now)
            )
            session.add(
                RulesetActivation(
                    connection_id=target.id,
                    ruleset_version_id=version_id,
                    activated_at=now,
                    activated_by=activated_by,
                )
            )
        session.flush()
        for cid in ids:
            rebuild_states(session.connection(), version_id, cid)
    result.seconds = time.perf_counter() - started
    return result


def rollback(database: Database, connection: str) -> ActivationResult:
    """Activate on `connection` the version it had before its active one."""
    with database.session() as session:
        (info,) = connections_for(session, connection)
        current = active_versions(session).get(info.id)
        if current is None:
            raise ConflictError(
                f"no ruleset version is active on {connection!r}: nothing to roll back"
            )
        earlier = session.scalar(
            select(RulesetActivation.ruleset_version_id)
            .where(
                RulesetActivation.connection_id == info.id,
                RulesetActivation.ended_at.is_not(None),
                RulesetActivation.ruleset_version_id != current,
            )
            .order_by(RulesetActivation.ended_at.desc(), RulesetActivation.id.desc())
            .limit(1)
        )
    if earlier is None:
        raise ConflictError(
            f"no earlier ruleset version was active on {connection!r}: nothing to roll back to"
        )
    return activate_version(database, earlier, [connection])


def find_version(database: Database, number: int) -> int:
    with database.session() as session:
        found = session.scalar(select(RulesetVersion.id).where(RulesetVersion.version == number))
    if found is None:
        raise NotFoundError(f"no ruleset version {number}")
    return found


def list_versions(database: Database, connection: str | None = None) -> list[VersionPublic]:
    """Every stored version with the connections it is active on; for one connection, the
    versions ever active on it (`active` and `activated_at` then speak of that connection)."""
    with database.session() as session:
        names = dict(session.execute(select(Connection.id, Connection.name)).tuples().all())
        only = connections_for(session, connection)[0].id if connection is not None else None
        activations = session.execute(
            select(
                RulesetActivation.ruleset_version_id,
                RulesetActivation.connection_id,
                RulesetActivation.activated_at,
                RulesetActivation.ended_at,
            ).order_by(RulesetActivation.activated_at, RulesetActivation.id)
        ).all()
        active_on: dict[int, list[str]] = {}
        latest: dict[int, tuple[bool, datetime | None]] = {}
        for version_id, connection_id, activated_at, ended_at in activations:
            if ended_at is None:
                active_on.setdefault(version_id, []).append(names[connection_id])
            if only is None or connection_id == only:
                was_active = latest.get(version_id, (False, None))[0]
                latest[version_id] = (was_active or ended_at is None, activated_at)
        found = []
        for v in session.scalars(select(RulesetVersion).order_by(RulesetVersion.version)):
            if only is not None and v.id not in latest:
                continue
            active, activated_at = latest.get(v.id, (False, None))
            found.append(
                VersionPublic(
                    version=v.version,
                    name=v.name,
                    checksum=v.checksum,
                    active=active,
                    active_on=sorted(active_on.get(v.id, [])),
                    created_at=v.created_at,
                    activated_at=activated_at,
                    created_by=v.created_by,
                    note=v.note,
                )
            )
        return found
