"""The HubSpot side of the sandbox's data: objects, property history, associations, owners.

Property values are kept as HubSpot sends them (strings, or None). Objects of a type are served
in ascending numeric id order, which is what `after` cursors of the list endpoint walk.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from sandbox.crm.hubspot.schema import (
    OBJECT_TYPES,
    PropertyDef,
    catalog_properties,
    inverse_type_id,
    with_unlabeled,
)
from sandbox.crm.timefmt import epoch_ms, from_epoch_ms, hs_format, parse_iso

__all__ = [
    "Association",
    "ChangeEvent",
    "HistoryEntry",
    "HsObject",
    "HubSpotStore",
    "PropertyProblem",
    "Submission",
    "iso_ms",
]

ChangeKind = Literal["creation", "deletion", "propertyChange"]


@lru_cache(maxsize=500_000)
def iso_ms(text: str) -> int:
    """Epoch milliseconds of an ISO timestamp, or of a string of epoch milliseconds."""
    if text.isdigit():
        return int(text)
    return epoch_ms(parse_iso(text))


@dataclass(slots=True)
class HsObject:
    id: str
    properties: dict[str, str | None]
    created_at: str
    updated_at: str
    archived: bool = False
    archived_at: str | None = None


@dataclass(slots=True)
class HistoryEntry:
    value: str
    timestamp: str
    timestamp_ms: int
    source_type: str
    source_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "value": self.value,
            "timestamp": self.timestamp,
            "sourceType": self.source_type,
        }
        if self.source_id:
            body["sourceId"] = self.source_id
        return body


@dataclass(slots=True)
class Association:
    to_id: str
    type_id: int
    visible_from_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Submission:
    """One form submission as the v1 submissions API gives it (values in the form's order)."""

    conversion_id: str
    submitted_ms: int
    page_url: str
    values: tuple[tuple[str, str], ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "conversionId": self.conversion_id,
            "submittedAt": self.submitted_ms,
            "values": [{"name": name, "value": value} for name, value in self.values],
            "pageUrl": self.page_url,
        }


@dataclass
class ChangeEvent:
    object_type: str
    object_id: str
    kind: ChangeKind
    occurred_ms: int
    property_name: str | None = None
    property_value: str | None = None


@dataclass
class PropertyProblem:
    name: str
    error: str
    message: str


@dataclass
class _Pending:
    due_ms: int
    seq: int
    object_type: str
    obj: HsObject

    def key(self) -> tuple[int, int]:
        return (self.due_ms, self.seq)


class HubSpotStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.objects: dict[str, dict[str, HsObject]] = {t: {} for t in OBJECT_TYPES}
        self._order: dict[str, list[int]] = {t: [] for t in OBJECT_TYPES}
        self.properties: dict[str, dict[str, PropertyDef]] = {
            t: {p.name: p for p in catalog_properties(t)} for t in OBJECT_TYPES
        }
        self.groups: dict[str, dict[str, dict[str, Any]]] = {
            t: {
                p.group_name: {
                    "name": p.group_name,
                    "label": p.group_name.replace("information", " information").title(),
                    "displayOrder": -1,
                    "archived": False,
                }
                for p in self.properties[t].values()
            }
            for t in OBJECT_TYPES
        }
        self.history: dict[tuple[str, str], dict[str, list[HistoryEntry]]] = {}
        self.associations: dict[tuple[str, str], dict[str, dict[str, list[Association]]]] = {}
        self.owners: dict[str, dict[str, Any]] = {}
        self.future_owners: list[dict[str, Any]] = []
        self.pipelines: list[dict[str, Any]] = []
        self.forms: list[dict[str, Any]] = []
        self.submissions: dict[str, list[Submission]] = {}
        """Form guid -> its submissions; those after the clock are not served."""
        self._submissions_sorted = True
        self._pending: list[_Pending] = []
        self._pending_next = 0
        self._pending_sorted = True
        self._seq = 0
        self.listeners: list[Callable[[list[ChangeEvent]], None]] = []
        self.version = 0  # bumped by every change; search caches key on it

    # objects ----------------------------------------------------------------------------
    def ordered_ids(self, object_type: str) -> list[int]:
        return self._order[object_type]

    def get(self, object_type: str, object_id: str) -> HsObject | None:
        return self.objects[object_type].get(object_id)

    def put(
        self, object_type: str, obj: HsObject, *, now_ms: int | None = None
    ) -> list[ChangeEvent]:
        """Insert or merge a version; returns the change events it amounts to."""
        table = self.objects[object_type]
        self.version += 1
        obj.properties.setdefault("hs_object_id", obj.id)
        current = table.get(obj.id)
        stamp = now_ms if now_ms is not None else iso_ms(obj.updated_at)
        if current is None:
            table[obj.id] = obj
            bisect.insort(self._order[object_type], int(obj.id))
            return [ChangeEvent(object_type, obj.id, "creation", stamp)]
        events: list[ChangeEvent] = []
        for name, value in obj.properties.items():
            if current.properties.get(name) != value and name not in ("hs_lastmodifieddate",):
                events.append(
                    ChangeEvent(object_type, obj.id, "propertyChange", stamp, name, value)
                )
        if obj.archived and not current.archived:
            events.append(ChangeEvent(object_type, obj.id, "deletion", stamp))
        current.properties.update(obj.properties)
        current.updated_at = obj.updated_at
        current.archived = obj.archived
        current.archived_at = obj.archived_at
        return events

    def add_future(self, object_type: str, obj: HsObject) -> None:
        with self.lock:
            self._seq += 1
            self._pending.append(_Pending(iso_ms(obj.updated_at), self._seq, object_type, obj))
            self._pending_sorted = False

    def apply_due(self, now: datetime) -> int:
        limit = epoch_ms(now)
        events: list[ChangeEvent] = []
        applied = 0
        with self.lock:
            if self.future_owners:
                due = [o for o in self.future_owners if iso_ms(o["updatedAt"]) <= limit]
                for owner in due:
                    self.owners[owner["id"]] = owner
                    self.future_owners.remove(owner)
            if not self._pending_sorted:
                self._pending = sorted(self._pending[self._pending_next :], key=_Pending.key)
                self._pending_next = 0
                self._pending_sorted = True
            while self._pending_next < len(self._pending):
                item = self._pending[self._pending_next]
                if item.due_ms > limit:
                    break
                self._pending_next += 1
                events.extend(self.put(item.object_type, item.obj))
                applied += 1
        if events:
            self.emit(events)
        return applied

    @property
    def pending_count(self) -> int:
        return len(self._pending) - self._pending_next

    def emit(self, events: list[ChangeEvent]) -> None:
        for listener in self.listeners:
            listener(events)

    # properties -----------------------------------------------------------------------
    def property_def(self, object_type: str, name: str) -> PropertyDef | None:
        return self.properties[object_type].get(name)

    def check_values(self, object_type: str, values: dict[str, Any]) -> list[PropertyProblem]:
        problems = []
        for name, value in values.items():
            prop = self.property_def(object_type, name)
            if prop is None:
                message = f'Property "{name}" does not exist'
                problems.append(PropertyProblem(name, "PROPERTY_DOESNT_EXIST", message))
            elif prop.read_only:
                message = f'"{name}" is a read only property; its value cannot be set.'
                problems.append(PropertyProblem(name, "READ_ONLY_VALUE", message))
            elif value not in (None, "") and prop.options and prop.type == "enumeration":
                allowed = [o["value"] for o in prop.options]
                if str(value) not in allowed:
                    message = f"{value} was not one of the allowed options: {allowed}"
                    problems.append(PropertyProblem(name, "INVALID_OPTION", message))
            elif value not in (None, "") and prop.type == "number":
                try:
                    float(str(value))
                except ValueError:
                    message = f"{value} was not a valid number."
                    problems.append(PropertyProblem(name, "INVALID_FLOAT", message))
            elif value not in (None, "") and prop.type in ("date", "datetime"):
                try:
                    iso_ms(str(value))
                except ValueError:
                    message = f"{value} was not a valid long or ISO 8601 timestamp."
                    problems.append(PropertyProblem(name, "INVALID_DATE", message))
        return problems

    def normalise(self, object_type: str, name: str, value: Any) -> str | None:
        if value is None or value == "":
            return None
        prop = self.property_def(object_type, name)
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if prop is None:
            return text
        if prop.type == "datetime":
            return hs_format(from_epoch_ms(iso_ms(text)))
        if prop.type == "date":
            return from_epoch_ms(iso_ms(text)).date().isoformat()
        if prop.type == "bool":
            return text.lower()
        return text

    def create(self, object_type: str, values: dict[str, Any], now: datetime) -> HsObject:
        stamp = hs_format(now)
        ids = self._order[object_type]
        start = {"contacts": 1, "companies": 2, "deals": 3}.get(object_type, 9) * 10**10
        new_id = str(max(ids[-1] + 1 if ids else start, start))
        properties = {name: self.normalise(object_type, name, v) for name, v in values.items()}
        properties.update({"hs_createdate": stamp, "hs_lastmodifieddate": stamp})
        if "createdate" in self.properties[object_type]:
            properties["createdate"] = stamp
        obj = HsObject(new_id, properties, stamp, stamp)
        events = self.put(object_type, obj, now_ms=epoch_ms(now))
        history = self.history.setdefault((object_type, new_id), {})
        for name, value in properties.items():
            if value is not None:
                entry = HistoryEntry(
                    value, stamp, epoch_ms(now), "INTEGRATION", "sandbox-integration"
                )
                history.setdefault(name, []).append(entry)
        self.emit(events)
        return obj

    def archive(self, object_type: str, object_id: str, now: datetime) -> bool:
        obj = self.objects[object_type].get(object_id)
        if obj is None or obj.archived:
            return False
        self.version += 1
        stamp = hs_format(now)
        obj.archived, obj.archived_at, obj.updated_at = True, stamp, stamp
        self.emit([ChangeEvent(object_type, object_id, "deletion", epoch_ms(now))])
        return True

    def update(
        self, object_type: str, object_id: str, values: dict[str, Any], now: datetime
    ) -> HsObject:
        """Write checked values through the API: history, modification stamps, events."""
        obj = self.objects[object_type][object_id]
        self.version += 1
        stamp, stamp_ms = hs_format(now), epoch_ms(now)
        events: list[ChangeEvent] = []
        history = self.history.setdefault((object_type, object_id), {})
        for name, raw in values.items():
            value = self.normalise(object_type, name, raw)
            if obj.properties.get(name) == value:
                continue
            obj.properties[name] = value
            history.setdefault(name, []).append(
                HistoryEntry(value or "", stamp, stamp_ms, "INTEGRATION", "sandbox-integration")
            )
            events.append(
                ChangeEvent(object_type, object_id, "propertyChange", stamp_ms, name, value)
            )
        obj.properties["hs_lastmodifieddate"] = stamp
        if object_type == "contacts":
            obj.properties["lastmodifieddate"] = stamp
        obj.updated_at = stamp
        if events:
            self.emit(events)
        return obj

    # forms ------------------------------------------------------------------------------
    def add_submission(self, form_id: str, submission: Submission) -> None:
        with self.lock:
            self.submissions.setdefault(form_id, []).append(submission)
            self._submissions_sorted = False

    def submissions_of(self, form_id: str) -> list[Submission]:
        """The form's submissions, newest first (as the v1 API returns them)."""
        with self.lock:
            if not self._submissions_sorted:
                for entries in self.submissions.values():
                    entries.sort(key=lambda s: (-s.submitted_ms, s.conversion_id))
                self._submissions_sorted = True
            return self.submissions.get(form_id, [])

    # history ----------------------------------------------------------------------------
    def add_history(self, object_type: str, object_id: str, name: str, entry: HistoryEntry) -> None:
        self.history.setdefault((object_type, object_id), {}).setdefault(name, []).append(entry)

    def sort_history(self) -> None:
        for per_object in self.history.values():
            for entries in per_object.values():
                entries.sort(key=lambda e: e.timestamp_ms)

    def history_of(
        self, object_type: str, obj: HsObject, name: str, now_ms: int
    ) -> list[dict[str, Any]]:
        entries = self.history.get((object_type, obj.id), {}).get(name)
        if entries:
            return [e.as_json() for e in reversed(entries) if e.timestamp_ms <= now_ms]
        value = obj.properties.get(name)
        if value is None:
            return []
        return [{"value": value, "timestamp": obj.created_at, "sourceType": "CRM_UI"}]

    # associations -----------------------------------------------------------------------
    def associate(
        self,
        from_type: str,
        from_id: str,
        to_type: str,
        to_id: str,
        type_id: int,
        visible_from_ms: int | None = None,
    ) -> None:
        for kind in with_unlabeled(type_id):
            for a_type, a_id, b_type, b_id, t in (
                (from_type, from_id, to_type, to_id, kind),
                (to_type, to_id, from_type, from_id, inverse_type_id(kind)),
            ):
                targets = self.associations.setdefault((a_type, a_id), {}).setdefault(b_type, {})
                links = targets.setdefault(b_id, [])
                if all(link.type_id != t for link in links):
                    links.append(Association(b_id, t, visible_from_ms))

    def associated(
        self, from_type: str, from_id: str, to_type: str, now_ms: int
    ) -> dict[str, list[int]]:
        """Visible associations: both ends exist now, and any association timestamp has passed."""
        targets = self.associations.get((from_type, from_id), {}).get(to_type, {})
        out: dict[str, list[int]] = {}
        table = self.objects[to_type]
        for to_id, links in targets.items():
            if to_id not in table:
                continue
            type_ids = [
                link.type_id
                for link in links
                if link.visible_from_ms is None or link.visible_from_ms <= now_ms
            ]
            if type_ids:
                out[to_id] = type_ids
        return out

    def all_objects(self, object_type: str) -> Iterable[HsObject]:
        return self.objects[object_type].values()
