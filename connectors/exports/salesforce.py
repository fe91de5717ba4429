"""A Salesforce Data Export (or Data Loader CSVs), read as the REST API would have served it.

One `<Object>.csv` per object with API field names as headers, in a folder, a zip or several
zips (a large weekly export comes in parts; an object's rows may span them). Each row becomes
the payload a `queryAll` would return: `attributes` with the object's type and URL, then the
fields typed by the object's describe (`describe.json` in the product's export format, or a
saved `GET sobjects/<Object>/describe` as `<Object>.describe.json` / `describe/<Object>.json`);
without one, by the standard fields' types, and custom fields (`__c`) by their values.

Streams are the Salesforce connector's (Task, Event, Opportunity, …) plus any objects named in
the connection's `streams`; the rest of a full Data Export (attachments, setup objects) is left.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from itertools import chain, islice
from typing import Any

from connectors.core import ConfigError, Quarantined, Record, StreamSpec
from connectors.exports.files import ExportFile
from connectors.exports.values import CellError, cell_instant, sf_value_converter
from connectors.salesforce.streams import SALESFORCE_STREAMS

__all__ = ["SalesforceExport"]

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

API_VERSION = "59.0"
PAGE_SIZE = 2000
_OBJECT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_STAMPS = ("SystemModstamp", "LastModifiedDate", "CreatedDate")

_TYPES_BY_FIELD = {
    "boolean": "IsDeleted IsActive IsConverted IsClosed IsWon IsPrimary Incoming HasAttachment "
    "IsBounced IsAllDayEvent IsUnreadByOwner HasOptedOutOfEmail DoNotCall IsEmailBounced "
    "IsReminderSet IsPrivate IsRecurrence IsArchived IsVisibleInSelfService",
    "datetime": "CreatedDate LastModifiedDate SystemModstamp StartDateTime EndDateTime "
    "ActivityDateTime MessageDate CompletedDateTime LastStageChangeDate EmailBouncedDate "
    "LastViewedDate LastReferencedDate LastLoginDate ReminderDateTime",
    "date": "ActivityDate CloseDate ConvertedDate Birthdate LastActivityDate",
    "int": "NumberOfEmployees CallDurationInSeconds DurationInMinutes SortOrder",
    "currency": "Amount ExpectedRevenue AnnualRevenue TotalOpportunityQuantity",
    "percent": "Probability DefaultProbability",
}
_STANDARD = {name: sf_type for sf_type, names in _TYPES_BY_FIELD.items() for name in names.split()}
_TRUE_FALSE = {"true", "false"}
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


def _inferred(name: str, sample: Sequence[str]) -> str:
    """A type for a column no describe covers, from up to 500 of its values."""
    values = [v for v in sample if v]
    if not values:
        return "string"
    if all(v.lower() in _TRUE_FALSE for v in values):
        return "boolean"
    if all(_INSTANT.match(v) for v in values):
        return "datetime"
    if all(_DAY.match(v) for v in values):
        return "date"
    if name.endswith("__c") and all(_DECIMAL.match(v) for v in values):
        return "double"
    return "string"


class SalesforceExport:
    """The objects of one Salesforce export and their rows as REST-shaped records."""

    def __init__(
        self, files: Sequence[ExportFile], *, encoding: str, streams: Sequence[str] | None = None
    ) -> None:
        self._encoding = encoding
        self._csv: dict[str, list[ExportFile]] = {}
        self._describe_files: list[ExportFile] = []
        for item in files:
            if item.suffix == ".csv" and _OBJECT_NAME.match(item.stem):
                self._csv.setdefault(item.stem, []).append(item)
            elif item.suffix == ".json" and "describe" in item.name.lower():
                self._describe_files.append(item)
        known = [spec.name for spec in SALESFORCE_STREAMS]
        wanted = list(streams) if streams else [name for name in known if name in self._csv]
        missing = [name for name in wanted if name not in self._csv]
        if streams and missing:
            raise ConfigError(
                f"the Salesforce export has no file for {', '.join(missing)}; it has: "
                f"{', '.join(sorted(self._csv)) or 'no object CSVs'}"
            )
        if not wanted:
            raise ConfigError(
                "no Salesforce object files in the export (expected <Object>.csv files such as "
                "Task.csv or Opportunity.csv)"
            )
        self.streams = wanted
        self._describe: dict[str, dict[str, str]] | None = None

    def specs(self) -> list[StreamSpec]:
        return [
            StreamSpec(name, name, "SystemModstamp", "Id", page_size=PAGE_SIZE)
            for name in self.streams
        ]

    def fingerprint(self, stream: str) -> str:
        return "|".join(f.fingerprint for f in self._csv[stream])

    # -- types ----------------------------------------------------------------------------------
    def _load_describe(self) -> dict[str, dict[str, str]]:
        if self._describe is not None:
            return self._describe
        types: dict[str, dict[str, str]] = {}
        for item in self._describe_files:
            try:
                raw = json.loads(item.read_text(self._encoding))
            except (ValueError, OSError) as error:
                raise ConfigError(f"{item.name}: not a readable describe ({error})") from None
            if isinstance(raw, dict) and isinstance(raw.get("fields"), list):
                name = str(raw.get("name") or item.stem.split(".")[0])
                raw = {name: raw}
            if not isinstance(raw, dict):
                continue
            for object_name, spec in raw.items():
                fields = spec.get("fields", spec) if isinstance(spec, dict) else spec
                if isinstance(fields, list):
                    fields = {str(f.get("name")): f for f in fields if isinstance(f, dict)}
                if isinstance(fields, dict):
                    types[str(object_name)] = {
                        str(name): str(field.get("type", "string"))
                        for name, field in fields.items()
                        if isinstance(field, dict)
                    }
        self._describe = types
        return types

    def _converters(
        self, stream: str, header: list[str], sample: list[list[str]]
    ) -> list[Callable[[str], Any]]:
        described = self._load_describe().get(stream, {})
        converters = []
        for at, name in enumerate(header):
            sf_type = described.get(name) or _STANDARD.get(name)
            if sf_type is None:
                sf_type = _inferred(name, [row[at] for row in sample if at < len(row)])
            converters.append(sf_value_converter(sf_type))
        return converters

    # -- rows -----------------------------------------------------------------------------------
    def rows(self, stream: str) -> Iterator[Record | Quarantined]:
        for item in self._csv[stream]:
            yield from self._file_rows(stream, item)

    def _file_rows(self, stream: str, item: ExportFile) -> Iterator[Record | Quarantined]:
        with item.open_text(self._encoding) as handle:
            reader = csv.reader(handle)
            number = 0
            try:
                header = [name.strip().lstrip("\ufeff") for name in next(reader, [])]
                if not header:
                    return
                if "Id" not in header:
                    raise ConfigError(f"{item.name}: no Id column (is this a Salesforce export?)")
                sample = list(islice(reader, 500))
                converters = self._converters(stream, header, sample)
                for number, row in enumerate(chain(sample, reader), start=1):
                    if row:
                        yield self._record(stream, item, header, converters, number, row)
            except (UnicodeDecodeError, csv.Error) as error:
                raise ConfigError(
                    f"{item.name} row {number + 1}: unreadable ({error}); check the export's "
                    "encoding (the connection's `encoding` setting)"
                ) from None

    def _record(
        self,
        stream: str,
        item: ExportFile,
        header: list[str],
        converters: list[Callable[[str], Any]],
        line: int,
        row: list[str],
    ) -> Record | Quarantined:
        raw = dict(zip(header, row, strict=False))
        external_id = raw.get("Id") or None
        where = f"{item.name} row {line}"
        if len(row) != len(header):
            reason = f"{where}: {len(row)} cells, the header has {len(header)}"
            return Quarantined(external_id, reason, {"row": row})
        if not external_id:
            return Quarantined(None, f"{where}: missing Id", dict(raw))
        payload: dict[str, Any] = {
            "attributes": {
                "type": stream,
                "url": f"/services/data/v{API_VERSION}/sobjects/{stream}/{external_id}",
            }
        }
        try:
            for name, convert, cell in zip(header, converters, row, strict=True):
                payload[name] = convert(cell)
        except CellError as error:
            return Quarantined(external_id, f"{where}: {name}: {error}", dict(raw))
        stamp = next((raw[name] for name in _STAMPS if raw.get(name)), None)
        if stamp is None:
            reason = f"{where}: no SystemModstamp, LastModifiedDate or CreatedDate"
            return Quarantined(external_id, reason, dict(raw))
        try:
            modified = cell_instant(stamp)
        except CellError as error:
            return Quarantined(external_id, f"{where}: {error}", dict(raw))
        return Record(external_id, modified, payload, payload.get("IsDeleted") is True)
