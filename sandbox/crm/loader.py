"""Reads a folder in the export-file format (milestone-sync-export/1) into the two stores.

DIR/manifest.json, DIR/salesforce/<Object>.csv (+ describe.json),
DIR/hubspot/<objectType>.csv, owners.csv, pipelines.json, property_history.csv, associations.csv,
forms.json, form_submissions.csv (optional),
DIR/future/salesforce/*.csv, DIR/future/hubspot/*.csv: versions the clock applies later.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sandbox.crm.hubspot.schema import OBJECT_TYPES, infer_property, resolve_object_type
from sandbox.crm.hubspot.store import HistoryEntry, HsObject, HubSpotStore, Submission, iso_ms
from sandbox.crm.ids import KEY_PREFIXES
from sandbox.crm.salesforce.schema import (
    FIELD_TYPES,
    FieldType,
    ObjectSchema,
    infer_type,
    make_field,
    standard_schema,
)
from sandbox.crm.salesforce.store import CellError, SalesforceStore, convert_cell
from sandbox.crm.timefmt import parse_iso

__all__ = ["EXPORT_FORMAT", "ExportError", "LoadedExport", "Manifest", "load_export"]

EXPORT_FORMAT = "milestone-sync-export/1"
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class ExportError(ValueError):
    """The folder is not a readable export; the message names the file and the problem."""


@dataclass
class Manifest:
    seed: int
    size: str
    now: datetime
    history_start: datetime
    future_until: datetime
    counts: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadedExport:
    manifest: Manifest
    salesforce: SalesforceStore
    hubspot: HubSpotStore


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            return [], []
        return header, [row for row in reader if row]


def _manifest(directory: Path) -> Manifest:
    path = directory / "manifest.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ExportError(f"{path}: missing (is this an export folder?)") from error
    except json.JSONDecodeError as error:
        raise ExportError(f"{path}: not JSON ({error})") from error
    if raw.get("format") != EXPORT_FORMAT:
        raise ExportError(f"{path}: format {raw.get('format')!r}, expected {EXPORT_FORMAT!r}")
    try:
        return Manifest(
            seed=int(raw.get("seed", 0)),
            size=str(raw.get("size", "")),
            now=parse_iso(raw["now"]),
            history_start=parse_iso(raw.get("history_start", raw["now"])),
            future_until=parse_iso(raw.get("future_until", raw["now"])),
            counts=dict(raw.get("counts", {})),
        )
    except (KeyError, ValueError) as error:
        raise ExportError(f"{path}: {error}") from error


def load_export(
    directory: Path | str, crms: tuple[str, ...] = ("salesforce", "hubspot")
) -> LoadedExport:
    """Load the export; `crms` leaves the other CRM empty (a large history in half the memory)."""
    root = Path(directory)
    manifest = _manifest(root)
    return LoadedExport(
        manifest,
        load_salesforce(root) if "salesforce" in crms else SalesforceStore(),
        load_hubspot(root) if "hubspot" in crms else HubSpotStore(),
    )


# Salesforce -----------------------------------------------------------------------------
def _describe(root: Path) -> dict[str, dict[str, dict[str, Any]]]:
    path = root / "salesforce" / "describe.json"
    if not path.exists():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for object_name, spec in raw.items():
        fields = spec.get("fields", spec) if isinstance(spec, dict) else spec
        if isinstance(fields, list):
            fields = {f["name"]: f for f in fields}
        out[object_name] = fields
    return out


def load_salesforce(root: Path) -> SalesforceStore:
    store = SalesforceStore()
    describe = _describe(root)
    current = {p.stem: p for p in sorted((root / "salesforce").glob("*.csv"))}
    future = {p.stem: p for p in sorted((root / "future" / "salesforce").glob("*.csv"))}
    tables: dict[str, tuple[list[str], list[list[str]], list[str], list[list[str]]]] = {}
    for object_name in sorted(set(current) | set(future)):
        header, rows = _read_csv(current[object_name]) if object_name in current else ([], [])
        f_header, f_rows = _read_csv(future[object_name]) if object_name in future else ([], [])
        tables[object_name] = (header, rows, f_header, f_rows)
        store.add_object(_schema(object_name, header, rows, f_header, f_rows, describe))
    for object_name, (header, rows, f_header, f_rows) in tables.items():
        schema = store.schemas[object_name]
        for row in _rows(current.get(object_name), schema, header, rows):
            store.put(object_name, row)
        for row in _rows(future.get(object_name), schema, f_header, f_rows):
            store.add_future(object_name, row)
    return store


def _schema(
    object_name: str,
    header: list[str],
    rows: list[list[str]],
    f_header: list[str],
    f_rows: list[list[str]],
    describe: dict[str, dict[str, dict[str, Any]]],
) -> ObjectSchema:
    catalog = standard_schema(object_name)
    prefix = KEY_PREFIXES.get(object_name)
    if prefix is None:
        first = (rows or f_rows or [[""]])[0]
        id_at = (header or f_header).index("Id") if "Id" in (header or f_header) else 0
        prefix = first[id_at][:3] if first and first[id_at] else "a0X"
    schema = ObjectSchema(object_name, prefix, custom=object_name.endswith("__c"))
    described = describe.get(object_name, {})
    names = list(dict.fromkeys(list(described) + header + f_header))
    if "Id" not in names:
        raise ExportError(f"salesforce/{object_name}.csv: no Id column")
    for name in names:
        spec = described.get(name)
        if spec and spec.get("type") in FIELD_TYPES:
            sf_type: FieldType = spec["type"]
            refs = tuple(spec.get("referenceTo") or ())
            schema.add(
                make_field(
                    object_name,
                    name,
                    sf_type,
                    refs,
                    label=spec.get("label"),
                    length=spec.get("length"),
                    relationship_name=spec.get("relationshipName"),
                )
            )
            continue
        known = catalog.field(name)
        if known is not None:
            schema.add(known)
            continue
        values = _column(name, header, rows) + _column(name, f_header, f_rows)
        sf_type = infer_type(name, values)
        refs = ()
        if sf_type == "reference":
            by_prefix = {v: k for k, v in KEY_PREFIXES.items()}
            refs = tuple(sorted({by_prefix.get(v[:3], "") for v in values if v} - {""}))
            if not refs:
                sf_type = "string"
        schema.add(make_field(object_name, name, sf_type, refs))
    return schema


def _column(name: str, header: list[str], rows: list[list[str]]) -> list[str]:
    if name not in header:
        return []
    at = header.index(name)
    return [row[at] for row in rows[:500] if at < len(row)]


def _rows(
    path: Path | None, schema: ObjectSchema, header: list[str], rows: list[list[str]]
) -> Iterator[dict[str, Any]]:
    fields = [schema.fields[name] for name in header]
    missing = [name for name in schema.fields if name not in header]
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ExportError(f"{path}:{line}: {len(row)} cells, header has {len(header)}")
        try:
            record = {
                f.name: convert_cell(f.type, cell) for f, cell in zip(fields, row, strict=True)
            }
        except CellError as error:
            raise ExportError(f"{path}:{line}: {error}") from error
        for name in missing:
            record.setdefault(name, None)
        if record.get("IsDeleted") is None:
            record["IsDeleted"] = False
        yield record


# HubSpot ------------------------------------------------------------------------------------
_BASE_COLUMNS = ("id", "createdAt", "updatedAt", "archived", "archivedAt")


def load_hubspot(root: Path) -> HubSpotStore:
    store = HubSpotStore()
    base, future = root / "hubspot", root / "future" / "hubspot"
    for object_type in OBJECT_TYPES:
        header, rows = (
            _read_csv(base / f"{object_type}.csv")
            if (base / f"{object_type}.csv").exists()
            else ([], [])
        )
        f_path = future / f"{object_type}.csv"
        f_header, f_rows = _read_csv(f_path) if f_path.exists() else ([], [])
        for name in dict.fromkeys(header + f_header):
            if name in _BASE_COLUMNS or name in store.properties[object_type]:
                continue
            values = _column(name, header, rows) + _column(name, f_header, f_rows)
            store.properties[object_type][name] = infer_property(object_type, name, values)
        for obj in _objects(base / f"{object_type}.csv", header, rows):
            store.put(object_type, obj)
        for obj in _objects(f_path, f_header, f_rows):
            store.add_future(object_type, obj)
    _owners(store, base / "owners.csv")
    _owners(store, future / "owners.csv", future=True)
    if (base / "pipelines.json").exists():
        raw = json.loads((base / "pipelines.json").read_text(encoding="utf-8"))
        store.pipelines = list(raw["results"] if isinstance(raw, dict) else raw)
    _options(store)
    if (base / "forms.json").exists():
        raw = json.loads((base / "forms.json").read_text(encoding="utf-8"))
        store.forms = list(raw["results"] if isinstance(raw, dict) else raw)
    for folder in (base, future):
        _history(store, folder / "property_history.csv")
        _associations(store, folder / "associations.csv")
        _submissions(store, folder / "form_submissions.csv")
    store.sort_history()
    return store


def _objects(path: Path, header: list[str], rows: list[list[str]]) -> Iterator[HsObject]:
    if not header:
        return
    for column in ("id", "createdAt", "updatedAt"):
        if column not in header:
            raise ExportError(f"{path}: no {column} column")
    at = {name: i for i, name in enumerate(header)}
    props = [(name, i) for i, name in enumerate(header) if name not in _BASE_COLUMNS]
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ExportError(f"{path}:{line}: {len(row)} cells, header has {len(header)}")
        archived = row[at["archived"]].lower() == "true" if "archived" in at else False
        archived_at = (
            row[at["archivedAt"]] if "archivedAt" in at and row[at["archivedAt"]] else None
        )
        updated = row[at["updatedAt"]]
        try:
            iso_ms(updated)
        except ValueError as error:
            raise ExportError(f"{path}:{line}: updatedAt {updated!r} is not a timestamp") from error
        yield HsObject(
            id=row[at["id"]],
            properties={name: (row[i] if row[i] != "" else None) for name, i in props},
            created_at=row[at["createdAt"]],
            updated_at=updated,
            archived=archived,
            archived_at=archived_at or (updated if archived else None),
        )


_SUBMISSION_COLUMNS = ("conversionId", "formId", "submittedAt", "pageUrl")


def _submissions(store: HubSpotStore, path: Path) -> None:
    """Form submissions: the form's field values are every column after the first four; the
    clock decides which are served (a submission exists from `submittedAt` on)."""
    if not path.exists():
        return
    header, rows = _read_csv(path)
    if not header:
        return
    if tuple(header[:4]) != _SUBMISSION_COLUMNS:
        raise ExportError(f"{path}: the header must start with {', '.join(_SUBMISSION_COLUMNS)}")
    fields = header[4:]
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ExportError(f"{path}:{line}: {len(row)} cells, header has {len(header)}")
        try:
            submitted = iso_ms(row[2])
        except ValueError as error:
            raise ExportError(
                f"{path}:{line}: submittedAt {row[2]!r} is not a timestamp"
            ) from error
        values = tuple((name, value) for name, value in zip(fields, row[4:], strict=True) if value)
        store.add_submission(row[1], Submission(row[0], submitted, row[3], values))


def _owners(store: HubSpotStore, path: Path, *, future: bool = False) -> None:
    if not path.exists():
        return
    header, rows = _read_csv(path)
    for row in rows:
        raw = dict(zip(header, row, strict=False))
        teams_cell = raw.get("teams", "")
        if teams_cell.startswith("["):
            teams = json.loads(teams_cell)
        else:
            names = [t for t in teams_cell.split(";") if t]
            teams = [{"id": t, "name": t, "primary": i == 0} for i, t in enumerate(names)]
        owner: dict[str, Any] = {
            "id": raw["id"],
            "email": raw.get("email") or None,
            "type": "PERSON",
            "firstName": raw.get("firstName") or "",
            "lastName": raw.get("lastName") or "",
            "userId": int(raw["userId"]) if raw.get("userId") else None,
            "userIdIncludingInactive": int(raw["userId"]) if raw.get("userId") else None,
            "createdAt": raw.get("createdAt"),
            "updatedAt": raw.get("updatedAt"),
            "archived": raw.get("archived", "false").lower() == "true",
            "teams": teams,
        }
        if future:
            store.future_owners.append(owner)
        else:
            store.owners[owner["id"]] = owner


def _options(store: HubSpotStore) -> None:
    """Enumeration options HubSpot derives: deal stages, pipelines, owners."""
    stages = [s["id"] for p in store.pipelines for s in p.get("stages", [])]
    pipelines = [p["id"] for p in store.pipelines]
    owners = list(store.owners)
    for object_type, props in store.properties.items():
        owner_prop = props.get("hubspot_owner_id")
        if owner_prop is not None and owners:
            owner_prop.options = [
                {"label": o, "value": o, "displayOrder": i, "hidden": False}
                for i, o in enumerate(owners)
            ]
        if object_type == "deals":
            for name, values in (("dealstage", stages), ("pipeline", pipelines)):
                if values and name in props:
                    props[name].options = [
                        {"label": v, "value": v, "displayOrder": i, "hidden": False}
                        for i, v in enumerate(values)
                    ]


def _history(store: HubSpotStore, path: Path) -> None:
    if not path.exists():
        return
    header, rows = _read_csv(path)
    at = {name: i for i, name in enumerate(header)}
    for line, row in enumerate(rows, start=2):
        object_type = resolve_object_type(row[at["objectType"]])
        if object_type is None:
            raise ExportError(f"{path}:{line}: unknown objectType {row[at['objectType']]!r}")
        timestamp = row[at["timestamp"]]
        entry = HistoryEntry(
            value=row[at["value"]],
            timestamp=timestamp,
            timestamp_ms=iso_ms(timestamp),
            source_type=row[at["sourceType"]] if "sourceType" in at else "CRM_UI",
            source_id=(row[at["sourceId"]] or None) if "sourceId" in at else None,
        )
        store.add_history(object_type, row[at["id"]], row[at["property"]], entry)


def _associations(store: HubSpotStore, path: Path) -> None:
    if not path.exists():
        return
    header, rows = _read_csv(path)
    at = {name: i for i, name in enumerate(header)}
    stamp_column = next((c for c in ("timestamp", "createdAt") if c in at), None)
    for line, row in enumerate(rows, start=2):
        from_type = resolve_object_type(row[at["fromType"]])
        to_type = resolve_object_type(row[at["toType"]])
        if from_type is None or to_type is None:
            raise ExportError(f"{path}:{line}: unknown object type in {row}")
        visible = iso_ms(row[at[stamp_column]]) if stamp_column and row[at[stamp_column]] else None
        store.associate(
            from_type, row[at["fromId"]], to_type, row[at["toId"]], int(row[at["typeId"]]), visible
        )
