"""The view as it stood at a past instant: what an export cut at that instant answers.

A snapshot keeps every opportunity as the CRM has it now. Cut at a past instant t
(`DealColumns.as_of`: rows created later dropped, milestones reached later unknown, deals
closed later open), most of it is what an export taken at t holds. The rest is read from
what the raw layer and the events keep of the past (`PastFacts`):

- amount, stage probability and close date as the CRM's field history had them at t
  (Salesforce `OpportunityHistory`; HubSpot deals' stage, amount and close date read with
  their history, the stage's probability from its pipeline), and open or closed as that
  history had the deal at t: a deal reopened since is closed at t (since its close date, or
  its last stage change), one closed since is open;
- a milestone counts only on evidence the CRM held by t: not on a record logged after t (a
  call logged late, dated the day it happened), nor on one written before the action that
  became evidence by a change after t (a meeting booked ahead and marked held after t). Older
  versions are not kept: a record written after the action is read as it is now (a later
  edit is taken not to change what it proves), and one changed to become evidence is taken
  to have changed last then;
- an event a deletion after t moved to its opportunity (the duplicate deleted, the deal it
  duplicated took the email over: `attributed_from`) is not there yet;
- the last customer action is the latest event by t.

What stays as it is now, and every answer at a past instant says so (`NOT_REPLAYED`): the
owner and team of a deal, its name, and the ruleset (the active version's processes and rules
read the records of then);
- an opportunity deleted in the CRM after t (its raw record's `modified_at` when deleted) is
  there at t with its process and the milestones it reached by t, attributed as the CRM held
  the opportunities when the customer acted (`mappings.engine`); the view of today leaves it
  out (its row has no process there).

Where the raw layer holds no field history for a deal (a CRM that keeps none, a record synced
before its history was read), amounts, stage probabilities and close dates are today's.

The model is refitted on the cut and everything derived at t, so funnel, stalled, forecast and
the rest answer from what was known then and nothing later.

    facts = PastFacts.load(database, snapshot, moment)
    past = snapshot_at(snapshot, moment, facts)
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from app.core.database import Database
from app.kpis.columns import Ints, epoch, fit_model_columns
from app.kpis.derived import derive
from app.kpis.forecast import PipelineDeal
from app.kpis.history import DealHistory
from app.models import MilestoneEvent, Opportunity, OpportunityState, RawRecord
from app.models.base import utcnow
from app.services.kpis.halflives import fitted_with, process_half_lives, snapshot_deals
from app.services.kpis.snapshot import Snapshot
from app.services.state.clock import as_utc
from connectors.hubspot.streams import DEAL_HISTORY
from crm import parse_instant
from mappings.links import ENTITY_STREAMS

__all__ = ["NOT_REPLAYED", "FieldHistory", "PastFacts", "attributed_by", "snapshot_at"]

NOT_REPLAYED = (
    "At a past as_of the answer is what an export taken then holds: deals, milestones "
    "(on evidence the CRM held by then), outcomes, amounts, stage probabilities and close "
    "dates as they were (from the CRM's field history); the model is "
    "refitted on that; an opportunity deleted since is there as it was then. Owners, teams "
    "and names are today's."
)
_CREATED = ("CreatedDate", "createdAt")
"""Where a record says when it was created (logged): Salesforce, HubSpot."""


def _instant(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_instant(text)
    except ValueError:
        return None


def _day(text: Any) -> date | None:
    moment = _instant(text)
    return moment.date() if moment is not None else None


def _number(value: Any) -> float | None:
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


_HISTORY_STREAMS = ("OpportunityHistory", "OpportunityStage", "pipelines")
"""Where the raw layer keeps field history and stage definitions (Salesforce, HubSpot); HubSpot
deals carry their own history (`propertiesWithHistory`)."""


def _salesforce_entry(payload: dict[str, Any]) -> tuple[datetime, FieldValues] | None:
    """One `OpportunityHistory` row: the opportunity's fields from its `CreatedDate` on."""
    at = _instant(payload.get("CreatedDate"))
    if at is None:
        return None
    values = PipelineDeal(
        float(payload.get("Amount") or 0),
        float(payload.get("Probability") or 0),
        _day(payload.get("CloseDate")),
    )
    stage = payload.get("StageName")
    return at, FieldValues(values, stage if isinstance(stage, str) else None)


