"""The filters every KPI takes: process, segment, owner, team, connection and a period.

An answer carries the filters it was computed for, printed as they are (the period's ends as
ISO 8601 instants), so `Filters` is part of every answer's shape as well as a cache key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.timestamps import IsoDateTime
from app.kpis.columns import Bools, Floats, epoch

__all__ = ["Filters"]


@dataclass(frozen=True, slots=True)
class Filters:
    process: str | None = None
    segment: str | None = None
    owner: str | None = None
    """The owner's CRM id (Salesforce user id, HubSpot owner id)."""
    team: str | None = None
    connection: str | None = None
    start: IsoDateTime | None = None
    end: IsoDateTime | None = None
    """Exclusive."""

    def key(self) -> tuple[Any, ...]:
        return (
            self.process,
            self.segment,
            self.owner,
            self.team,
            self.connection,
            self.start,
            self.end,
        )

    @property
    def periodic(self) -> bool:
        return self.start is not None or self.end is not None

    def period_mask(self, moments: Floats) -> Bools:
        inside = ~np.isnan(moments)
        if self.start is not None:
            inside &= moments >= epoch(self.start)
        if self.end is not None:
            inside &= moments < epoch(self.end)
        return inside
