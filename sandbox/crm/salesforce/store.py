"""The Salesforce side of the sandbox's data: typed rows per object, future versions, writes.

Values are kept as the REST API serialises them (datetimes as '2025-03-04T10:15:00.000+0000',
dates as '2025-03-04', numbers, booleans, None), so pages are served without conversion and
datetime comparisons are string comparisons.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.crm.ids import KEY_PREFIXES, IdFactory, to18, valid_id
from sandbox.crm.salesforce.schema import (
    NUMERIC_TYPES,
    FieldType,
    ObjectSchema,
    SfField,
    make_field,
    standard_schema,
)
from sandbox.crm.timefmt import parse_iso, sf_format

__all__ = [
    "CellError",
    "JsonValueError",
    "RecordError",
    "SalesforceStore",
    "ValidationRule",
    "convert_cell",
    "convert_json",
]

Record = dict[str, Any]


class CellError(ValueError):
    """A CSV cell that does not fit its field's type."""


class JsonValueError(ValueError):
    """A JSON value a client sent that Salesforce could not deserialize (JSON_PARSER_ERROR)."""

    def __init__(self, sf_type: str, value: Any) -> None:
        kind = {"int": "int", "double": "double", "currency": "double", "percent": "double"}.get(
            sf_type, sf_type
        )
        token = (
            "VALUE_STRING" if isinstance(value, str) else "VALUE_" + type(value).__name__.upper()
        )
        super().__init__(
            f"Cannot deserialize instance of {kind} from {token} value {value} "
            "or request may be missing a required field"
        )


@dataclass
class RecordError:
    status_code: str
    message: str
    fields: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"statusCode": self.status_code, "message": self.message, "fields": self.fields}


@dataclass
class ValidationRule:
    """A validation rule: when `condition(record after the change)` holds, the save fails."""

    object_name: str
    name: str
    message: str
    condition: Callable[[Record], bool]
    error_field: str | None = None


def convert_cell(sf_type: FieldType, cell: str) -> Any:
    if cell == "":
        return None
    try:
        if sf_type == "boolean":
            if cell.lower() not in ("true", "false"):
                raise CellError(cell)
            return cell.lower() == "true"
        if sf_type == "datetime":
            return sf_format(parse_iso(cell))
        if sf_type == "date":
            return parse_iso(cell).date().isoformat()
        if sf_type == "int":
            return int(float(cell))
        if sf_type in NUMERIC_TYPES:
            return float(cell)
    except ValueError as error:
        raise CellError(f"{cell!r} is not a {sf_type}") from error
    return cell


