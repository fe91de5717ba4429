"""Writing values into CRM records: the field definitions, the updates and what came back.

The CRM-specific writers (`connectors.salesforce.writeback`, `connectors.hubspot.writeback`)
share these shapes so that the product's write-back service drives either one the same way:

    writer.check_fields("Opportunity", definitions)      # exists? writable? right type?
    writer.create_fields("Opportunity", missing)         # idempotent
    outcomes = writer.update("Opportunity", updates)     # one API call, <= writer.batch_size

`update` answers one `WriteOutcome` per update, in order: a per-record rejection (deleted
record, validation rule, locked row, missing permission) is an outcome with the CRM's own code
and message; a rejected call as a whole raises a `ConnectorError` — `PayloadRefused` when the
CRM refused it for a value some record carries, so that the records can be sent again apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from connectors.core.errors import ConnectorError

__all__ = [
    "BulkFieldWriter",
    "FieldCheck",
    "FieldDefinition",
    "FieldKind",
    "FieldWriter",
    "PayloadRefused",
    "RecordUpdate",
    "WriteOutcome",
]

FieldKind = Literal["text", "longtext", "number", "percent", "currency", "date", "checkbox"]


@dataclass(frozen=True)
class FieldDefinition:
    """A field to create or to find: the CRM's API name and how it should be typed."""

    name: str
    label: str
    kind: FieldKind
    description: str = ""
    length: int | None = None
    """Maximum characters of text fields."""


@dataclass(frozen=True)
class FieldCheck:
    """What the CRM says about one wanted field; `problem` is None when it can be written."""

    definition: FieldDefinition
    exists: bool
    writable: bool
    problem: str | None = None
    crm_type: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class RecordUpdate:
    external_id: str
    values: dict[str, Any]


@dataclass(frozen=True)
class WriteOutcome:
    external_id: str
    ok: bool
    error: str | None = None
    """The CRM's code and message, e.g. `ENTITY_IS_DELETED: entity is deleted`."""


class PayloadRefused(ConnectorError):
    """The CRM refused a whole call for a value in it (HubSpot's 400 VALIDATION_ERROR on one
    non-number, Salesforce's JSON_PARSER_ERROR) without naming the record that carries it."""


class FieldWriter(Protocol):
    batch_size: int

    def check_fields(
        self, object_type: str, definitions: Sequence[FieldDefinition]
    ) -> list[FieldCheck]: ...

    def create_fields(
        self, object_type: str, definitions: Sequence[FieldDefinition]
    ) -> list[str]: ...

    def manual_steps(
        self, object_type: str, definitions: Sequence[FieldDefinition]
    ) -> list[str]: ...

    def update(self, object_type: str, updates: Sequence[RecordUpdate]) -> list[WriteOutcome]: ...

    def close(self) -> None: ...


@runtime_checkable
class BulkFieldWriter(Protocol):
    """A writer that can also send many records as one asynchronous job (Salesforce Bulk API
    2.0): `update_job` takes up to `bulk_job_size` updates and answers like `update`; a job
    that fails as a whole raises a `ConnectorError`."""

    bulk_job_size: int

    def update_job(
        self, object_type: str, updates: Sequence[RecordUpdate]
    ) -> list[WriteOutcome]: ...
