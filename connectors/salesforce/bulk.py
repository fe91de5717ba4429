"""Bulk API 2.0 results, reshaped into the REST API's JSON so both paths store the same payload.

Bulk CSV carries every value as text; the object's describe says what each column is, and the
rows become what a REST query would have returned for the same record: `attributes`, JSON
booleans and numbers, `null` for empty cells, datetimes as `2025-03-04T10:15:00.000+0000`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import Any

__all__ = ["bulk_rows"]

_INTEGERS = {"int", "long"}
_DECIMALS = {"double", "currency", "percent"}


def _boolean(text: str) -> bool:
    return text.lower() == "true"


def _integer(text: str) -> int:
    return int(float(text))


def _datetime(text: str) -> str:
    return f"{text[:-1]}+0000" if text.endswith("Z") else text


def _converter(field_type: str) -> Callable[[str], Any] | None:
    """How a non-empty cell of `field_type` becomes its JSON value (None: it stays text)."""
    if field_type == "boolean":
        return _boolean
    if field_type in _INTEGERS:
        return _integer
    if field_type in _DECIMALS:
        return float
    if field_type == "datetime":
        return _datetime
    return None


def bulk_rows(
    csv_rows: Iterable[list[str]], sobject: str, field_types: dict[str, str], api_version: str
) -> Generator[dict[str, Any], None, None]:
    """Each CSV row (after the first, the header) as the REST API's record JSON, fields in the
    CSV's column order; lazily, so rows stream through."""
    reader = iter(csv_rows)
    header = next(reader, None)
    if not header:
        return
    columns = [(name, _converter(field_types.get(name, "string"))) for name in header]
    url = f"/services/data/v{api_version}/sobjects/{sobject}/"
    for cells in reader:
        if not cells:
            continue
        row: dict[str, Any] = {"attributes": {"type": sobject, "url": ""}}
        for (name, convert), cell in zip(columns, cells, strict=False):
            if cell == "":
                row[name] = None
            elif convert is None:
                row[name] = cell
            else:
                row[name] = convert(cell)
        row["attributes"]["url"] = url + str(row.get("Id", ""))
        yield row
