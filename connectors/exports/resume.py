"""What the export reader keeps between pages and runs, typed, with its stored JSON form.

{"file": "<fingerprint>", "row": 4000, "newest": "2025-06-30T17:00:00+00:00"}   # under way
{"imported": "<fingerprint>"}                                                   # read whole
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.core.resume import stored_int, stored_text, stored_time, time_text

__all__ = ["ExportResume"]


@dataclass(frozen=True, slots=True)
class ExportResume:
    imported: str | None = None
    """The fingerprint of the files read to their end: the same export is not read again."""
    file: str | None = None
    """The fingerprint of the files being read; `row` and `newest` hold only for these."""
    row: int = 0
    """Rows handed over so far."""
    newest: datetime | None = None
    """The newest modification among them: the high-water mark once the files end."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExportResume:
        return cls(
            imported=stored_text(data.get("imported")),
            file=stored_text(data.get("file")),
            row=max(stored_int(data.get("row")), 0),
            newest=stored_time(data.get("newest")),
        )

    def position_in(self, fingerprint: str) -> tuple[int, datetime | None]:
        """Rows already read of these files, and their newest time; (0, None) for other files."""
        return (self.row, self.newest) if self.file == fingerprint else (0, None)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.imported is not None:
            data["imported"] = self.imported
        if self.file is not None:
            data.update(file=self.file, row=self.row, newest=time_text(self.newest))
        return data
