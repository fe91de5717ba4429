"""The incremental cursor as a typed value with its three values kept apart.

- `start_value`: frozen when a run starts (previous high-water mark minus the lookback); the
  API filter uses it, so a run's filter never moves under it.
- `last_value`: advances with every committed page; the next run starts from it.
- `signpost`: the run's start time. `last_value` never passes it, so a record that changes
  while a sync runs is read again next time rather than skipped.

    cursor = CursorState.begin(previous_last_value, lookback=timedelta(minutes=10), now=now)
    cursor.advance(max_modified_in_page)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = ["CursorState"]


@dataclass
class CursorState:
    start_value: datetime | None
    last_value: datetime | None
    signpost: datetime
    resume: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def begin(
        cls,
        previous: datetime | None,
        *,
        lookback: timedelta,
        now: datetime,
        resume: dict[str, Any] | None = None,
    ) -> CursorState:
        start = None if previous is None else previous - lookback
        return cls(start_value=start, last_value=previous, signpost=now, resume=resume or {})

    def resume_time(self, key: str) -> datetime | None:
        """A moment a reader kept in `resume` (ISO 8601, as JSON stores it); None when absent
        or unreadable."""
        value = self.resume.get(key)
        try:
            return datetime.fromisoformat(value) if isinstance(value, str) and value else None
        except ValueError:
            return None

    @property
    def is_initial(self) -> bool:
        return self.start_value is None

    def advance(self, seen: datetime | None) -> None:
        """Move the high-water mark to `seen` (never backwards, never past the signpost)."""
        if seen is None:
            return
        capped = min(seen, self.signpost)
        if self.last_value is None or capped > self.last_value:
            self.last_value = capped
