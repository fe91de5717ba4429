"""HubSpot export files, read as the v3 API would have served them.

Two layouts are understood, one CSV per object type:

- **API names** (the product's export format, `docs/export-format.md`): `id, createdAt,
  updatedAt, archived[, archivedAt]` then property internal names, values as the API sends
  them; with `associations.csv` (one direction written, the inverse derived),
  `property_history.csv`, `owners.csv` and `pipelines.json` beside them, and form submissions
  (`forms.json`, `form_submissions.csv`) linked to the contacts of their addresses.
- **HubSpot's own export** (CRM → Export): `Record ID` then property *labels*, enumeration
  labels as values, instants as `2025-03-04 10:15`, and association columns such as
  `Associated Deal IDs` (`;`-separated). Labels and option labels are mapped back to internal
  names and values with the portal's property definitions when the export carries them
  (`properties/<objectType>.json`, a saved `GET /crm/v3/properties/<objectType>`), else with
  the standard labels.

Every object becomes `{"id", "properties", "createdAt", "updatedAt", "archived"[, "archivedAt"]
[, "propertiesWithHistory"], "associations"}` with the same association groups and the same
history properties the API connector stores, so mapping rules read both alike.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any

from connectors.core import ConfigError, Quarantined, Record, StreamSpec
from connectors.exports.files import ExportFile
from connectors.exports.values import CellError, cell_instant, hs_datetime
from connectors.hubspot.associations import (
    SINGULAR,
    canonical_associations,
    inverse_type_id,
    type_name,
)
from connectors.hubspot.forms import submission_record
from connectors.hubspot.streams import HUBSPOT_STREAMS, stream_info

__all__ = ["HubSpotExport", "object_type_of"]

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

PAGE_SIZE = 2000
OBJECT_TYPES = ("companies", "contacts", "deals", "emails", "meetings", "calls", "notes", "tasks")
_BASE = ("id", "createdAt", "updatedAt", "archived", "archivedAt")
_SPECS = {spec.name: spec for spec in HUBSPOT_STREAMS}
_BY_WORD = {
    **{name: name for name in OBJECT_TYPES},
    **{one: name for name, one in SINGULAR.items()},
}
_ASSOCIATED = re.compile(r"^associated (.+?) ids?(?: \(.*\))?$", re.IGNORECASE)
# Labels HubSpot's exports use for the standard properties the connector reads.
_LABELS = {
    "record id": "id",
    "create date": "createdate",
    "created date": "createdate",
    "last modified date": "hs_lastmodifieddate",
    "last activity date": "notes_last_updated",
    "activity date": "hs_timestamp",
    "contact owner": "hubspot_owner_id",
    "company owner": "hubspot_owner_id",
    "deal owner": "hubspot_owner_id",
    "activity assigned to": "hubspot_owner_id",
    "deal name": "dealname",
    "deal stage": "dealstage",
    "pipeline": "pipeline",
    "amount": "amount",
    "close date": "closedate",
    "deal type": "dealtype",
    "first name": "firstname",
    "last name": "lastname",
    "email": "email",
    "job title": "jobtitle",
    "phone number": "phone",
    "company name": "name",
    "lifecycle stage": "lifecyclestage",
    "lead status": "hs_lead_status",
    "company domain name": "domain",
    "industry": "industry",
    "number of employees": "numberofemployees",
    "annual revenue": "annualrevenue",
    "city": "city",
    "country/region": "country",
    "email direction": "hs_email_direction",
    "email status": "hs_email_status",
    "email subject": "hs_email_subject",
    "email body": "hs_email_text",
    "meeting name": "hs_meeting_title",
    "meeting description": "hs_meeting_body",
    "meeting start time": "hs_meeting_start_time",
    "meeting end time": "hs_meeting_end_time",
    "meeting outcome": "hs_meeting_outcome",
    "call title": "hs_call_title",
    "call notes": "hs_call_body",
    "call direction": "hs_call_direction",
    "call status": "hs_call_status",
    "call duration (hh:mm:ss)": "hs_call_duration",
    "call outcome": "hs_call_disposition",
    "note body": "hs_note_body",
    "task title": "hs_task_subject",
    "task notes": "hs_task_body",
    "task status": "hs_task_status",
    "priority": "hs_task_priority",
    "task type": "hs_task_type",
}
_INSTANTS = (
    "createdate hs_createdate hs_lastmodifieddate lastmodifieddate hs_timestamp closedate "
    "hs_meeting_start_time hs_meeting_end_time hs_task_completion_date notes_last_updated "
    "notes_last_contacted"
)
_INSTANT_PROPERTIES = frozenset(_INSTANTS.split())
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n"}


def forms_beside(files: Sequence[ExportFile]) -> bool:
    """Whether the export has `forms.json`, which names the forms of `form_submissions.csv`."""
    return any(item.suffix == ".json" and item.stem.lower() == "forms" for item in files)


def object_type_of(stem: str) -> str | None:
    """`deals`, `hubspot-crm-exports-all-deals-2025-03-04`, `Deal export` → deals."""
    lowered = stem.lower()
    if lowered in OBJECT_TYPES:
        return lowered
    words = re.split(r"[^a-z]+", lowered)
    found = [_BY_WORD[word] for word in words if word in _BY_WORD]
    return found[-1] if found else None


def _duration_ms(text: str) -> str:
    """`00:05:12` (the export's hh:mm:ss) → milliseconds, as the API's hs_call_duration."""
    parts = text.split(":")
    if len(parts) == 3 and all(p.strip().isdigit() for p in parts):
        hours, minutes, seconds = (int(p) for p in parts)
        return str(((hours * 60 + minutes) * 60 + seconds) * 1000)
    return text


class _Properties:
    """A portal's property definitions for one object type (possibly none)."""

    def __init__(self, definitions: Sequence[dict[str, Any]]) -> None:
        self.by_name = {str(d.get("name")): d for d in definitions if d.get("name")}
        self.by_label = {
            str(d.get("label", "")).strip().lower(): str(d["name"])
            for d in definitions
            if d.get("name") and d.get("label")
        }

    def name_of(self, header: str, object_type: str) -> str:
        stripped = header.strip().lstrip("\ufeff")
        if stripped in self.by_name or stripped in _BASE:
            return stripped
        lowered = stripped.lower()
        name = self.by_label.get(lowered) or _LABELS.get(lowered)
        if name == "hs_lastmodifieddate" and object_type == "contacts":
            return "lastmodifieddate"
        return name or stripped

    def converter(self, name: str, labelled: bool) -> Callable[[str], str | None]:
        definition = self.by_name.get(name, {})
        kind = str(definition.get("type") or "")
        if not kind and labelled and name in _INSTANT_PROPERTIES:
            kind = "datetime"
        options = {
            str(o.get("label", "")).strip().lower(): str(o.get("value"))
            for o in definition.get("options") or []
            if isinstance(o, dict) and o.get("value") is not None
        }
        values = set(options.values())

        def convert(cell: str) -> str | None:
            if cell == "":
                return None
            if kind == "datetime" or (kind == "date" and len(cell.strip()) > 10):
                moment = cell_instant(cell)
                return hs_datetime(moment) if kind == "datetime" else moment.date().isoformat()
            if kind == "bool":
                lowered = cell.strip().lower()
                if lowered in _TRUE:
                    return "true"
                if lowered in _FALSE:
                    return "false"
                raise CellError(f"{cell!r} is not a yes/no value")
            if kind == "number" and labelled:
                if name == "hs_call_duration" and ":" in cell:
                    return _duration_ms(cell)
                return cell.strip().replace(",", "")
            if options and kind == "enumeration":
                parts = [p.strip() for p in cell.split(";")]
                mapped = [p if p in values else options.get(p.lower(), p) for p in parts]
                return ";".join(mapped)
            if name == "hs_call_duration" and ":" in cell:
                return _duration_ms(cell)
            return cell

        return convert


# HubSpot serves a primary association beside its unlabeled twin; so does an export read.
_PRIMARY_NAMES = frozenset(
    {"contact_to_company", "company_to_contact", "deal_to_company", "company_to_deal"}
)


def _with_unlabeled(name: str) -> tuple[str, ...]:
    return (name, f"{name}_unlabeled") if name in _PRIMARY_NAMES else (name,)


class HubSpotExport:
    """The object types, owners and pipelines of one HubSpot export, as v3-shaped records."""

    def __init__(
        self, files: Sequence[ExportFile], *, encoding: str, streams: Sequence[str] | None = None
    ) -> None:
        self._encoding = encoding
        self._objects: dict[str, list[ExportFile]] = {}
        self._extra: dict[str, ExportFile] = {}
        self._property_files: dict[str, ExportFile] = {}
        for item in files:
            stem = item.stem.lower()
            if item.suffix == ".json" and ("propert" in item.name.lower()):
                key = object_type_of(stem.replace("properties", "")) or "*"
                self._property_files[key] = item
            elif (
                (item.suffix == ".json" and stem in ("pipelines", "forms"))
                or (item.suffix == ".csv" and stem == "form_submissions" and forms_beside(files))
                or (
                    item.suffix == ".csv" and stem in ("owners", "associations", "property_history")
                )
            ):
                self._extra[stem] = item
            elif item.suffix == ".csv" and (kind := object_type_of(item.stem)) is not None:
                self._objects.setdefault(kind, []).append(item)
        available = [
            spec.name
            for spec in HUBSPOT_STREAMS
            if spec.name in self._objects or spec.name in self._extra
        ]
        if streams:
            missing = [name for name in streams if name not in available]
            if missing:
                raise ConfigError(
                    f"the HubSpot export has no file for {', '.join(missing)}; it has: "
                    f"{', '.join(available) or 'no object files'}"
                )
            available = [name for name in available if name in streams]
        if not available:
            raise ConfigError(
                "no HubSpot object files in the export (expected deals.csv, emails.csv, … or "
                "HubSpot's own exports named after their object type)"
            )
        self.streams = available
        self._definitions: dict[str, _Properties] = {}

    def specs(self) -> list[StreamSpec]:
        out = []
        for name in self.streams:
            spec = _SPECS[name]
            out.append(StreamSpec(name, spec.object, spec.cursor_field, "id", page_size=PAGE_SIZE))
        return out

    def fingerprint(self, stream: str) -> str:
        if stream == "form_submissions":  # its contacts are found by address in contacts.csv
            items = [self._extra["forms"], self._extra[stream], *self._objects.get("contacts", [])]
            return "|".join(item.fingerprint for item in items)
        parts = [f.fingerprint for f in self._objects.get(stream, [])]
        for name in ("associations", "property_history", "owners", "pipelines"):
            if name in self._extra:
                parts.append(self._extra[name].fingerprint)
        parts += [f.fingerprint for f in self._property_files.values()]
        return "|".join(parts)

    # -- helpers --------------------------------------------------------------------------------
    def _read_csv(self, item: ExportFile) -> Iterator[tuple[int, list[str], list[str]]]:
        """(row number, header, row) for every data row."""
        with item.open_text(self._encoding) as handle:
            reader = csv.reader(handle)
            number = 0
            try:
                header = [h.strip().lstrip("\ufeff") for h in next(reader, [])]
                for number, row in enumerate(reader, start=1):
                    if row:
                        yield number, header, row
            except (UnicodeDecodeError, csv.Error) as error:
                raise ConfigError(
                    f"{item.name} row {number + 1}: unreadable ({error}); check the export's "
                    "encoding (the connection's `encoding` setting)"
                ) from None

    def _properties(self, object_type: str) -> _Properties:
        if object_type in self._definitions:
            return self._definitions[object_type]
        definitions: list[dict[str, Any]] = []
        for key in (object_type, "*"):
            item = self._property_files.get(key)
            if item is None:
                continue
            try:
                raw = json.loads(item.read_text(self._encoding))
            except (ValueError, OSError) as error:
                raise ConfigError(
                    f"{item.name}: not readable property definitions ({error})"
                ) from None
            if key == "*" and isinstance(raw, dict) and object_type in raw:
                raw = raw[object_type]
            elif key == "*":
                continue
            if isinstance(raw, dict):
                raw = raw.get("results", [])
            definitions = [d for d in raw if isinstance(d, dict)] if isinstance(raw, list) else []
            break
        self._definitions[object_type] = _Properties(definitions)
        return self._definitions[object_type]

    def _links(self, object_type: str) -> dict[str, dict[str, list[dict[str, str]]]]:
        """id -> {to type: v3 items}, from associations.csv in both directions."""
        wanted = set(stream_info(object_type).associations)
        links: dict[str, dict[str, list[dict[str, str]]]] = {}
        item = self._extra.get("associations")
        if item is None or not wanted:
            return links
        for number, header, row in self._read_csv(item):
            cells = dict(zip(header, row, strict=False))
            from_type = object_type_of(cells.get("fromType", ""))
            to_type = object_type_of(cells.get("toType", ""))
            try:
                type_id = int(cells.get("typeId", ""))
            except ValueError:
                raise ConfigError(
                    f"{item.name} row {number}: typeId {cells.get('typeId')!r}"
                ) from None
            if from_type == object_type and to_type in wanted:
                own, other, other_type, kind = cells["fromId"], cells["toId"], to_type, type_id
            elif to_type == object_type and from_type in wanted:
                own, other, other_type, kind = (
                    cells["toId"],
                    cells["fromId"],
                    from_type,
                    inverse_type_id(type_id),
                )
            else:
                continue
            group = links.setdefault(own, {}).setdefault(other_type, [])
            for name in _with_unlabeled(type_name(kind, None, object_type, other_type)):
                if {"id": other, "type": name} not in group:
                    group.append({"id": other, "type": name})
        return links

    def _history(self, object_type: str) -> dict[str, dict[str, list[dict[str, Any]]]]:
        names = set(stream_info(object_type).history)
        history: dict[str, dict[str, list[tuple[datetime, dict[str, Any]]]]] = {}
        item = self._extra.get("property_history")
        if item is None or not names:
            return {}
        for number, header, row in self._read_csv(item):
            cells = dict(zip(header, row, strict=False))
            if object_type_of(cells.get("objectType", "")) != object_type:
                continue
            if cells.get("property") not in names:
                continue
            try:
                moment = cell_instant(cells.get("timestamp", ""))
            except CellError as error:
                raise ConfigError(f"{item.name} row {number}: timestamp {error}") from None
            entry: dict[str, Any] = {
                "value": cells.get("value", ""),
                "timestamp": hs_datetime(moment),
                "sourceType": cells.get("sourceType") or "CRM_UI",
            }
            if cells.get("sourceId"):
                entry["sourceId"] = cells["sourceId"]
            history.setdefault(cells["id"], {}).setdefault(cells["property"], []).append(
                (moment, entry)
            )
        return {
            ident: {
                name: [e for _m, e in sorted(entries, key=lambda p: p[0], reverse=True)]
                for name, entries in per_object.items()
            }
            for ident, per_object in history.items()
        }

    # -- rows -----------------------------------------------------------------------------------
    def rows(self, stream: str) -> Iterator[Record | Quarantined]:
        if stream == "owners":
            yield from self._owners()
        elif stream == "pipelines":
            yield from self._pipelines()
        elif stream == "form_submissions":
            yield from self._submissions()
        else:
            links = self._links(stream)
            history = self._history(stream)
            for item in self._objects.get(stream, []):
                yield from self._object_rows(stream, item, links, history)

    def _object_rows(
        self,
        stream: str,
        item: ExportFile,
        links: dict[str, dict[str, list[dict[str, str]]]],
        history: dict[str, dict[str, list[dict[str, Any]]]],
    ) -> Iterator[Record | Quarantined]:
        spec = _SPECS[stream]
        info = stream_info(stream)
        definitions = self._properties(stream)
        columns: list[tuple[str, Callable[[str], str | None]]] | None = None
        associated: dict[int, str] = {}
        labelled = False
        for number, header, row in self._read_csv(item):
            where = f"{item.name} row {number}"
            if columns is None:
                labelled = "id" not in header and any(h.lower() == "record id" for h in header)
                if not labelled and "id" not in header:
                    raise ConfigError(f"{item.name}: no id or Record ID column")
                names = [definitions.name_of(h, stream) for h in header]
                columns = [(n, definitions.converter(n, labelled)) for n in names]
                for at, h in enumerate(header):
                    match = _ASSOCIATED.match(h.strip())
                    target = object_type_of(match.group(1)) if match else None
                    if target in info.associations and names[at] not in definitions.by_name:
                        associated[at] = target
            if len(row) != len(header):
                yield Quarantined(
                    None, f"{where}: {len(row)} cells, header has {len(header)}", {"row": row}
                )
                continue
            built = self._object(spec.cursor_field, stream, columns, associated, row, where)
            if isinstance(built, Quarantined):
                yield built
                continue
            ident = built["id"]
            own_links = links.get(ident, {})
            for at, target in associated.items():
                for other in re.split(r"[;,]\s*", row[at].strip()):
                    if other:
                        name = type_name(None, None, stream, target)
                        own_links.setdefault(target, []).append({"id": other, "type": name})
            if info.history:
                kept = history.get(ident, {})
                built["propertiesWithHistory"] = {
                    name: kept.get(name) or self._fallback_history(built, name)
                    for name in info.history
                }
            grouped = canonical_associations(
                {to_type: {"results": items} for to_type, items in own_links.items()}
            )
            if grouped:
                built["associations"] = grouped
            yield self._record(stream, spec.cursor_field, built, where)

    @staticmethod
    def _fallback_history(obj: dict[str, Any], name: str) -> list[dict[str, Any]]:
        value = obj["properties"].get(name)
        if value in (None, ""):
            return []
        return [{"value": value, "timestamp": obj["createdAt"], "sourceType": "CRM_UI"}]

    def _object(
        self,
        cursor_field: str,
        stream: str,
        columns: list[tuple[str, Callable[[str], str | None]]],
        associated: dict[int, str],
        row: list[str],
        where: str,
    ) -> dict[str, Any] | Quarantined:
        base: dict[str, str] = {}
        properties: dict[str, str | None] = {}
        try:
            for at, ((name, convert), cell) in enumerate(zip(columns, row, strict=True)):
                if at in associated:
                    continue
                if name in _BASE:
                    base[name] = cell
                else:
                    properties[name] = convert(cell)
        except CellError as error:
            return Quarantined(base.get("id") or None, f"{where}: {name}: {error}", {"row": row})
        ident = base.get("id") or str(properties.get("hs_object_id") or "")
        if not ident:
            return Quarantined(None, f"{where}: missing id", {"properties": properties})
        updated = base.get("updatedAt") or properties.get(cursor_field) or ""
        created = (
            base.get("createdAt")
            or properties.get("createdate")
            or properties.get("hs_createdate")
            or updated
        )
        obj: dict[str, Any] = {
            "id": ident,
            "properties": properties,
            "createdAt": created,
            "updatedAt": updated,
            "archived": base.get("archived", "").strip().lower() == "true",
        }
        if base.get("archivedAt") or (obj["archived"] and updated):
            obj["archivedAt"] = base.get("archivedAt") or updated  # archived at its last update
        return obj

    @staticmethod
    def _record(
        stream: str, cursor_field: str, obj: dict[str, Any], where: str
    ) -> Record | Quarantined:
        stamp = obj["properties"].get(cursor_field) or obj.get("updatedAt")
        try:
            modified = cell_instant(str(stamp or ""))
        except CellError:
            return Quarantined(
                obj["id"], f"{where}: unreadable {cursor_field} / updatedAt {stamp!r}", obj
            )
        deleted = obj["archived"] is True
        if deleted and obj.get("archivedAt"):
            with suppress(CellError):
                modified = max(modified, cell_instant(obj["archivedAt"]))
        return Record(obj["id"], modified, obj, deleted)

    def _owners(self) -> Iterator[Record | Quarantined]:
        item = self._extra["owners"]
        for number, header, row in self._read_csv(item):
            cells = dict(zip(header, row, strict=False))
            where = f"{item.name} row {number}"
            teams_cell = cells.get("teams", "") or ""
            if teams_cell.startswith("["):
                try:
                    teams = json.loads(teams_cell)
                except ValueError:
                    yield Quarantined(cells.get("id") or None, f"{where}: unreadable teams", cells)
                    continue
            else:
                names = [t.strip() for t in teams_cell.split(";") if t.strip()]
                teams = [{"id": t, "name": t, "primary": i == 0} for i, t in enumerate(names)]
            user_id = cells.get("userId") or ""
            owner: dict[str, Any] = {
                "id": cells.get("id") or "",
                "email": cells.get("email") or None,
                "type": cells.get("type") or "PERSON",
                "firstName": cells.get("firstName") or "",
                "lastName": cells.get("lastName") or "",
                "userId": int(user_id) if user_id.isdigit() else None,
                "userIdIncludingInactive": int(user_id) if user_id.isdigit() else None,
                "createdAt": cells.get("createdAt") or None,
                "updatedAt": cells.get("updatedAt") or None,
                "archived": (cells.get("archived") or "").lower() == "true",
                "teams": teams,
            }
            if not owner["id"]:
                yield Quarantined(None, f"{where}: owner without an id", cells)
                continue
            try:
                modified = cell_instant(str(owner["updatedAt"] or owner["createdAt"] or ""))
            except CellError:
                yield Quarantined(
                    owner["id"], f"{where}: owner without a readable updatedAt", cells
                )
                continue
            yield Record(owner["id"], modified, owner, owner["archived"])

    def _submissions(self) -> Iterator[Record | Quarantined]:
        """`form_submissions.csv` (`conversionId, formId, submittedAt, pageUrl`, then the form's
        fields) as the API connector stores submissions: shaped like the v1 API's, with the form
        and the contact of the address (`connectors.hubspot.forms.submission_record`)."""
        item = self._extra["forms"]
        try:
            raw = json.loads(item.read_text(self._encoding))
        except (ValueError, OSError) as error:
            raise ConfigError(f"{item.name}: not readable forms ({error})") from None
        raw = raw.get("results", []) if isinstance(raw, dict) else raw
        forms = {str(f["id"]): f for f in raw if isinstance(f, dict) and f.get("id")}
        contacts: dict[str, str] = {}
        for contacts_file in self._objects.get("contacts", []):
            for built in self._object_rows("contacts", contacts_file, {}, {}):
                if isinstance(built, Record) and not built.deleted:
                    email = built.payload["properties"].get("email")
                    if email:
                        contacts[str(email).strip().lower()] = built.external_id
        submissions = self._extra["form_submissions"]
        for number, header, row in self._read_csv(submissions):
            where = f"{submissions.name} row {number}"
            if header[:4] != ["conversionId", "formId", "submittedAt", "pageUrl"]:
                raise ConfigError(
                    f"{submissions.name}: the header must start with conversionId, formId, "
                    "submittedAt, pageUrl"
                )
            if len(row) != len(header):
                yield Quarantined(
                    None, f"{where}: {len(row)} cells, header has {len(header)}", {"row": row}
                )
                continue
            form = forms.get(row[1]) or {"id": row[1], "name": None}
            try:
                submitted = int(cell_instant(row[2]).timestamp() * 1000)
            except CellError as error:
                yield Quarantined(row[0] or None, f"{where}: submittedAt {error}", {"row": row})
                continue
            values = [
                {"name": name, "value": value}
                for name, value in zip(header[4:], row[4:], strict=True)
                if value
            ]
            submission = {
                "conversionId": row[0],
                "submittedAt": submitted,
                "values": values,
                "pageUrl": row[3],
            }
            yield submission_record(form, submission, contacts)

    def _pipelines(self) -> Iterator[Record | Quarantined]:
        item = self._extra["pipelines"]
        try:
            raw = json.loads(item.read_text(self._encoding))
        except (ValueError, OSError) as error:
            raise ConfigError(f"{item.name}: not readable ({error})") from None
        pipelines = raw.get("results", []) if isinstance(raw, dict) else raw
        if not isinstance(pipelines, list):
            raise ConfigError(f"{item.name}: expected a list of pipelines")
        for number, pipeline in enumerate(pipelines, start=1):
            where = f"{item.name} pipeline {number}"
            if not isinstance(pipeline, dict) or not pipeline.get("id"):
                yield Quarantined(None, f"{where}: pipeline without an id", None)
                continue
            stages = pipeline.get("stages")
            stamps = [pipeline.get("updatedAt"), pipeline.get("createdAt")]
            stamps += [s.get("updatedAt") for s in stages or [] if isinstance(s, dict)]
            moments = []
            for stamp in stamps:
                try:
                    moments.append(cell_instant(str(stamp or "")))
                except CellError:
                    continue
            if not moments:
                yield Quarantined(str(pipeline["id"]), f"{where}: no timestamp", pipeline)
                continue
            yield Record(
                str(pipeline["id"]), max(moments), pipeline, pipeline.get("archived") is True
            )
