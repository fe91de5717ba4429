"""What the HubSpot reader keeps between pages and runs, typed, with its stored JSON form.

    {"swept_at": "...", "archived_at": "...",
     "described": {"for": [...], "names": [...]},
     "walk": {"archived": false, "after": "2400", "mark": "...", "seen": "..."},
     "tail": {"after": "300"}}

`walk` is a list walk under way (resumed at its paging token), `tail` a walk of the archived
list under way; neither is kept once it ends.
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
    stored_text,
    stored_time,
    time_text,
)

__all__ = ["ArchivedTail", "DescribedProperties", "HubSpotResume", "ListWalk"]


@dataclass(frozen=True, slots=True)
class DescribedProperties:
    """The properties as last described, so an incremental run spends no call on them."""

    wanted: tuple[str, ...]
    """What they were described for (the stream's properties, `-name` for excluded ones)."""
    names: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DescribedProperties | None:
        wanted, names = stored_names(data.get("for")), stored_names(data.get("names"))
        return cls(wanted, names) if wanted is not None and names is not None else None

    def to_json(self) -> dict[str, Any]:
        return {"for": list(self.wanted), "names": list(self.names)}


@dataclass(frozen=True, slots=True)
class ListWalk:
    """A walk of the list (then of the archived list) ordered by id, resumable at `after`."""

    archived: bool = False
    after: str | None = None
    mark: datetime | None = None
    """The newest modification when the walk began: the high-water mark it ends at."""
    seen: datetime | None = None
    """The newest modification read so far (the mark when the portal had none)."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ListWalk:
        return cls(
            archived=stored_flag(data.get("archived")),
            after=stored_text(data.get("after")),
            mark=stored_time(data.get("mark")),
            seen=stored_time(data.get("seen")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "archived": self.archived,
            "after": self.after,
            "mark": time_text(self.mark),
            "seen": time_text(self.seen),
        }


@dataclass(frozen=True, slots=True)
class ArchivedTail:
    """A walk of the archived list between sweeps, resumable at `after`."""

    after: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ArchivedTail:
        return cls(after=stored_text(data.get("after")))

    def to_json(self) -> dict[str, Any]:
        return {"after": self.after}


@dataclass(frozen=True, slots=True)
class HubSpotResume:
    swept_at: datetime | None = None
    """When the last complete list walk ended (associations are re-read every sweep)."""
    archived_at: datetime | None = None
    """When the archived list was last read to its end."""
    described: DescribedProperties | None = None
    walk: ListWalk | None = None
    tail: ArchivedTail | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HubSpotResume:
        described = stored_mapping(data.get("described"))
        walk, tail = data.get("walk"), data.get("tail")
        return cls(
            swept_at=stored_time(data.get("swept_at")),
            archived_at=stored_time(data.get("archived_at")),
            described=DescribedProperties.from_json(described) if described else None,
            walk=ListWalk.from_json(walk) if isinstance(walk, Mapping) else None,
            tail=ArchivedTail.from_json(tail) if isinstance(tail, Mapping) else None,
        )

    def kept(self) -> HubSpotResume:
        """What outlives a walk: the times of the last sweep and deletions read, the properties."""
        return HubSpotResume(self.swept_at, self.archived_at, self.described)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.swept_at is not None:
            data["swept_at"] = time_text(self.swept_at)
        if self.archived_at is not None:
            data["archived_at"] = time_text(self.archived_at)
        if self.described is not None:
            data["described"] = self.described.to_json()
        if self.walk is not None:
            data["walk"] = self.walk.to_json()
        if self.tail is not None:
            data["tail"] = self.tail.to_json()
        return data
