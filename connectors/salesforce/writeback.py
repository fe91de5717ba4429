"""Writing fields on Salesforce records: sObject Collections updates and custom fields.

Updates go out as `PATCH composite/sobjects` with `allOrNone: false`, at most 200 records per
call; Salesforce answers one SaveResult per record, in order, so a record that a validation
rule, a lock or a deletion refuses fails alone. Custom fields are created through the Tooling
API (`POST tooling/sobjects/CustomField`); a field that exists already is left as it is.

    writer = SalesforceWriter(client)
    writer.check_fields("Opportunity", definitions)
    outcomes = writer.update("Opportunity", [RecordUpdate("006...", {"Stalled__c": True})])
    outcomes = writer.update_job("Opportunity", many_updates)   # Bulk API 2.0, <= 10,000

Many records at once go through a Bulk API 2.0 ingest job instead (`bulk_ingest`): a handful
of calls per 10,000 records rather than 50, with per-record results mapped back the same way.

Fields created through the Tooling API are visible only to the profiles and permission sets
granted field-level security on them: `check_fields` reports a field the integration user
cannot edit as not writable, naming it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial
from typing import Any

from connectors.core.errors import ConnectorError, MalformedResponse
from connectors.core.writes import (
    FieldCheck,
    FieldDefinition,
    PayloadRefused,
    RecordUpdate,
    WriteOutcome,
)
from connectors.salesforce.bulk_ingest import JOB_RECORDS, bulk_update
from connectors.salesforce.client import SalesforceClient

__all__ = ["BATCH_SIZE", "SalesforceWriter", "tooling_body"]

BATCH_SIZE = 200
_LONG_TEXT_DEFAULT = 4000

# describe types that can hold each kind of value
_COMPATIBLE: dict[str, frozenset[str]] = {
    "text": frozenset({"string", "textarea", "picklist"}),
    "longtext": frozenset({"textarea", "string"}),
    "number": frozenset({"double", "int", "currency", "percent"}),
    "percent": frozenset({"percent", "double", "int"}),
    "currency": frozenset({"currency", "double"}),
    "date": frozenset({"date"}),
    "checkbox": frozenset({"boolean"}),
}
_UI_TYPES = {
    "text": "Text",
    "longtext": "Text Area (Long)",
    "number": "Number",
    "percent": "Percent",
    "currency": "Currency",
    "date": "Date",
    "checkbox": "Checkbox",
}


def _metadata(definition: FieldDefinition) -> dict[str, Any]:
    base: dict[str, Any] = {"label": definition.label[:40]}
    if definition.description:
        base["description"] = definition.description[:1000]
        base["inlineHelpText"] = definition.description[:510]
    kind = definition.kind
    if kind == "text":
        return {**base, "type": "Text", "length": definition.length or 255}
    if kind == "longtext":
        length = max(256, definition.length or _LONG_TEXT_DEFAULT)
        return {**base, "type": "LongTextArea", "length": length, "visibleLines": 3}
    if kind == "number":
        return {**base, "type": "Number", "precision": 18, "scale": 0}
    if kind == "percent":
        return {**base, "type": "Percent", "precision": 5, "scale": 0}
    if kind == "currency":
        return {**base, "type": "Currency", "precision": 18, "scale": 0}
    if kind == "date":
        return {**base, "type": "Date"}
    return {**base, "type": "Checkbox", "defaultValue": "false"}


def tooling_body(object_type: str, definition: FieldDefinition) -> dict[str, Any]:
    """The Tooling API body that creates this field on `object_type`."""
    return {"FullName": f"{object_type}.{definition.name}", "Metadata": _metadata(definition)}


def _error_text(errors: Any) -> str:
    if not isinstance(errors, list) or not errors:
        return "UNKNOWN_ERROR: Salesforce gave no reason"
    parts = []
    for error in errors:
        if isinstance(error, dict):
            code = error.get("statusCode") or error.get("errorCode") or "ERROR"
            fields = error.get("fields") or []
            where = f" [{', '.join(str(f) for f in fields)}]" if fields else ""
            parts.append(f"{code}: {error.get('message', '')}{where}")
        else:
            parts.append(str(error))
    return "; ".join(parts)


def _create_field(sf: Any, body: dict[str, Any]) -> Any:
    return sf.toolingexecute("sobjects/CustomField", method="POST", data=body)


class SalesforceWriter:
    """`FieldWriter` for a Salesforce org, over the connector's `SalesforceClient`."""

    batch_size = BATCH_SIZE
    bulk_job_size = JOB_RECORDS

    def __init__(self, client: SalesforceClient, bulk_poll_seconds: float = 2.0) -> None:
        self.client = client
        self.bulk_poll_seconds = bulk_poll_seconds

    def close(self) -> None:
        self.client.close()

    # -- fields ---------------------------------------------------------------------------------
    def check_fields(
        self, object_type: str, definitions: Sequence[FieldDefinition]
    ) -> list[FieldCheck]:
        described = {
            name.lower(): info for name, info in self.client.describe_fields(object_type).items()
        }
        checks = []
        for definition in definitions:
            info = described.get(definition.name.lower())
            where = f"{object_type}.{definition.name}"
            if info is None:
                checks.append(
                    FieldCheck(
                        definition,
                        False,
                        False,
                        f"{where} does not exist (or the integration user cannot see it)",
                    )
                )
                continue
            crm_type = str(info.get("type", ""))
            if not info.get("updateable"):
                problem = (
                    f"{where} is not writable: grant the integration user edit access "
                    "(field-level security) or replace a formula field"
                )
                checks.append(FieldCheck(definition, True, False, problem, crm_type))
            elif crm_type not in _COMPATIBLE[definition.kind]:
                problem = (
                    f"{where} is of type {crm_type}; a {_UI_TYPES[definition.kind]} field is needed"
                )
                checks.append(FieldCheck(definition, True, True, problem, crm_type))
            else:
                checks.append(FieldCheck(definition, True, True, None, crm_type))
        return checks

    def create_fields(self, object_type: str, definitions: Sequence[FieldDefinition]) -> list[str]:
        """Create these custom fields; names that exist already are skipped, not an error."""
        created = []
        for definition in definitions:
            body = tooling_body(object_type, definition)
            try:
                self.client.call(partial(_create_field, body=body))
            except ConnectorError as error:
                if "DUPLICATE_DEVELOPER_NAME" in str(error):
                    continue
                raise
            created.append(definition.name)
        return created

    @staticmethod
    def manual_steps(object_type: str, definitions: Sequence[FieldDefinition]) -> list[str]:
        """How an administrator creates the fields by hand, one line per field."""
        lines = []
        for definition in definitions:
            metadata = _metadata(definition)
            size = ""
            if "length" in metadata:
                size = f", length {metadata['length']}"
            elif "precision" in metadata:
                size = f", {metadata['precision'] - metadata['scale']} digits, 0 decimals"
            lines.append(
                f"Setup > Object Manager > {object_type} > Fields & Relationships > New: "
                f"{_UI_TYPES[definition.kind]}{size}; Field Label '{metadata['label']}', "
                f"Field Name '{definition.name.removesuffix('__c')}' (API name "
                f"{definition.name}); visible and editable for the integration user. "
                f"Tooling API: POST tooling/sobjects/CustomField "
                f"{json.dumps(tooling_body(object_type, definition))}"
            )
        return lines

    # -- records --------------------------------------------------------------------------------
    def update(self, object_type: str, updates: Sequence[RecordUpdate]) -> list[WriteOutcome]:
        """One sObject Collections call; one outcome per update, in order."""
        if not updates:
            return []
        if len(updates) > BATCH_SIZE:
            raise ValueError(f"at most {BATCH_SIZE} records per call, not {len(updates)}")
        body = {
            "allOrNone": False,
            "records": [
                {"attributes": {"type": object_type}, "id": u.external_id, **u.values}
                for u in updates
            ],
        }
        try:
            results = self.client.call(
                lambda sf: sf.restful("composite/sobjects", method="PATCH", json=body)
            )
        except MalformedResponse as error:
            if "(JSON_PARSER_ERROR)" in str(error):  # a value Salesforce cannot read
                raise PayloadRefused(str(error)) from None
            raise
        if not isinstance(results, list) or len(results) != len(updates):
            raise MalformedResponse(
                f"Salesforce answered an update of {len(updates)} {object_type} records with "
                f"{type(results).__name__} of {len(results) if isinstance(results, list) else 0}"
                " results"
            )
        outcomes = []
        for update, result in zip(updates, results, strict=True):
            if isinstance(result, dict) and result.get("success") is True:
                outcomes.append(WriteOutcome(update.external_id, True))
            else:
                errors = result.get("errors") if isinstance(result, dict) else result
                outcomes.append(WriteOutcome(update.external_id, False, _error_text(errors)))
        return outcomes

    def update_job(self, object_type: str, updates: Sequence[RecordUpdate]) -> list[WriteOutcome]:
        """One Bulk API 2.0 ingest job; one outcome per update, in order."""
        return bulk_update(self.client, object_type, updates, self.bulk_poll_seconds)
