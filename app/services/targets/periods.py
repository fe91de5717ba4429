"""A target's period: a calendar month (`2026-03`) or quarter (`2026-Q1`), in UTC.

period = Period.parse("2026-Q1")
period.start, period.end          # 2026-01-01, 2026-04-01 (exclusive)
period.label                      # "2026-Q1"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from app.core.errors import InvalidRequestError
from app.models.targets import PeriodKind

__all__ = ["Period"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date

    @classmethod
    def parse(cls, text: str) -> Period:
        """`YYYY-MM` (a month) or `YYYY-Qn` (a quarter); InvalidRequestError otherwise."""
        found = _MONTH.match(text.strip())
        if found and 1 <= int(found.group(2)) <= 12 and int(found.group(1)) >= 2000:
            return cls("month", date(int(found.group(1)), int(found.group(2)), 1))
        found = _QUARTER.match(text.strip())
        if found and int(found.group(1)) >= 2000:
            return cls("quarter", date(int(found.group(1)), 3 * int(found.group(2)) - 2, 1))
        raise InvalidRequestError(
            f"period: {text!r} is not a month (YYYY-MM, e.g. 2026-03) or a quarter "
            "(YYYY-Qn, e.g. 2026-Q1)"
        )

    @classmethod
    def containing(cls, kind: PeriodKind, moment: datetime) -> Period:
        month = moment.month if kind == "month" else 3 * ((moment.month - 1) // 3) + 1
        return cls(kind, date(moment.year, month, 1))

    @property
    def end(self) -> date:
        """The first day after the period."""
        return _add_months(self.start, 1 if self.kind == "month" else 3)

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"

    @property
    def starts_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, 1, tzinfo=UTC)

    @property
    def ends_at(self) -> datetime:
        end = self.end
        return datetime(end.year, end.month, 1, tzinfo=UTC)
