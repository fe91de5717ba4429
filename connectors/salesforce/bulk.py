"""Bulk API 2.0 results, reshaped into the REST API's JSON so both paths store the same payload.

Bulk CSV carries every value as text; the object's describe says what each column is, and the
rows become what a REST query would have returned for the same record: `attributes`, JSON
booleans and numbers, `null` for empty cells, datetimes as `2025-03-04T10:15:00.000+0000`.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Any

__all__ = ["bulk_rows"]

_INTEGERS = {"int", "long"}
_DECIMALS = {"double", "currency", "percent"}


def _value(text: str, field_type: str) -> Any:
    if text == "":
        return None
    if field_type == "boolean":
        return text.lower() == "true"
    if field_type in _INTEGERS:
        return int(float(text))
    if field_type in _DECIMALS:
        return float(text)
    if field_type == "datetime" and text.endswith("Z"):
        return f"{text[:-1]}+0000"
    return text


def bulk_rows(
    csv_rows: Iterable[list[str]], sobject: str, field_types: dict[str, str], api_version: str
) -> Generator[dict[str, Any], None, None]:
    """Each CSV row (after the first, the header) as the REST API's record JSON, fields in the
    CSV's column order; lazily, so rows stream through."""
    reader = iter(csv_rows)
    header = next(reader, None)
    if not header:
        return
    types = [field_types.get(name, "string") for name in header]
    url = f"/services/data/v{api_version}/sobjects/{sobject}/"
    for cells in reader:
        if not cells:
            continue
        row: dict[str, Any] = {"attributes": {"type": sobject, "url": ""}}
        for name, field_type, cell in zip(header, types, cells, strict=False):
            row[name] = _value(cell, field_type)
        row["attributes"]["url"] = url + str(row.get("Id", ""))
        yield row
