"""The incremental cursor as a typed value with its three values kept apart.

- `start_value`: frozen when a run starts (previous high-water mark minus the lookback); the
  API filter uses it, so a run's filter never moves under it.
- `last_value`: advances with every committed page; the next run starts from it.
- `signpost`: the run's start time. `last_value` never passes it, so a record that changes
  while a sync runs is read again next time rather than skipped.
- `resume`: where the reader stands within its stream (a paging token, a file row, when
  deletions were last read), as its typed state's JSON (see `connectors.core.resume`).

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
    """The reader's own typed state (`SalesforceResume`, `HubSpotResume`, `ExportResume`) in
    the JSON form the database stores; each reader loads it with its model's `from_json`."""

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
