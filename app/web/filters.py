"""The filters a page takes from its URL, so that a view can be shared by its link.

`process`, `segment`, `team`, `rep` (a CRM owner id, a name or an e-mail address),
`connection` and `period` (the last 7, 30, 90 or 365 days, compared with the same span just
before). A rep always sees their own deals: the filter is theirs, and naming another rep is
refused, as in the API.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from app.core.database import Database
from app.core.errors import ForbiddenError, InvalidRequestError, NotFoundError
from app.services.kpis.filters import Filters
from app.services.kpis.snapshot import Snapshot
from app.services.state.owners import RepRef, find_reps
from app.web.deps import Viewer

__all__ = ["DEFAULT_PERIOD", "PERIODS", "FilterChoices", "PageFilters", "page_filters"]

PERIODS = {"7d": ("last 7 days", 7), "30d": ("last 30 days", 30), "90d": ("last 90 days", 90)}
PERIODS["365d"] = ("last 365 days", 365)
DEFAULT_PERIOD = "30d"
NAMES = ("process", "segment", "team", "rep", "connection", "period")


@dataclass(frozen=True)
class PageFilters:
    process: str | None = None
    segment: str | None = None
    team: str | None = None
    rep: str | None = None
    """As given in the URL (an owner id, a name or an e-mail)."""
    owner: str | None = None
    """The rep's CRM owner id."""
    owner_name: str | None = None
    connection: str | None = None
    period: str = DEFAULT_PERIOD

    @property
    def period_label(self) -> str:
        return PERIODS[self.period][0]

    @property
    def period_days(self) -> int:
        return PERIODS[self.period][1]

    def window(self, now: datetime, back: int = 0) -> tuple[datetime, datetime]:
        """The period ending now (`back=0`), or the one `back` periods before it."""
        span = timedelta(days=self.period_days)
        end = now + timedelta(seconds=1) - back * span
        return end - span, end

    def kpi(self, now: datetime | None = None, back: int = 0) -> Filters:
        """The KPI filters; with `now`, for the period (`back` periods before the current)."""
        start, end = self.window(now, back) if now is not None else (None, None)
        return Filters(
            process=self.process,
            segment=self.segment,
            owner=self.owner,
            team=self.team,
            connection=self.connection,
            start=start,
            end=end,
        )

    def query(self, **changes: Any) -> str:
        """This view's query string, with `changes` (None drops a filter)."""
        values = {name: getattr(self, name) for name in NAMES}
        values.update(changes)
        if values.get("period") == DEFAULT_PERIOD:
            values["period"] = None
        kept = {k: v for k, v in values.items() if v not in (None, "")}
        return ("?" + urlencode(kept)) if kept else ""

    @property
    def active(self) -> bool:
        return any(getattr(self, n) for n in NAMES if n != "period")


@dataclass(frozen=True)
class FilterChoices:
    """What the filter form offers, from the KPI view."""

    processes: list[tuple[str, str]]
    segments: list[str]
    teams: list[str]
    connections: list[str]
    reps: list[tuple[str, str]]
    """(owner id, name)."""

    @classmethod
    def of(cls, snapshot: Snapshot, viewer: Viewer) -> FilterChoices:
        labels = snapshot.labels
        processes = sorted({(p.key, p.name) for p in snapshot.processes.values()})
        reps = sorted(
            {
                (external, name or external)
                for external, name in zip(labels.owner_external, labels.owner_names, strict=True)
                if external
            },
            key=lambda pair: pair[1].lower(),
        )
        return cls(
            processes=processes,
            segments=sorted(set(labels.segments)),
            teams=sorted(set(labels.teams)),
            connections=sorted({c for c in labels.connection_names if c}),
            reps=[] if viewer.is_rep else reps,
        )


def _one(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidRequestError(f"{name}: given more than once")
    value = values[0].strip() if values else ""
    return value or None


def _resolve(database: Database, who: str) -> list[RepRef]:
    with database.sessions() as session:
        return find_reps(session, who)


async def page_filters(request: Request, viewer: Viewer, database: Database) -> PageFilters:
    period = _one(request, "period") or DEFAULT_PERIOD
    if period not in PERIODS:
        raise InvalidRequestError(f"period: one of {', '.join(PERIODS)}, not {period!r}")
    found = PageFilters(
        process=_one(request, "process"),
        segment=_one(request, "segment"),
        team=_one(request, "team"),
        connection=_one(request, "connection"),
        period=period,
    )
    rep = _one(request, "rep")
    owner, owner_name = None, None
    if rep is not None:
        reps = await run_in_threadpool(_resolve, database, rep)
        if not reps:
            raise NotFoundError(f"rep: no rep has the CRM id, name or e-mail {rep!r}")
        owner, owner_name = reps[0].external_id, reps[0].name
    if viewer.is_rep:
        if owner is not None and owner != viewer.principal.owner:
            raise ForbiddenError("a rep sees only their own deals")
        owner, rep = viewer.principal.owner, None
    return replace(found, rep=rep, owner=owner, owner_name=owner_name)