@dataclass(frozen=True, slots=True)
class FieldValues:
    """An opportunity's rep-kept fields from one change on; `closed_at` where the CRM dates a
    close by a field (HubSpot's close date), else None (the stage change dates it)."""

    pipeline: PipelineDeal
    stage: str | None
    closed_at: datetime | None = None


class FieldHistory:
    """Amount, probability, close date and stage of each opportunity over time, from the CRM's
    own field history in the raw layer (Salesforce `OpportunityHistory`, HubSpot deals'
    `propertiesWithHistory`); `stages` tells which stages are closed, and won."""

    def __init__(self) -> None:
        self.times: dict[int, list[datetime]] = {}
        self.values: dict[int, list[FieldValues]] = {}
        self.stages: dict[str, tuple[bool, bool]] = {}
        self.probability: dict[str, float] = {}
        """HubSpot stage id -> its win probability in percent (the pipeline's metadata)."""

    @classmethod
    def load(cls, database: Database) -> FieldHistory:
        with database.session() as session:
            return cls.read(session)

    @classmethod
    def read(cls, session: Session) -> FieldHistory:
        history = cls()
        ids = {
            (row[0], row[1]): row[2]
            for row in session.execute(
                select(Opportunity.connection_id, Opportunity.external_id, Opportunity.id)
            )
        }
        rows = session.execute(
            select(RawRecord.connection_id, RawRecord.stream, RawRecord.payload).where(
                RawRecord.stream.in_(_HISTORY_STREAMS), RawRecord.deleted.is_(False)
            )
        )
        entries: dict[int, list[tuple[datetime, FieldValues]]] = {}
        for connection_id, stream, payload in rows:
            if not isinstance(payload, dict):
                continue
            if stream == "OpportunityStage":
                history._salesforce_stage(payload)
            elif stream == "pipelines":
                history._hubspot_pipeline(payload)
            else:
                key = ids.get((connection_id, str(payload.get("OpportunityId") or "")))
                entry = _salesforce_entry(payload)
                if key is not None and entry is not None:
                    entries.setdefault(key, []).append(entry)
        # after the pipelines, whose stages give each HubSpot stage its probability; of a
        # deal, only the history it was read with
        deals = session.execute(
            select(
                RawRecord.connection_id,
                RawRecord.external_id,
                RawRecord.payload["propertiesWithHistory"],
            ).where(RawRecord.stream == "deals", RawRecord.deleted.is_(False))
        )
        for connection_id, external_id, kept in deals:
            key = ids.get((connection_id, external_id))
            if key is not None and isinstance(kept, dict):
                entries[key] = history._hubspot_entries(kept)
        for key, found in entries.items():
            if not found:
                continue
            found.sort(key=lambda item: item[0])
            history.times[key] = [t for t, _ in found]
            history.values[key] = [v for _, v in found]
        return history

    def _salesforce_stage(self, payload: dict[str, Any]) -> None:
        closed, won = _true(payload.get("IsClosed")), _true(payload.get("IsWon"))
        for name in ("MasterLabel", "ApiName"):
            if isinstance(payload.get(name), str):
                self.stages[payload[name]] = (closed, won)

    def _hubspot_pipeline(self, payload: dict[str, Any]) -> None:
        """A deal pipeline's stages: closed when the metadata says so, won at probability 1."""
        stages = payload.get("stages")
        for stage in stages if isinstance(stages, list) else ():
            metadata = stage.get("metadata") if isinstance(stage, dict) else None
            if not isinstance(metadata, dict) or not isinstance(stage.get("id"), str):
                continue
            probability = _number(metadata.get("probability"))
            closed = _true(metadata.get("isClosed"))
            self.stages[stage["id"]] = (closed, closed and probability == 1.0)
            if probability is not None:
                self.probability[stage["id"]] = probability * 100

    def _hubspot_entries(self, kept: dict[str, Any]) -> list[tuple[datetime, FieldValues]]:
        """A deal's values after each change of its stage, amount or close date."""
        changes: list[tuple[datetime, str, Any]] = []
        for name in DEAL_HISTORY:
            versions = kept.get(name)
            for version in versions if isinstance(versions, list) else ():
                at = _instant(version.get("timestamp")) if isinstance(version, dict) else None
                if at is not None:
                    changes.append((at, name, version.get("value")))
        changes.sort(key=lambda change: change[0])
        current: dict[str, Any] = {}
        entries: list[tuple[datetime, FieldValues]] = []
        for i, (at, name, value) in enumerate(changes):
            current[name] = value
            if i + 1 < len(changes) and changes[i + 1][0] == at:
                continue  # one edit that changed several fields: one entry
            stage = current.get("dealstage")
            stage = stage if isinstance(stage, str) and stage else None
            close = _instant(current.get("closedate"))
            values = PipelineDeal(
                _number(current.get("amount")) or 0.0,
                self.probability.get(stage or "", float("nan")),
                close.date() if close is not None else None,
            )
            entries.append((at, FieldValues(values, stage, close)))
        return entries

    def __len__(self) -> int:
        return len(self.times)

    def at(self, deal: DealHistory, moment: datetime) -> PipelineDeal | None:
        """The deal's amount, probability and close date at `moment` (None: no history)."""
        found = self.values_at(deal.key, moment)
        return found.pipeline if found is not None else None

    def values_at(self, key: int, moment: datetime) -> FieldValues | None:
        times = self.times.get(key)
        if not times:
            return None
        i = bisect_right(times, moment) - 1
        return self.values[key][i] if i >= 0 else None

    def closed_at(self, key: int, moment: datetime) -> tuple[bool, datetime | None] | None:
        """What the history says of the deal's outcome at `moment`: (won, since when) when
        closed, (False, None) when open, None when it cannot tell (no history by then, or a
        stage it does not know). Since when: the close date field where the CRM keeps one,
        else the stage's first change to its closed stage."""
        times = self.times.get(key)
        if not times:
            return None
        i = bisect_right(times, moment) - 1
        if i < 0:
            return None
        values = self.values[key]
        stage = values[i].stage
        if stage not in self.stages:
            return None
        closed, won = self.stages[stage]
        if not closed:
            return False, None
        if values[i].closed_at is not None:
            return won, values[i].closed_at
        while i > 0 and values[i - 1].stage == stage:
            i -= 1
        return won, times[i]


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


