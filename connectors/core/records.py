"""What every connector yields: a CRM record with the three facts the raw layer keys on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["Record"]


@dataclass(frozen=True, slots=True)
class Record:
    """One CRM record as pulled. `payload` is the CRM's own JSON, stored verbatim.

    A tombstone says only that the record was deleted (a CRM's deleted-records feed); the
    stored payload is kept, so the events it caused can be found and withdrawn.
    """

    external_id: str
    modified_at: datetime
    payload: dict[str, Any]
    deleted: bool = False
    tombstone: bool = False
