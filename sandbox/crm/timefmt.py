"""Timestamps as each API writes them, and parsing of what clients send.

Salesforce REST JSON: ``2025-03-04T10:15:00.000+0000``; Salesforce CSV (Bulk, export files):
``2025-03-04T10:15:00.000Z``; HubSpot: ``2025-03-04T10:15:00.000Z`` or epoch milliseconds.
The Salesforce JSON form has a fixed width, so in UTC its strings sort like the instants.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

__all__ = [
    "epoch_ms",
    "from_epoch_ms",
    "hs_format",
    "parse_iso",
    "sf_csv_format",
    "sf_format",
    "sf_to_csv",
]

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 date or datetime (any offset, 'Z', '+0000' or none = UTC) to aware UTC."""
    match = _ISO.match(text.strip())
    if match is None:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    value = datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        micro,
        tzinfo=UTC,
    )
    if offset and offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        value -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return value


def _utc_millis(value: datetime, zone: str) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}{zone}"


def sf_format(value: datetime) -> str:
    """Salesforce REST JSON datetime: millisecond precision, '+0000'."""
    return _utc_millis(value, "+0000")


def sf_csv_format(value: datetime) -> str:
    return _utc_millis(value, "Z")


def sf_to_csv(stored: str) -> str:
    """'2025-03-04T10:15:00.000+0000' -> '2025-03-04T10:15:00.000Z'."""
    return stored[:-5] + "Z" if stored.endswith("+0000") else stored


def hs_format(value: datetime) -> str:
    return _utc_millis(value, "Z")


def epoch_ms(value: datetime | date) -> int:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return int(value.timestamp() * 1000)


def from_epoch_ms(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