@dataclass
class PastFacts:
    """What the database keeps of the past that a cut of the columns cannot tell."""

    fields: FieldHistory = field(default_factory=FieldHistory)
    reached: dict[int, dict[int, float]] = field(default_factory=dict)
    """Opportunity -> position -> first time reached, on evidence held by the instant, for
    the opportunities with evidence changed after it (the others' cut reach is exact)."""
    last_action: dict[int, float] = field(default_factory=dict)
    """Opportunity -> its latest customer action by the instant."""
    revived: dict[int, int] = field(default_factory=dict)
    """Opportunity deleted after the instant -> its process (the view of today has none)."""

    @classmethod
    def load(
        cls,
        database: Database,
        base: Snapshot,
        moment: datetime,
        fields: FieldHistory | None = None,
    ) -> PastFacts:
        """The facts at `moment`; `fields`, when given, is the field history read already
        (it does not depend on the instant)."""
        with database.session() as session:
            revived = _deleted_after(session, base, moment)
            process_of = {**_process_of(base), **revived}
            reached, last = _reached(session, base, moment, process_of)
            return cls(
                fields=fields if fields is not None else FieldHistory.read(session),
                reached=reached,
                last_action={**_last_actions(session, base, moment, process_of), **last},
                revived=revived,
            )


def _deleted_after(session: Session, base: Snapshot, moment: datetime) -> dict[int, int]:
    """The opportunities deleted in the CRM after `moment` that have a process in the
    snapshot's versions, with it."""
    state = OpportunityState
    streams = {names["opportunity"] for names in ENTITY_STREAMS.values()}
    rows = session.execute(
        select(state.opportunity_id, state.process_id)
        .join(Opportunity, Opportunity.id == state.opportunity_id)
        .join(
            RawRecord,
            and_(
                RawRecord.connection_id == Opportunity.connection_id,
                RawRecord.stream.in_(streams),
                RawRecord.external_id == Opportunity.external_id,
            ),
        )
        .where(
            state.deleted.is_(True),
            state.process_id.is_not(None),
            state.ruleset_version_id.in_(set(base.versions.values())),
            RawRecord.deleted.is_(True),
            RawRecord.modified_at > moment,
        )
    )
    return {opportunity: process for opportunity, process in rows if process in base.processes}


