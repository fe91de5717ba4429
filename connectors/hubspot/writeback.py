"""Writing properties on HubSpot objects: batch updates, and the properties themselves.

Updates go out as `POST /crm/v3/objects/{type}/batch/update`, at most 100 inputs per call.
HubSpot answers 200, or 207 with `errors` whose `context.ids` name the inputs it could not
update (a deleted deal, for one); the others were written. A 400 rejects the whole call; when
it names a property value (VALIDATION_ERROR), `update` raises `PayloadRefused`: the batch can
be split to find the input that carries it.
Properties are created in one property group (created first) through the Properties API;
names that exist already are left as they are.

    writer = HubSpotWriter(client, group="milestone_sync")
    writer.create_fields("deals", definitions)
    outcomes = writer.update("deals", [RecordUpdate("3000000001", {"ms_stalled": "true"})])

Calls go through the connector's `HubSpotClient.call`: counted into the run's budget, paced,
retried on 429 and 5xx, with the OAuth token refreshed when HubSpot rejects it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from hubspot import HubSpot
from urllib3.util.retry import Retry

from connectors.core.errors import ConfigError, ConnectorError, MalformedResponse
from connectors.core.writes import (
    FieldCheck,
    FieldDefinition,
    PayloadRefused,
    RecordUpdate,
    WriteOutcome,
)
from connectors.hubspot.client import HubSpotClient

__all__ = ["BATCH_SIZE", "HubSpotWriter", "property_body"]

BATCH_SIZE = 100

_TYPES: dict[str, tuple[str, str]] = {
    "text": ("string", "text"),
    "longtext": ("string", "textarea"),
    "number": ("number", "number"),
    "percent": ("number", "number"),
    "currency": ("number", "number"),
    "date": ("date", "date"),
    "checkbox": ("bool", "booleancheckbox"),
}
_COMPATIBLE: dict[str, frozenset[str]] = {
    "text": frozenset({"string", "enumeration"}),
    "longtext": frozenset({"string"}),
    "number": frozenset({"number"}),
    "percent": frozenset({"number"}),
    "currency": frozenset({"number"}),
    "date": frozenset({"date", "datetime"}),
    "checkbox": frozenset({"bool", "enumeration"}),
}
_BOOLEAN_OPTIONS = [
    {"label": "Yes", "value": "true", "displayOrder": 0},
    {"label": "No", "value": "false", "displayOrder": 1},
]


def property_body(definition: FieldDefinition, group: str) -> dict[str, Any]:
    """The Properties API body that creates this property in `group`."""
    kind, field_type = _TYPES[definition.kind]
    body: dict[str, Any] = {
        "name": definition.name,
        "label": definition.label,
        "type": kind,
        "fieldType": field_type,
        "groupName": group,
        "description": definition.description,
    }
    if definition.kind == "checkbox":
        body["options"] = _BOOLEAN_OPTIONS
    return body


def _exists_already(error: ConnectorError) -> bool:
    text = str(error)
    return "409" in text or "ALREADY_EXISTS" in text.upper()


class HubSpotWriter:
    """`FieldWriter` for a HubSpot portal, over the connector's `HubSpotClient`."""

    batch_size = BATCH_SIZE

    def __init__(
        self, client: HubSpotClient, group: str = "milestone_sync", group_label: str = ""
    ) -> None:
        self.client = client
        self.group = group
        self.group_label = group_label or group.replace("_", " ").title()
        no_retries = Retry(total=0, redirect=0, raise_on_status=False, raise_on_redirect=False)
        api = HubSpot(access_token=client.auth.access_token, host=client.base_url, retry=no_retries)
        self._groups = api.crm.properties.groups_api
        self._properties = api.crm.properties.core_api
        self._batch = api.crm.objects.batch_api

    def close(self) -> None:
        self.client.close()
        for api in (self._groups, self._properties, self._batch):
            pool = getattr(api.api_client.rest_client, "pool_manager", None)
            if pool is not None:
                pool.clear()

    def _send(self, api: Any, operation: Callable[[], Any]) -> Callable[[], Any]:
        """`operation` with the client's current token (it may have been refreshed)."""

        def send() -> Any:
            api.api_client.configuration.access_token = self.client.auth.access_token
            return operation()

        return send

    # -- fields ---------------------------------------------------------------------------------
    def check_fields(
        self, object_type: str, definitions: Sequence[FieldDefinition]
    ) -> list[FieldCheck]:
        described = {str(p.get("name")): p for p in self.client.properties(object_type)}
        checks = []
        for definition in definitions:
            prop = described.get(definition.name)
            where = f"{object_type} property {definition.name}"
            if prop is None or prop.get("archived"):
                checks.append(FieldCheck(definition, False, False, f"{where} does not exist"))
                continue
            crm_type = str(prop.get("type", ""))
            metadata = prop.get("modificationMetadata") or {}
            if metadata.get("readOnlyValue") is True or prop.get("calculated") is True:
                problem = f"{where} is read-only (a calculated or HubSpot-owned property)"
                checks.append(FieldCheck(definition, True, False, problem, crm_type))
            elif crm_type not in _COMPATIBLE[definition.kind]:
                wanted = _TYPES[definition.kind][0]
                problem = f"{where} is of type {crm_type}; type {wanted} is needed"
                checks.append(FieldCheck(definition, True, True, problem, crm_type))
            else:
                checks.append(FieldCheck(definition, True, True, None, crm_type))
        return checks

    def create_fields(self, object_type: str, definitions: Sequence[FieldDefinition]) -> list[str]:
        """Create the property group (if needed) and these properties; existing ones stay."""
        if not definitions:
            return []
        group = {"name": self.group, "label": self.group_label, "displayOrder": -1}
        try:
            self.client.call(
                f"{object_type} property group",
                self._send(
                    self._groups,
                    lambda: self._groups.create(
                        object_type,
                        group,
                        _preload_content=False,
                        _request_timeout=self.client.timeout,
                    ),
                ),
            )
        except ConnectorError as error:
            if not _exists_already(error):
                raise
        created = []
        for definition in definitions:
            body = property_body(definition, self.group)
            create = partial(
                self._properties.create,
                object_type,
                body,
                _preload_content=False,
                _request_timeout=self.client.timeout,
            )
            try:
                self.client.call(
                    f"{object_type} property {definition.name}",
                    self._send(self._properties, create),
                )
            except ConnectorError as error:
                if _exists_already(error):
                    continue
                raise
            created.append(definition.name)
        return created

    def manual_steps(self, object_type: str, definitions: Sequence[FieldDefinition]) -> list[str]:
        """How a super admin creates the properties by hand, one line per property."""
        lines = [
            f"Settings > Properties > {object_type}: create the group '{self.group_label}' "
            f"(internal name {self.group}); Properties API: POST /crm/v3/properties/"
            f"{object_type}/groups {json.dumps({'name': self.group, 'label': self.group_label})}"
        ]
        for definition in definitions:
            body = property_body(definition, self.group)
            lines.append(
                f"Settings > Properties > {object_type} > Create property: label "
                f"'{definition.label}', internal name {definition.name}, field type "
                f"{body['fieldType']}, group '{self.group_label}'. Properties API: POST "
                f"/crm/v3/properties/{object_type} {json.dumps(body)}"
            )
        return lines

    # -- records --------------------------------------------------------------------------------
    def update(self, object_type: str, updates: Sequence[RecordUpdate]) -> list[WriteOutcome]:
        """One batch update call; one outcome per update, in order."""
        if not updates:
            return []
        if len(updates) > BATCH_SIZE:
            raise ValueError(f"at most {BATCH_SIZE} inputs per call, not {len(updates)}")
        request = {"inputs": [{"id": u.external_id, "properties": u.values} for u in updates]}
        try:
            body, _status = self.client.call(
                f"{object_type} batch update",
                self._send(
                    self._batch,
                    lambda: self._batch.update(
                        object_type,
                        request,
                        _preload_content=False,
                        _request_timeout=self.client.timeout,
                    ),
                ),
            )
        except ConfigError as refused:  # a 400 naming a property value HubSpot cannot take
            raise PayloadRefused(str(refused)) from None
        results = body.get("results")
        if not isinstance(results, list):
            raise MalformedResponse(f"HubSpot {object_type} batch update answer has no results")
        written = {str(r.get("id")) for r in results if isinstance(r, dict)}
        reasons: dict[str, str] = {}
        for error in body.get("errors") or []:
            if not isinstance(error, dict):
                continue
            reason = f"{error.get('category') or 'ERROR'}: {error.get('message') or ''}".strip()
            context = error.get("context") or {}
            for object_id in context.get("ids") or [] if isinstance(context, dict) else []:
                reasons[str(object_id)] = reason
        outcomes = []
        for update in updates:
            if update.external_id in written:
                outcomes.append(WriteOutcome(update.external_id, True))
            else:
                reason = reasons.get(
                    update.external_id, "NO_RESULT: HubSpot answered without this object"
                )
                outcomes.append(WriteOutcome(update.external_id, False, reason))
        return outcomes
