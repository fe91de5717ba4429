"""Instants as the CRMs write them, read into aware UTC datetimes.

Salesforce's REST API writes `2025-03-04T10:15:00.000+0000`, its Bulk API and HubSpot's v3 API
`2025-03-04T10:15:00.000Z`, HubSpot's search and history epoch milliseconds (as numbers or
text), exports `2025-03-04 10:15:00` or a bare date. One reader for all of them, so that a
connector's cursor, an export's import and a mapping rule never disagree about a moment.

    parse_instant("2025-03-04T10:15:00.000+0000")   # 2025-03-04 10:15:00+00:00
    parse_instant("1741083300000")                  # the same moment, HubSpot's epoch ms
    parse_instant("2025-03-04")                     # midnight UTC
    parse_instant("next week")                      # InstantError
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

__all__ = ["EPOCH_MS_FROM", "InstantError", "instant_or_none", "parse_instant"]

EPOCH_MS_FROM = 100_000_000_000
"""Epoch numbers from here on are milliseconds (1973-03-03 as milliseconds, the year 5138 as
seconds); smaller ones are seconds."""

_BASIC_DATE_DIGITS = 8  # `20250304`: a digit string this long is a date, not an epoch number


class InstantError(ValueError):
    """A value that is not a moment in any form a CRM writes."""


def parse_instant(value: str | int | float | datetime | date) -> datetime:
    """The moment `value` names, as an aware UTC datetime; values without a zone are UTC.

    Text is ISO 8601 (`Z`, `+0000` or `+00:00`; `T` or a space; a bare date is midnight) or an
    epoch number in digits; numbers are epoch milliseconds (seconds below `EPOCH_MS_FROM`).
    Anything else raises `InstantError`, which is a `ValueError`.
    """
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InstantError(f"{value!r} is not a date and time")
    if isinstance(value, int | float):
        return _from_epoch(value)
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) != _BASIC_DATE_DIGITS:
        return _from_epoch(int(text))
    if text.endswith("z"):
        text = f"{text[:-1]}Z"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InstantError(f"{value!r} is not a date and time") from None
    return _utc(moment)


def instant_or_none(value: Any) -> datetime | None:
    """`parse_instant`, for values that may hold nothing: None when `value` is empty or not a
    moment (a record's optional field, a rule's operand)."""
    if value is None or value == "":
        return None
    try:
        return parse_instant(value)
    except InstantError:
        return None


def _from_epoch(number: int | float) -> datetime:
    seconds = number / 1000 if abs(number) >= EPOCH_MS_FROM else number
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise InstantError(f"{number!r} is out of range for a date and time") from None


def _utc(moment: datetime) -> datetime:
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before the first moment UTC can hold
        raise InstantError(f"{moment.isoformat()} is out of range for a date and time") from None
