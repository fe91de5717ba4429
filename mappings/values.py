"""Reading CRM values: instants in every format the two APIs use, booleans and numbers as text.

>>> to_datetime("2025-03-04T10:15:00.000+0000").isoformat()
'2025-03-04T10:15:00+00:00'
>>> to_datetime("1741083300000").isoformat()          # HubSpot epoch milliseconds
'2025-03-04T10:15:00+00:00'
>>> to_datetime("2025-03-04").isoformat()             # a date is midnight UTC
'2025-03-04T00:00:00+00:00'
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

__all__ = ["as_text", "to_bool", "to_datetime", "to_number"]

_EPOCH_MS_FROM = 100_000_000_000  # numbers above this are milliseconds (after 1973-03-03)


def to_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime, or None when the value is empty or not an instant."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= _EPOCH_MS_FROM else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.isdigit():
            return to_datetime(int(text))
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return None


def to_number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    return None


def as_text(value: Any) -> str:
    """How a value reads in text comparisons: booleans as true/false, numbers without `.0`."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
