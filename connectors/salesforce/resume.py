"""What the Salesforce reader keeps between pages and runs, typed, with its stored JSON form.

{"deletions_checked_at": "2026-03-01T12:00:00+00:00",
 "describe": {"fields": [...], "wanted": [...], "described_at": "2026-03-01T11:00:00+00:00"},
 "bulk": true}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.core.resume import (
    stored_flag,
    stored_mapping,
    stored_names,
    stored_time,
    time_text,
)

__all__ = ["DescribedFields", "SalesforceResume"]


@dataclass(frozen=True, slots=True)
class DescribedFields:
    """The fields the org was found to have: every declared one when a query naming them all
    was answered, else those a describe listed. An incremental run queries these."""

    fields: tuple[str, ...]
    wanted: tuple[str, ...]
    """The stream's field list they were found for; another list is queried whole again."""
    described_at: datetime
    """When: fields found missing are asked for again a day later."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DescribedFields | None:
        fields, wanted = stored_names(data.get("fields")), stored_names(data.get("wanted"))
        described_at = stored_time(data.get("described_at"))
        if fields is None or wanted is None or described_at is None:
            return None
        return cls(fields, wanted, described_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "fields": list(self.fields),
            "wanted": list(self.wanted),
            "described_at": time_text(self.described_at),
        }


@dataclass(frozen=True, slots=True)
class SalesforceResume:
    deletions_checked_at: datetime | None = None
    """Up to when deletions are known (a complete load, or the last deleted-records feed
    read). The next feed starts there, not at the newest record's time: a stream whose records
    rarely change would otherwise reach back past the feed's 30 days."""
    describe: DescribedFields | None = None
    bulk: bool = False
    """The stored page came from a Bulk API load still under way (a killed one starts again:
    the cursor moves only at its end)."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SalesforceResume:
        described = stored_mapping(data.get("describe"))
        return cls(
            deletions_checked_at=stored_time(data.get("deletions_checked_at")),
            describe=DescribedFields.from_json(described) if described else None,
            bulk=stored_flag(data.get("bulk")),
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.deletions_checked_at is not None:
            data["deletions_checked_at"] = time_text(self.deletions_checked_at)
        if self.bulk:
            data["bulk"] = True
        if self.describe is not None:
            data["describe"] = self.describe.to_json()
        return data
