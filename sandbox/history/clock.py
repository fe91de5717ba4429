"""Time on the generator's clock: integer UTC epoch seconds, business time, CRM formats.

Every timestamp inside the generator is an `int` of seconds since 1970-01-01 UTC. Customer and
rep actions are placed in *business time*: Monday to Friday, 08:00-18:00 UTC. A gap of "3
business days" is 3 x 10 business hours, so weekends and nights never count towards a gap:

    >>> t = parse_utc("2025-03-07T17:00:00Z")             # a Friday, 17:00
    >>> format_datetime(add_business_days(t, 0.2))        # two business hours later
    '2025-03-10T09:00:00.000Z'
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

__all__ = [
    "BUSINESS_DAY",
    "CLOSE",
    "DAY",
    "OPEN",
    "add_business_days",
    "business_days_between",
    "epoch",
    "format_date",
    "format_datetime",
    "from_business",
    "month_of",
    "next_business_moment",
    "parse_utc",
    "to_business",
    "to_datetime",
    "weekday",
]

DAY = 86_400
OPEN = 8 * 3600
CLOSE = 18 * 3600
BUSINESS_DAY = CLOSE - OPEN
# 1970-01-01 was a Thursday: shifting day numbers by 3 makes `n % 7 == 0` a Monday.
_MONDAY_SHIFT = 3


def epoch(moment: datetime) -> int:
    """Whole seconds since the epoch of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the generator works in UTC only")
    return calendar.timegm(moment.astimezone(UTC).utctimetuple())


def to_datetime(t: int) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def parse_utc(text: str) -> int:
    """An ISO-8601 timestamp with a zone (or a bare date, read as midnight UTC) to epoch seconds."""
    value = text.strip()
    if len(value) == 10:
        value += "T00:00:00+00:00"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return epoch(moment)


def weekday(t: int) -> int:
    """Monday 0 ... Sunday 6."""
    return (t // DAY + _MONDAY_SHIFT) % 7


def to_business(t: int) -> int:
    """Business seconds since the epoch; a time outside business hours maps to the next opening."""
    day, second = divmod(t, DAY)
    weeks, dow = divmod(day + _MONDAY_SHIFT, 7)
    if dow >= 5:
        return (weeks * 5 + 5) * BUSINESS_DAY
    if second < OPEN:
        second = OPEN
    elif second > CLOSE:
        second = CLOSE
    return (weeks * 5 + dow) * BUSINESS_DAY + second - OPEN


def from_business(b: int) -> int:
    """The wall-clock moment of a business-seconds value (at an edge: an opening, not a closing)."""
    n, second = divmod(b, BUSINESS_DAY)
    weeks, dow = divmod(n, 5)
    return (weeks * 7 + dow - _MONDAY_SHIFT) * DAY + OPEN + second


def next_business_moment(t: int) -> int:
    """`t` itself in business hours, else the next opening."""
    return from_business(to_business(t))


def add_business_days(t: int, days: float) -> int:
    return from_business(to_business(t) + int(days * BUSINESS_DAY))


def business_days_between(a: int, b: int) -> float:
    return (to_business(b) - to_business(a)) / BUSINESS_DAY


def month_of(t: int) -> int:
    """1..12."""
    return to_datetime(t).month


_DAYS: dict[int, str] = {}
_TIMES: dict[int, str] = {}


def _day_text(day: int) -> str:
    text = _DAYS.get(day)
    if text is None:
        text = (date(1970, 1, 1) + timedelta(days=day)).isoformat()
        _DAYS[day] = text
    return text


_RECENT: dict[int, str] = {}
_RECENT_MAX = 65_536


def format_datetime(t: int) -> str:
    """'2025-03-04T10:15:00.000Z', the way both CRMs' APIs write instants."""
    text = _RECENT.get(t)
    if text is not None:
        return text
    if len(_RECENT) >= _RECENT_MAX:
        _RECENT.clear()  # a story's records share their instants; older ones rarely recur
    day, second = divmod(t, DAY)
    time_text = _TIMES.get(second)
    if time_text is None:
        hours, rest = divmod(second, 3600)
        time_text = _TIMES[second] = f"T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}.000Z"
    text = _RECENT[t] = _day_text(day) + time_text
    return text


def format_date(t: int) -> str:
    """'2025-03-04': the UTC calendar day of `t`."""
    return _day_text(t // DAY)
