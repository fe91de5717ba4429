"""Cell values of export files, turned into what the CRM's API would have sent.

Exports write everything as text: `true` or `1` for a checkbox, `2025-03-04T10:15:00.000Z` or
`2025-03-04 10:15:00` for an instant, `48500` for an amount. The REST API sends JSON booleans
and numbers and instants as `2025-03-04T10:15:00.000+0000`; HubSpot's v3 API sends every value
as a string, instants as `2025-03-04T10:15:00.000Z`. Mapping rules are written against the
API's shapes, so imported payloads take them too.

    to_sf_value("boolean", "1")       # True
    to_sf_value("datetime", "2025-03-04 10:15:00")   # "2025-03-04T10:15:00.000+0000"
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from crm import InstantError, parse_instant

__all__ = [
    "CellError",
    "cell_instant",
    "hs_datetime",
    "sf_datetime",
    "sf_value_converter",
    "to_sf_value",
]

_TRUE = {"true", "1", "yes", "y", "on", "checked"}
_FALSE = {"false", "0", "no", "n", "off", "unchecked"}


class CellError(ValueError):
    """A cell that does not hold a value of its field's type."""


def cell_instant(text: str) -> datetime:
    """An export cell's instant (any form `crm.parse_instant` reads); a cell that holds none is
    a `CellError` like any other unreadable cell."""
    try:
        return parse_instant(text)
    except InstantError as error:
        raise CellError(str(error)) from None


def sf_datetime(moment: datetime) -> str:
    """Salesforce REST form: `2025-03-04T10:15:00.000+0000`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def hs_datetime(moment: datetime) -> str:
    """HubSpot v3 form: `2025-03-04T10:15:00.000Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise CellError(f"{text!r} is not a checkbox value")


def _date(text: str) -> str:
    value = text.strip()
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        raise CellError(f"{text!r} is not a date") from None


def _number(text: str) -> float:
    try:
        return float(text.strip().replace(",", ""))
    except ValueError:
        raise CellError(f"{text!r} is not a number") from None


def _integer(text: str) -> int:
    number = _number(text)
    if not number.is_integer():
        raise CellError(f"{text!r} is not a whole number")
    return int(number)


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "boolean": _boolean,
    "datetime": lambda text: sf_datetime(cell_instant(text)),
    "date": _date,
    "int": _integer,
    "double": _number,
    "currency": _number,
    "percent": _number,
}


def sf_value_converter(sf_type: str) -> Callable[[str], Any]:
    """The converter for one describe type; empty cells are null, text stays text."""
    convert = _CONVERTERS.get(sf_type)

    def value(cell: str) -> Any:
        if cell == "":
            return None
        return convert(cell) if convert is not None else cell

    return value


def to_sf_value(sf_type: str, cell: str) -> Any:
    return sf_value_converter(sf_type)(cell)