def convert_json(sf_field: SfField, value: Any) -> Any:
    """A value from a JSON body, stored as the API would serve it back."""
    if value is None:
        return None
    sf_type = sf_field.type
    try:
        if sf_type == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise JsonValueError(sf_type, value)
        if sf_type == "datetime":
            return sf_format(parse_iso(str(value)))
        if sf_type == "date":
            text = str(value)
            if len(text) != 10:
                raise JsonValueError(sf_type, value)
            return parse_iso(text).date().isoformat()
        if sf_type == "int":
            if isinstance(value, bool):
                raise JsonValueError(sf_type, value)
            return int(value)
        if sf_type in NUMERIC_TYPES:
            if isinstance(value, bool):
                raise JsonValueError(sf_type, value)
            return float(value)
    except (TypeError, ValueError) as error:
        if isinstance(error, JsonValueError):
            raise
        raise JsonValueError(sf_type, value) from error
    if isinstance(value, dict | list):
        raise JsonValueError(sf_type, value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_REQUIRED: dict[str, tuple[str, ...]] = {
    "Account": ("Name",),
    "Contact": ("LastName",),
    "Lead": ("LastName", "Company"),
    "Opportunity": ("Name", "StageName", "CloseDate"),
}
_HISTORY_FIELDS = ("StageName", "Amount", "CloseDate", "Probability", "ForecastCategoryName")


class SalesforceStore:
    """All Salesforce rows, by object and id; versions waiting for the clock; the write path."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.schemas: dict[str, ObjectSchema] = {}
        self._schemas_lower: dict[str, ObjectSchema] = {}
        self.tables: dict[str, dict[str, Record]] = {}
        self._prefixes: dict[str, str] = {}
        self._pending: list[tuple[str, int, str, Record]] = []
        self._pending_seq = 0
        self._pending_next = 0
        self._pending_sorted = True
        self.validation_rules: list[ValidationRule] = []
        self.ids = IdFactory()
        self.user_id = "0055g000000SANDBOXAAA"
        self.custom_field_ids: dict[str, str] = {}

    # schema -------------------------------------------------------------------------------
    def add_object(self, schema: ObjectSchema) -> None:
        self.schemas[schema.name] = schema
        self._schemas_lower[schema.name.lower()] = schema
        self.tables.setdefault(schema.name, {})
        self._prefixes.setdefault(schema.key_prefix, schema.name)

    def ensure_object(self, name: str) -> ObjectSchema:
        schema = self.schemas.get(name)
        if schema is None:
            schema = standard_schema(name)
            self.add_object(schema)
        return schema

    def schema(self, name: str) -> ObjectSchema | None:
        return self._schemas_lower.get(name.lower())

    def object_for_id(self, record_id: str) -> str | None:
        return self._prefixes.get(record_id[:3])

    # reads --------------------------------------------------------------------------------
    def get(self, record_id: str) -> tuple[str, Record] | None:
        """A row by id (15 or 18 characters), in whatever object its key prefix names."""
        if not valid_id(record_id):
            return None
        full = to18(record_id)
        object_name = self.object_for_id(full)
        if object_name is None:
            return None
        row = self.tables[object_name].get(full)
        return None if row is None else (object_name, row)

    # loading and the clock ----------------------------------------------------------------
    def put(self, object_name: str, row: Record) -> None:
        table = self.tables[object_name]
        current = table.get(row["Id"])
        if current is None:
            table[row["Id"]] = row
        else:
            current.update(row)

    def add_future(self, object_name: str, row: Record) -> None:
        stamp = row.get("SystemModstamp") or row.get("LastModifiedDate") or row.get("CreatedDate")
        if stamp is None:
            raise CellError(f"{object_name} {row.get('Id')}: a future version needs SystemModstamp")
        with self.lock:
            self._pending_seq += 1
            self._pending.append((stamp, self._pending_seq, object_name, row))
            self._pending_sorted = False

    def apply_due(self, now: datetime) -> int:
        """Apply every future version whose stamp the clock has passed; returns how many."""
        limit = sf_format(now)
        applied = 0
        with self.lock:
            self._sort_pending()
            pending = self._pending
            while self._pending_next < len(pending) and pending[self._pending_next][0] <= limit:
                _, _, object_name, row = pending[self._pending_next]
                self._pending_next += 1
                self.put(object_name, dict(row))
                applied += 1
        return applied

    def next_due(self) -> str | None:
        with self.lock:
            self._sort_pending()
            if self._pending_next < len(self._pending):
                return self._pending[self._pending_next][0]
            return None

    def _sort_pending(self) -> None:
        if not self._pending_sorted:
            self._pending = sorted(self._pending[self._pending_next :])
            self._pending_next = 0
            self._pending_sorted = True

    @property
    def pending_count(self) -> int:
        return len(self._pending) - self._pending_next

    # writes -------------------------------------------------------------------------------
    def plan_update(
        self, object_name: str, record_id: str, values: dict[str, Any]
    ) -> tuple[Record | None, list[RecordError]]:
        """Check one update; returns the changed fields (converted) or the record's errors.

        Raises JsonValueError for a value that does not deserialize (the whole request fails).
        """
        schema = self.schema(object_name)
        if schema is None:
            return None, [
                RecordError("INVALID_TYPE", f"sObject type '{object_name}' is not supported.", [])
            ]
        if not valid_id(record_id):
            message = f"{schema.name} ID: id value of incorrect type: {record_id}"
            return None, [RecordError("MALFORMED_ID", message, ["Id"])]
        full = to18(record_id)
        if self.object_for_id(full) != schema.name:
            message = f"{schema.name} ID: id value of incorrect type: {record_id}"
            return None, [RecordError("MALFORMED_ID", message, ["Id"])]
        row = self.tables[schema.name].get(full)
        if row is None:
            return None, [
                RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
            ]
        if row.get("IsDeleted"):
            return None, [RecordError("ENTITY_IS_DELETED", "entity is deleted", [])]
        changes: Record = {}
        unwritable: list[str] = []
        for name, value in values.items():
            sf_field = schema.field(name)
            if sf_field is None:
                message = f"No such column '{name}' on sobject of type {schema.name}"
                return None, [RecordError("INVALID_FIELD", message, [])]
            if not sf_field.updateable:
                unwritable.append(sf_field.name)
                continue
            converted = convert_json(sf_field, value)
            if (
                isinstance(converted, str)
                and sf_field.length
                and len(converted) > sf_field.length
                and sf_field.type not in ("reference", "id")
            ):
                message = (
                    f"{sf_field.label}: data value too large: {converted[:40]} "
                    f"(max length={sf_field.length})"
                )
                return None, [RecordError("STRING_TOO_LONG", message, [sf_field.name])]
            if sf_field.type == "reference" and converted is not None:
                target = self.get(converted)
                if target is None or target[0] not in sf_field.reference_to:
                    message = f"{sf_field.label}: id value of incorrect type: {converted}"
                    return None, [
                        RecordError("FIELD_INTEGRITY_EXCEPTION", message, [sf_field.name])
                    ]
                converted = to18(converted)
            changes[sf_field.name] = converted
        if unwritable:
            message = (
                f"Unable to create/update fields: {', '.join(unwritable)}. Please check the "
                "security settings of this field and verify that it is read/write for your "
                "profile or permission set."
            )
            return None, [RecordError("INVALID_FIELD_FOR_INSERT_UPDATE", message, unwritable)]
        after = {**row, **changes}
        for rule in self.validation_rules:
            if rule.object_name.lower() == schema.name.lower() and rule.condition(after):
                fields = [rule.error_field] if rule.error_field else []
                return None, [
                    RecordError("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.message, fields)
                ]
        return changes, []

    def plan_insert(
        self, object_name: str, values: dict[str, Any]
    ) -> tuple[Record | None, list[RecordError]]:
        """Check one insert; returns the converted fields or the errors (JsonValueError raises)."""
        schema = self.schema(object_name)
        if schema is None:
            message = f"sObject type '{object_name}' is not supported."
            return None, [RecordError("INVALID_TYPE", message, [])]
        fields: Record = {}
        for name, value in values.items():
            sf_field = schema.field(name)
            if sf_field is None:
                message = f"No such column '{name}' on sobject of type {schema.name}"
                return None, [RecordError("INVALID_FIELD", message, [])]
            if not sf_field.createable:
                message = f"Unable to create/update fields: {sf_field.name}."
                return None, [
                    RecordError("INVALID_FIELD_FOR_INSERT_UPDATE", message, [sf_field.name])
                ]
            fields[sf_field.name] = convert_json(sf_field, value)
        missing = [
            name
            for name in _REQUIRED.get(schema.name, ())
            if name in schema.fields and fields.get(name) in (None, "")
        ]
        if missing:
            message = f"Required fields are missing: [{', '.join(missing)}]"
            return None, [RecordError("REQUIRED_FIELD_MISSING", message, missing)]
        return fields, []

    def insert(self, object_name: str, fields: Record, now: datetime) -> str:
        schema = self.ensure_object(object_name)
        stamp = sf_format(now)
        row: Record = {name: None for name in schema.fields}
        row.update(fields)
        row.update(
            {
                "Id": self.ids.new(schema.key_prefix),
                "IsDeleted": False,
                "CreatedDate": stamp,
                "CreatedById": self.user_id,
                "LastModifiedDate": stamp,
                "LastModifiedById": self.user_id,
                "SystemModstamp": stamp,
            }
        )
        if "OwnerId" in schema.fields and row.get("OwnerId") is None:
            row["OwnerId"] = self.user_id
        for name in [n for n in row if n not in schema.fields]:
            row.pop(name)
        self.tables[schema.name][row["Id"]] = row
        if schema.name == "Opportunity":
            self._derive_opportunity(row, {}, fields, stamp)
        return str(row["Id"])

    def delete(self, record_id: str, now: datetime) -> tuple[str, Record] | None:
        """Move a row to the recycle bin (queryAll and the deleted window still see it)."""
        found = self.get(record_id)
        if found is None or found[1].get("IsDeleted"):
            return None
        stamp = sf_format(now)
        found[1].update({"IsDeleted": True, "SystemModstamp": stamp, "LastModifiedDate": stamp})
        return found

    def apply_update(
        self, object_name: str, record_id: str, changes: Record, now: datetime
    ) -> None:
        """Write checked changes: bump the stamps, derive what the platform derives."""
        schema = self.ensure_object(object_name)
        row = self.tables[schema.name][to18(record_id)]
        before = dict(row)
        stamp = sf_format(now)
        row.update(changes)
        if schema.name == "Opportunity":
            self._derive_opportunity(row, before, changes, stamp)
        row["LastModifiedDate"] = stamp
        row["SystemModstamp"] = stamp
        row["LastModifiedById"] = self.user_id

    def _derive_opportunity(self, row: Record, before: Record, changes: Record, stamp: str) -> None:
        if "StageName" in changes and changes["StageName"] != before.get("StageName"):
            stage = self._stage(changes["StageName"])
            if stage is not None:
                for name in ("IsClosed", "IsWon", "ForecastCategoryName"):
                    if name in stage:
                        row[name] = stage[name]
                if "ForecastCategory" in stage:
                    row["ForecastCategory"] = stage["ForecastCategory"]
                if "Probability" not in changes and stage.get("DefaultProbability") is not None:
                    row["Probability"] = stage["DefaultProbability"]
        if any(row.get(name) != before.get(name) for name in _HISTORY_FIELDS):
            self._add_history(row, before, stamp)

    def _stage(self, stage_name: str) -> Record | None:
        for stage in self.tables.get("OpportunityStage", {}).values():
            if stage.get("MasterLabel") == stage_name or stage.get("ApiName") == stage_name:
                return stage
        return None

    def _add_history(self, row: Record, before: Record, stamp: str) -> None:
        schema = self.ensure_object("OpportunityHistory")
        amount, probability = row.get("Amount"), row.get("Probability")
        history: Record = {name: None for name in schema.fields}
        history.update(
            {
                "Id": self.ids.new(schema.key_prefix),
                "OpportunityId": row["Id"],
                "StageName": row.get("StageName"),
                "Amount": amount,
                "CloseDate": row.get("CloseDate"),
                "Probability": probability,
                "ForecastCategory": row.get("ForecastCategoryName"),
                "PrevAmount": before.get("Amount"),
                "PrevCloseDate": before.get("CloseDate"),
                "IsDeleted": False,
                "CreatedDate": stamp,
                "CreatedById": self.user_id,
                "SystemModstamp": stamp,
            }
        )
        if "ExpectedRevenue" in schema.fields and amount is not None and probability is not None:
            history["ExpectedRevenue"] = amount * probability / 100.0
        for name in ("LastModifiedDate", "LastModifiedById"):
            history.pop(name, None)
        self.tables["OpportunityHistory"][history["Id"]] = history

    def add_custom_field(
        self, object_name: str, name: str, sf_type: FieldType, label: str, length: int | None
    ) -> str:
        schema = self.ensure_object(object_name)
        schema.add(make_field(schema.name, name, sf_type, custom=True, label=label, length=length))
        for row in self.tables[schema.name].values():
            row.setdefault(name, None)
        field_id = self.ids.new(KEY_PREFIXES["CustomField"])
        self.custom_field_ids[f"{schema.name}.{name}"] = field_id
        return field_id

    # replication windows ----------------------------------------------------------------
    def updated_ids(self, object_name: str, start: str, end: str) -> list[str]:
        return [
            row["Id"]
            for row in self.tables[object_name].values()
            if not row.get("IsDeleted") and start <= (row.get("SystemModstamp") or "") <= end
        ]

    def deleted_rows(self, object_name: str, start: str, end: str) -> list[tuple[str, str]]:
        out = []
        for row in self.tables[object_name].values():
            stamp = row.get("SystemModstamp") or ""
            if row.get("IsDeleted") and start <= stamp <= end:
                out.append((row["Id"], stamp))
        return out

    def all_rows(self, object_name: str) -> Iterable[Record]:
        return self.tables[object_name].values()
