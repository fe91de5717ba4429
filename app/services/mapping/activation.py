"""Activating a ruleset version: re-derive every event from stored records, then swap.

The new version's events are derived from the raw layer (no CRM call) while the active
version keeps serving and being updated; records stored meanwhile are caught up; then one
transaction makes the new version the active one. A file with errors is rejected before
anything is stored, so the active version keeps running. Earlier versions and their events
stay, for comparison and for rolling back (`activate_version` of an earlier one re-derives
it from today's records, then swaps).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import case, select, update

from app.core.crypto import SecretBox
from app.core.database import Database
from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.models import Connection, RulesetVersion
from app.models.base import utcnow
from app.services.connections.changes import add_extra_fields, missing_fields
from app.services.connections.registry import connection_settings
from app.services.mapping.preview import checked_ruleset
from app.services.mapping.public import ActivationSummary, DiagnosticPublic, VersionPublic
from app.services.mapping.rulesets import store_version
from app.services.mapping.runs import RunReport, derive_all, derive_changed
from app.services.state.opportunities import rebuild_states
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
    "list_versions",
]


@dataclass
class ActivationResult:
    version_id: int
    version: int
    name: str
    previous_version: int | None
    runs: list[RunReport] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> ActivationSummary:
        return ActivationSummary(
            version=self.version,
            version_id=self.version_id,
            name=self.name,
            previous_version=self.previous_version,
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


def fields_to_add(database: Database, text: str, file: str) -> list[FieldsToAdd]:
    """Per connection of the file's CRM, the declared fields its sync does not pull yet.

    Without them a rule on such a field is refused once records are stored, or (before the
    first sync) matches nothing, ever."""
    ruleset = validate(text, file).ruleset
    if ruleset is None:
        return []  # activation reports the file's errors
    found: list[FieldsToAdd] = []
    with database.sessions() as session:
        for connection in session.scalars(select(Connection).order_by(Connection.name)):
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
) -> tuple[ActivationResult, list[FieldsToAdd]]:
    """Activate a rule file, first adding the fields it declares that a connection does not
    pull when `add_missing_fields` (`FieldsNotPulled` otherwise); with the fields added.
    `box` opens the credentials, only when fields are added."""
    added = fields_to_add(database, text, file)
    if added and not add_missing_fields:
        raise FieldsNotPulled(added, how_to_add)
    if added:
        add_fields(database, box(), added)
    return activate_ruleset(database, text, file, note=note), added


def activate_ruleset(
    database: Database,
    text: str,
    file: str,
    created_by: str | None = None,
    note: str | None = None,
) -> ActivationResult:
    """Validate, store (once per distinct text), derive and activate a rule file."""
    report, _ = checked_ruleset(database, text, file)
    assert report.ruleset is not None
    with database.session() as session:
        version = store_version(session, report.ruleset, text, created_by, note)
        version_id = version.id
    result = activate_version(database, version_id)
    result.warnings = report.warnings
    return result


def activate_version(database: Database, version_id: int) -> ActivationResult:
    """Re-derive a stored version over every connection and make it the active one."""
    started = time.perf_counter()
    with database.session() as session:
        version = session.get(RulesetVersion, version_id)
        if version is None:
            raise NotFoundError(f"no ruleset version with id {version_id}")
        previous = session.scalar(
            select(RulesetVersion.version).where(RulesetVersion.is_active.is_(True))
        )
        result = ActivationResult(version.id, version.version, version.name, previous)
        connection_ids = list(session.scalars(select(Connection.id).order_by(Connection.id)))
    result.runs = [derive_all(database, version_id, cid) for cid in connection_ids]
    for cid in connection_ids:  # what was stored while the full runs went on
        derive_changed(database, version_id, cid, lookback=timedelta(0))
    with database.session() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(
                select(RulesetVersion.id).order_by(RulesetVersion.id).with_for_update()
            ).all()
        session.execute(
            update(RulesetVersion)
            .where(RulesetVersion.is_active.is_(True) | (RulesetVersion.id == version_id))
            .values(
                is_active=case((RulesetVersion.id == version_id, True), else_=False),
                activated_at=case(
                    (RulesetVersion.id == version_id, utcnow()),
                    else_=RulesetVersion.activated_at,
                ),
            )
        )
        rebuild_states(session.connection(), version_id)
    result.seconds = time.perf_counter() - started
    return result


def find_version(database: Database, number: int) -> int:
    with database.session() as session:
        found = session.scalar(select(RulesetVersion.id).where(RulesetVersion.version == number))
    if found is None:
        raise NotFoundError(f"no ruleset version {number}")
    return found


def list_versions(database: Database) -> list[VersionPublic]:
    with database.session() as session:
        rows = session.scalars(select(RulesetVersion).order_by(RulesetVersion.version))
        return [
            VersionPublic(
                version=v.version,
                name=v.name,
                checksum=v.checksum,
                active=v.is_active,
                created_at=v.created_at,
                activated_at=v.activated_at,
                created_by=v.created_by,
                note=v.note,
            )
            for v in rows
        ]
