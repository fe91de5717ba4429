"""The CRM fields write-back writes into: checked, created, or described for an administrator.

`setup_fields` is idempotent: it asks the CRM which of the connection's write-back fields
exist (one describe or property list per object), creates only the missing ones (Salesforce
custom fields through the Tooling API; a HubSpot property group and properties through the
Properties API) and checks the result. `dry_run` lists what it would create; `check` only
verifies that every mapped field exists, is writable and has a fitting type, naming each one
that is not. When the CRM refuses to create fields, the report carries the exact definitions
an administrator creates by hand.

    report = setup_fields(database, box, "acme", mode="check")
    report.ok, report.problems
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, computed_field
from sqlalchemy import update

from app.core.crypto import SecretBox
from app.core.database import Database
from app.core.errors import InvalidRequestError
from app.models import Connection
from app.models.base import utcnow
from app.services.connections.hubspot_tokens import StoredTokens
from app.services.connections.registry import (
    HubSpotSettings,
    SalesforceSettings,
    connection_settings,
    get_connection,
    hubspot_client,
    hubspot_writer,
    salesforce_client,
    salesforce_writer,
)
from app.services.writeback.fields import FieldSet, field_set
from connectors.core import ApiBudget, ConnectorError, MissingPermission, RetryPolicy
from connectors.core.writes import FieldCheck, FieldKind, FieldWriter

__all__ = ["FieldsReport", "SetupMode", "WritebackTarget", "open_target", "setup_fields"]

SetupMode = Literal["create", "dry_run", "check"]


@dataclass
class WritebackTarget:
    """A connection's writer, the fields it writes and the budget its calls are counted in."""

    connection: str
    connection_id: int
    settings: SalesforceSettings | HubSpotSettings
    fields: FieldSet
    budget: ApiBudget
    _database: Database
    _box: SecretBox
    _sealed: str
    _retry: RetryPolicy | None = None
    writer: FieldWriter | None = None

    def open(self) -> FieldWriter:
        """The writer, built (and logged in lazily) the first time it is needed."""
        if self.writer is None:
            credentials = self._box.open(self._sealed)
            self.budget.max_share = self.settings.quota_share
            if isinstance(self.settings, SalesforceSettings):
                client = salesforce_client(self.settings, credentials, self.budget, self._retry)
                self.writer = salesforce_writer(self.settings, client)
            else:
                # a refreshed (possibly rotated) OAuth token is stored, as the sync does
                vault = StoredTokens(self._database, self._box, self.connection_id)
                hs_client = hubspot_client(
                    self.settings, credentials, self.budget, self._retry, vault
                )
                self.writer = hubspot_writer(self.settings, hs_client)
        return self.writer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def open_target(
    database: Database, connection: Connection, box: SecretBox, retry: RetryPolicy | None = None
) -> WritebackTarget:
    """Write-back for this connection; export connections have nothing to write to."""
    settings = connection_settings(connection)
    if not isinstance(settings, SalesforceSettings | HubSpotSettings):
        raise InvalidRequestError(
            f"connection {connection.name!r} imports export files: there is no CRM to write to"
        )
    return WritebackTarget(
        connection.name,
        connection.id,
        settings,
        field_set(settings.kind, settings.writeback),
        ApiBudget(),
        _database=database,
        _box=box,
        _sealed=connection.credentials_sealed,
        _retry=retry,
    )


class FieldStatus(BaseModel):
    """One write-back field as the CRM has it: ok, missing, problem, created, to create.

    `length` and `description` are left out when the field has none, as in the definition
    an administrator copies."""

    name: str
    label: str
    kind: FieldKind
    length: int | None = Field(default=None, exclude_if=lambda length: length is None)
    description: str = Field(default="", exclude_if=lambda description: not description)
    status: str
    crm_type: str | None = None
    problem: str | None = None


class FieldsReport(BaseModel):
    """What `setup_fields` checked, created, or left for an administrator to create."""

    connection: str
    crm: str
    mode: SetupMode
    fields: dict[str, list[FieldStatus]] = Field(default_factory=dict)
    """Per CRM object, each field with its status."""
    created: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    manual_steps: list[str] = Field(default_factory=list)
    api_calls: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not self.problems


def _status(check: FieldCheck) -> str:
    if check.ok:
        return "ok"
    return "missing" if not check.exists else "problem"


def check_target(target: WritebackTarget) -> list[FieldCheck]:
    """Every mapped field as the CRM has it (one describe or property list per object)."""
    writer = target.open()
    checks: list[FieldCheck] = []
    for fields in target.fields.objects():
        checks.extend(writer.check_fields(fields.object_type, fields.definitions))
    return checks


def _record(report: FieldsReport, object_type: str, checks: list[FieldCheck], note: str) -> None:
    report.fields[object_type] = [
        FieldStatus(
            name=check.definition.name,
            label=check.definition.label,
            kind=check.definition.kind,
            length=check.definition.length,
            description=check.definition.description,
            status=note if not check.exists and note else _status(check),
            crm_type=check.crm_type,
            problem=check.problem,
        )
        for check in checks
    ]


def setup_fields(
    database: Database,
    box: SecretBox,
    name: str,
    mode: SetupMode = "create",
    retry: RetryPolicy | None = None,
) -> FieldsReport:
    with database.sessions() as session:
        connection = get_connection(session, name)
    target = open_target(database, connection, box, retry)
    report = FieldsReport(connection=connection.name, crm=target.settings.kind, mode=mode)
    writer = target.open()
    try:
        _setup(report, target, writer, mode)
    except ConnectorError as error:  # logging in, or reading the fields, failed
        report.problems.append(f"{connection.name}: {error}")
    finally:
        report.api_calls = target.budget.calls
        target.close()
    if mode == "create":  # automatic write-back looks again at once (it waits after a miss)
        with database.session() as session:
            session.execute(
                update(Connection).where(Connection.id == connection.id).values(updated_at=utcnow())
            )
    return report


def _setup(
    report: FieldsReport, target: WritebackTarget, writer: FieldWriter, mode: SetupMode
) -> None:
    for fields in target.fields.objects():
        object_type = fields.object_type
        checks = writer.check_fields(object_type, fields.definitions)
        missing = [c.definition for c in checks if not c.exists]
        if mode == "check" or not missing:
            _record(report, object_type, checks, "")
            report.problems += [c.problem for c in checks if c.problem]
            continue
        if mode == "dry_run":
            _record(report, object_type, checks, "to create")
            report.problems += [c.problem for c in checks if c.exists and c.problem]
            report.manual_steps += writer.manual_steps(object_type, missing)
            continue
        try:
            report.created += [
                f"{object_type}.{n}" for n in writer.create_fields(object_type, missing)
            ]
        except ConnectorError as error:
            _record(report, object_type, checks, "")
            refused = "refused" if isinstance(error, MissingPermission) else "failed"
            report.problems.append(
                f"creating {object_type} fields {refused}: {error} — create them by hand "
                "(manual_steps), then run `milestones crm setup-fields "
                f"{target.connection} --check`"
            )
            report.manual_steps += writer.manual_steps(object_type, missing)
            continue
        after = writer.check_fields(object_type, fields.definitions)
        _record(report, object_type, after, "")
        for entry in report.fields[object_type]:
            if f"{object_type}.{entry.name}" in report.created and entry.status == "ok":
                entry.status = "created"
        report.problems += [c.problem for c in after if c.problem]