def _positions(base: Snapshot) -> dict[int, tuple[int, int]]:
    """Milestone id -> (process, position) in the snapshot's version."""
    return {
        m.id: (process.id, m.position)
        for process in base.processes.values()
        for m in process.milestones
    }


def _process_of(base: Snapshot) -> dict[int, int]:
    cols = base.columns
    return dict(zip(cols.key.tolist(), cols.process.tolist(), strict=True))


def _created(payload: Any) -> datetime | None:
    if not isinstance(payload, dict):
        return None
    return next((at for name in _CREATED if (at := _instant(payload.get(name)))), None)


def _known(occurred_at: datetime, modified_at: datetime, payload: Any, moment: datetime) -> bool:
    """Whether the evidence of an event that occurred by `moment` was held by then. A record
    written after the action proves it from its creation; one written before it (a meeting
    booked ahead) became evidence by a later change, taken to be its last one."""
    if modified_at <= moment:
        return True
    created = _created(payload)
    return created is not None and occurred_at <= created <= moment


def attributed_by(moment: datetime) -> ColumnElement[bool]:
    """Events an export taken at `moment` attributes as they are now: every one but those a
    deletion after it moved to their opportunity (`MilestoneEvent.attributed_from`)."""
    return or_(MilestoneEvent.attributed_from.is_(None), MilestoneEvent.attributed_from <= moment)


def _reached(
    session: Session, base: Snapshot, moment: datetime, process_of: dict[int, int]
) -> tuple[dict[int, dict[int, float]], dict[int, float]]:
    """First reach and last action by `moment` of the opportunities with an event by then
    whose evidence changed after it, from the events whose evidence was held by then."""
    event = MilestoneEvent
    evidence = and_(
        RawRecord.connection_id == event.evidence_connection_id,
        RawRecord.stream == event.evidence_stream,
        RawRecord.external_id == event.evidence_external_id,
    )
    versions = set(base.versions.values())
    changed = sorted(
        set(
            session.scalars(
                select(event.opportunity_id)
                .join(RawRecord, evidence)
                .where(
                    event.ruleset_version_id.in_(versions),
                    event.occurred_at <= moment,
                    RawRecord.modified_at > moment,
                )
                .distinct()
            )
        )
        | set(
            session.scalars(
                select(event.opportunity_id)
                .where(
                    event.ruleset_version_id.in_(versions),
                    event.occurred_at <= moment,
                    event.attributed_from > moment,
                )
                .distinct()
            )
        )
    )
    positions = _positions(base)
    reached: dict[int, dict[int, float]] = {opportunity: {} for opportunity in changed}
    last: dict[int, float] = {}
    for start in range(0, len(changed), 500):
        rows = session.execute(
            select(
                event.opportunity_id,
                event.milestone_id,
                event.occurred_at,
                RawRecord.modified_at,
                RawRecord.payload,
            )
            .join(RawRecord, evidence)
            .where(
                event.ruleset_version_id.in_(versions),
                event.opportunity_id.in_(changed[start : start + 500]),
                event.occurred_at <= moment,
                attributed_by(moment),
            )
        )
        for opportunity, milestone, occurred_at, modified_at, payload in rows:
            found = positions.get(milestone)
            occurred = as_utc(occurred_at)
            if found is None or found[0] != process_of.get(opportunity, -1):
                continue
            if not _known(occurred, as_utc(modified_at), payload, moment):
                continue
            at = epoch(occurred)
            first = reached[opportunity]
            if found[1] not in first or at < first[found[1]]:
                first[found[1]] = at
            last[opportunity] = max(at, last.get(opportunity, at))
    return reached, last


