"""Reading CRM values: instants in every format the two APIs use, booleans and numbers as text.

>>> to_datetime("2025-03-04T10:15:00.000+0000").isoformat()
'2025-03-04T10:15:00+00:00'
>>> to_datetime("1741083300000").isoformat()          # HubSpot epoch milliseconds
'2025-03-04T10:15:00+00:00'
>>> to_datetime("2025-03-04").isoformat()             # a date is midnight UTC
'2025-03-04T00:00:00+00:00'
"""

from __future__ import annotations

from typing import Any

from crm import instant_or_none

__all__ = ["as_text", "to_bool", "to_datetime", "to_number"]


to_datetime = instant_or_none
"""A value as an aware UTC datetime; None when it is empty or not an instant, since a rule's
condition on such a value is simply not met."""


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
