"""Reading a reader's resume state back from the JSON the database keeps for it.

Every reader keeps its own typed state between pages and runs (`SalesforceResume`,
`HubSpotResume`, `ExportResume`); the cursor carries it, and the database stores it, as JSON.
Loading is version-tolerant: keys a state does not know are ignored and a missing or
unreadable value takes its default, so a state stored by another release never stops a sync;
at worst the reader redoes a little work (describes again, restarts a walk).

    SalesforceResume.from_json(cursor.resume).deletions_checked_at   # datetime | None
    page.resume = state.to_json()
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, Self

from crm import instant_or_none

__all__ = [
    "ResumeState",
    "stored_flag",
    "stored_int",
    "stored_mapping",
    "stored_names",
    "stored_text",
    "stored_time",
    "time_text",
]


class ResumeState(Protocol):
    """A reader's typed resume state and its JSON form."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self: ...

    def to_json(self) -> dict[str, Any]: ...


def stored_time(value: Any) -> datetime | None:
    """A moment kept as ISO 8601 text, as an aware UTC datetime; None when absent or unreadable."""
    return instant_or_none(value) if isinstance(value, str) else None


def time_text(moment: datetime | None) -> str | None:
    """How a state keeps a moment: ISO 8601 in UTC."""
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def stored_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def stored_int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def stored_flag(value: Any) -> bool:
    return value is True


def stored_names(value: Any) -> tuple[str, ...] | None:
    """A list of names; None when it is not one (so the reader asks the CRM again)."""
    if not isinstance(value, list):
        return None
    return tuple(str(name) for name in value)


def stored_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