def _last_actions(
    session: Session, base: Snapshot, moment: datetime, process_of: dict[int, int]
) -> dict[int, float]:
    """Each opportunity's latest event by `moment` (any milestone of its process)."""
    positions = _positions(base)
    rows = session.execute(
        select(
            MilestoneEvent.opportunity_id,
            MilestoneEvent.milestone_id,
            func.max(MilestoneEvent.occurred_at),
        )
        .where(
            MilestoneEvent.ruleset_version_id.in_(set(base.versions.values())),
            MilestoneEvent.occurred_at <= moment,
            attributed_by(moment),
        )
        .group_by(MilestoneEvent.opportunity_id, MilestoneEvent.milestone_id)
    )
    last: dict[int, float] = {}
    for opportunity, milestone, occurred_at in rows:
        found = positions.get(milestone)
        if found is None or found[0] != process_of.get(opportunity, -1):
            continue
        at = epoch(as_utc(occurred_at))
        if at > last.get(opportunity, -np.inf):
            last[opportunity] = at
    return last


def snapshot_at(base: Snapshot, moment: datetime, facts: PastFacts) -> Snapshot:
    """`base` as an export cut at `moment` would have it, refitted and derived at `moment`."""
    t = epoch(moment)
    cols, rows = base.columns.as_of(t)
    keys = cols.key.tolist()
    probability = base.stage_probability[rows].copy()
    close_month = base.close_month[rows].copy()
    last_action = np.full(len(keys), np.nan)
    for i, key in enumerate(keys):
        revived = facts.revived.get(key)
        if revived is not None:
            cols.process[i] = revived
        values = facts.fields.values_at(key, moment)
        if values is not None:
            cols.amount[i] = values.pipeline.amount
            if not np.isnan(values.pipeline.probability_percent):
                probability[i] = values.pipeline.probability_percent
            day = values.pipeline.close_date
            close_month[i] = -1 if day is None else day.year * 12 + day.month - 1
        closed = facts.fields.closed_at(key, moment)
        if closed is not None:
            won, since = closed
            cols.outcome[i] = 0 if since is None else 1 if won else 2
            cols.closed[i] = np.nan if since is None else epoch(since)
        first = facts.reached.get(key)
        if first is not None:
            cols.reach[i, 1:] = np.nan
            for position, at in first.items():
                if position < cols.positions:
                    cols.reach[i, position] = at
        last_action[i] = facts.last_action.get(key, np.nan)
    model = fit_model_columns(cols, t)
    half_lives = process_half_lives(
        base.processes, lambda: snapshot_deals(cols, base.labels, last_action), moment
    )
    index: Ints = rows
    return replace(
        base,
        columns=cols,
        names=[base.names[r] for r in index.tolist()],
        external_ids=[base.external_ids[r] for r in index.tolist()],
        stage_probability=probability,
        close_month=close_month,
        last_action=last_action,
        row_of={key: i for i, key in enumerate(keys)},
        model=model,
        as_of=moment,
        derived=derive(cols, model, moment, fitted_with(half_lives)),
        half_lives=half_lives,
        loaded_at=utcnow(),
        _presorted={},
    )
