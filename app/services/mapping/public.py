"""What mapping looks like from outside: a derivation run's counts, an activation, the stored
ruleset versions. The API, `milestones mappings ... --json` and the worker's job results
answer with these models."""

from __future__ import annotations

from pydantic import BaseModel

from app.core.timestamps import IsoDateTime
from mappings.diagnostics import Diagnostic
from mappings.validate import ValidationReport

__all__ = [
    "ActivatedOn",
    "ActivationSummary",
    "DiagnosticPublic",
    "FileValidation",
    "MappingRunSummary",
    "ValidationPublic",
    "VersionPublic",
    "VersionsPublic",
]


class DiagnosticPublic(BaseModel):
    """A problem in a rule file, at its line and column."""

    severity: str
    code: str
    message: str
    expected: str | None
    file: str
    line: int
    column: int

    @classmethod
    def of(cls, diagnostic: Diagnostic) -> DiagnosticPublic:
        return cls.model_validate(diagnostic.to_json())


class ValidationPublic(BaseModel):
    ok: bool
    errors: list[DiagnosticPublic]
    warnings: list[DiagnosticPublic]

    @classmethod
    def of(cls, report: ValidationReport) -> ValidationPublic:
        return cls(
            ok=report.ok,
            errors=[DiagnosticPublic.of(d) for d in report.errors],
            warnings=[DiagnosticPublic.of(d) for d in report.warnings],
        )


class FileValidation(ValidationPublic):
    """`milestones mappings validate --json`: the file, and what its fields were checked
    against (the connections' stored data, or the built-in catalog when offline)."""

    file: str
    checked_against: str


class MappingRunSummary(BaseModel):
    """One derivation run over a connection's stored records."""

    ruleset_version_id: int
    connection_id: int
    full: bool
    records_read: int
    records_matched: int
    events_added: int
    events_removed: int
    events_moved: int
    opportunities: int
    opportunities_touched: int
    seconds: float


class ActivatedOn(BaseModel):
    """A connection a version was activated on, and the version active there before."""

    connection: str
    previous_version: int | None


class ActivationSummary(BaseModel):
    """A ruleset version made the active one of some connections, with the runs that
    re-derived its events."""

    version: int
    version_id: int
    name: str
    connections: list[ActivatedOn]
    events: int
    runs: list[MappingRunSummary]
    warnings: list[DiagnosticPublic]
    seconds: float


class VersionPublic(BaseModel):
    """A stored version; `active_on` names the connections it serves now. Listed for one
    connection, `active` and `activated_at` speak of that connection (else of any)."""

    version: int
    name: str
    checksum: str
    active: bool
    active_on: list[str]
    created_at: IsoDateTime
    activated_at: IsoDateTime | None
    """The latest activation."""
    created_by: str | None
    note: str | None


class VersionsPublic(BaseModel):
    data: list[VersionPublic]
    count: int
