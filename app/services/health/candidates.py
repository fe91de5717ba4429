"""Candidate milestones: customer actions in the stored records that no milestone is made of,
whose occurrence predicts winning.

Every stored record of a customer-side activity stream (`actions.STREAMS`; the catalog's
customer / seller facets, as the validator's guard reads them) is described in the ways a rule
could select it (`actions.record_actions`) and attributed to its opportunities by the engine's
own attribution. A record counts as *mapped* when an active rule makes it the evidence of a
milestone the deal had not reached before it; a record that only repeats a milestone already
reached (a later email under a catch-all "replied" rule) carries information no milestone uses.

Each description seen on enough deals is valued like a milestone (`app.kpis.value`): the win
rate of deals that showed it against comparable deals at the same milestone, as long there,
that had not shown it yet. Ranked by the lower end of the lift's 95 % interval (a big lift on
few deals does not outrank a sure one), those clear after Benjamini-Hochberg are proposed, with
sample evidence and a milestone to paste into the process's rules (validated, seller-side guard
included, against the connections' fields).

    answer = candidates(database, snapshot, Filters(process="enterprise_new_business"))
    answer.candidates[0].rule_yaml
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import yaml
from sqlalchemy import Connection as DbConnection
from sqlalchemy import select

from app.core.database import Database
from app.kpis import drift as stats
from app.kpis import value as lifts
from app.kpis.columns import epoch
from app.models import Connection, RawRecord, RulesetVersion
from app.services.health.actions import (
    KINDS,
    STREAMS,
    TEXT_FIELD,
    Action,
    customer_condition,
    record_actions,
    words,
)
from app.services.health.drift import estimate
from app.services.health.public import Candidate, CandidateEvidence, CandidatesAnswer
from app.services.health.value import outcomes
from app.services.kpis.filters import Filters
from app.services.kpis.queries import deal_mask
from app.services.kpis.snapshot import ProcessInfo, Snapshot
from app.services.mapping.index import build_index
from app.services.mapping.preview import validate_file
from app.services.mapping.preview_report import EvidenceLink, OpportunityRef
from app.services.mapping.rulesets import (
    ConnectionInfo,
    RulesetRejected,
    VersionRuntime,
    connection_info,
    version_runtime,
)
from app.services.state.active import active_versions
from mappings.attribution import attribute
from mappings.catalog import Source, deep_link, stream_info
from mappings.compiler import make_getter
from mappings.engine import Engine
from mappings.links import record_links
from mappings.model import Attribution
from mappings.resolver import EntityIndex
from mappings.values import to_datetime

__all__ = ["METHOD", "candidates", "with_candidate"]

LIMIT = 10
ACCOUNT_STREAM: dict[Source, str] = {"salesforce": "Account", "hubspot": "companies"}
SAMPLES = 3
BATCH = 5000
METHOD = (
    "Customer-side records (incoming mail, calls the customer made or took, meetings held) "
    "that no active rule makes the evidence of a milestone not reached before, described by "
    "their stream and customer-side condition plus a term of the subject, an attachment, a "
    "call outcome or a meeting type. Each description on at least "
    f"{lifts.MIN_DEALS} closed deals is valued like a milestone: win rate of the deals that "
    "showed it against comparable deals at the same milestone, as long there, that had not "
    "yet (age bands 0-7, 7-14, 14-28, 28-56, 56-112, 112+ days; closed deals only). Proposed: "
    f"a lift clear after Benjamini-Hochberg at {stats.FALSE_DISCOVERY_RATE:.0%} over every "
    "description tested, ranked by the lower end of its 95 % interval."
)


@dataclass
class _Seen:
    """One description of records, per process: when each deal first showed it."""

    action: Action
    first: dict[int, float] = field(default_factory=dict)
    samples: list[CandidateEvidence] = field(default_factory=list)
    name: str = ""


NOUN = {"EmailMessage": "Email", "emails": "Email", "Task": "Call", "calls": "Call"}
NOUN |= {"Event": "Meeting", "meetings": "Meeting"}


def _merged(group: list[_Seen]) -> _Seen:
    """Descriptions that every deal showed at the same moments describe the same records:
    one candidate whose rule tests their words as the records spell them (a phrase when they
    stand together), and their other conditions."""
    first = group[0]
    stream, base = first.action.key.split("|")[:2]
    text_field = TEXT_FIELD[stream]
    sample = " ".join(e.text for e in first.samples).lower()
    terms: list[str] = []
    when: dict[str, Any] = {}
    for entry in group:
        for name, condition in entry.action.when.items():
            if name == text_field and isinstance(condition, dict):
                terms.append(condition["contains"])
            else:
                when[name] = condition
    order = words(sample)
    terms.sort(key=lambda t: order.index(t) if t in order else len(order))
    phrase = " ".join(terms)
    extra = {k: v for k, v in when.items() if k != base.split("=")[0]}
    if terms:
        said = phrase if phrase in sample else terms[0]
        when[text_field] = {"contains": said}
        title = said.capitalize()
    elif any("attachment" in k.lower() for k in extra):
        title = f"{NOUN[stream]} with an attachment"
    else:
        title = f"{NOUN[stream]}: " + ", ".join(str(v) for v in extra.values())
    keys = "&".join(sorted(e.action.key.split("|", 2)[-1] for e in group))
    labels = "; ".join(e.action.label for e in group)
    return _Seen(Action(f"{stream}|{base}|{keys}", when, labels), first.first, first.samples, title)


class _AccountNames:
    """The name of a deal's account (cached): words of it say who acted, not what they did."""

    def __init__(self, source: Source) -> None:
        info = stream_info(source, ACCOUNT_STREAM[source])
        self._stream = ACCOUNT_STREAM[source]
        self._get = make_getter(info, ("Name" if source == "salesforce" else "name",))
        self._names: dict[str, str] = {}

    def __call__(self, index: EntityIndex, opportunity: str) -> str:
        facts = index.opportunity(opportunity)
        if facts is None or not facts.account_id:
            return ""
        account = facts.account_id
        if account not in self._names:
            record = index.record(self._stream, account)
            self._names[account] = str(self._get(record) or "") if record else ""
        return self._names[account]


def _time(info: Any, record: dict[str, Any]) -> datetime | None:
    for name in info.time_fields:
        found = to_datetime(make_getter(info, (name,))(record))
        if found is not None:
            return found
    return None


def _mapped(
    engine: Engine, stream: str, record: dict[str, Any], process: ProcessInfo, reach: np.ndarray
) -> bool:
    """Whether an active rule makes this record a milestone of `process` the deal (its
    `reach` row) had not reached before the record's time."""
    for hit in engine.matches(stream, record):
        moment = epoch(hit.occurred_at)
        for target in hit.targets:
            if target.process_key != process.key:
                continue
            for milestone in process.milestones:
                if milestone.key == target.milestone_key and milestone.position < reach.shape[0]:
                    reached = reach[milestone.position]
                    if np.isnan(reached) or reached >= moment - 1.0:
                        return True
    return False


def _active(database: Database) -> list[tuple[ConnectionInfo, VersionRuntime, str]]:
    """Each connection with an active version: the version compiled, and its source text."""
    found = []
    with database.session() as session:
        active = active_versions(session)
        for row in session.scalars(select(Connection).order_by(Connection.id)):
            connection = connection_info(session, row)
            version = session.get(RulesetVersion, active.get(row.id, -1))
            if connection.source is None or version is None:
                continue
            try:
                runtime = version_runtime(session, version.id)
            except RulesetRejected:  # a version stored without its rule text: nothing to read
                continue
            found.append((connection, runtime, version.source))
    return found


def _records(
    db: DbConnection, connection: ConnectionInfo, source: Source
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """The connection's stored records of the customer's activity streams, by id."""
    last = 0
    while True:
        batch = db.execute(
            select(RawRecord.id, RawRecord.stream, RawRecord.external_id, RawRecord.payload)
            .where(
                RawRecord.connection_id == connection.id,
                RawRecord.stream.in_(STREAMS[source]),
                RawRecord.deleted.is_(False),
                RawRecord.id > last,
            )
            .order_by(RawRecord.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        last = batch[-1][0]
        for _, stream, external_id, payload in batch:
            yield stream, external_id, payload


@dataclass
class _Scan:
    """What the scan found: descriptions by (process key, action key), records read, and the
    ruleset source text of each process."""

    snapshot: Snapshot
    rows: dict[tuple[str | None, str], int]
    seen: dict[tuple[str, str], _Seen] = field(default_factory=dict)
    scanned: int = 0
    sources: dict[str, str] = field(default_factory=dict)

    def record(
        self,
        connection: ConnectionInfo,
        engine: Engine,
        names: _AccountNames,
        stream: str,
        external_id: str,
        payload: dict[str, Any],
    ) -> None:
        self.scanned += 1
        source = engine.source
        stream_of = stream_info(source, stream)
        if stream_of is None or customer_condition(stream_of, payload) is None:
            return
        at = _time(stream_of, payload)
        if at is None or at > self.snapshot.as_of:
            return
        links = record_links(source, stream, payload, engine.resolver)
        for process_key in [p.key for p in engine.compiled.ruleset.processes]:
            owners = attribute(
                links, at, process_key, Attribution(), engine.resolver, engine.process_of
            )
            for owner in owners:
                row = self.rows.get((connection.name, owner))
                if row is not None:
                    self._deal(connection, engine, names, row, owner, stream, external_id,
                               payload, at, process_key)  # fmt: skip

    def _deal(
        self,
        connection: ConnectionInfo,
        engine: Engine,
        names: _AccountNames,
        row: int,
        owner: str,
        stream: str,
        external_id: str,
        payload: dict[str, Any],
        at: datetime,
        process_key: str,
    ) -> None:
        cols = self.snapshot.columns
        process = self.snapshot.processes.get(int(cols.process[row]))
        if process is None or process.key != process_key:
            return
        if _mapped(engine, stream, payload, process, cols.reach[row]):
            return
        deal = self.snapshot.info.get(int(cols.key[row]))
        assert isinstance(engine.resolver, EntityIndex)
        known = f"{deal.name if deal else ''} {names(engine.resolver, owner)}"
        moment = epoch(at)
        for action in record_actions(engine.source, stream, payload, known):
            entry = self.seen.setdefault((process.key, action.key), _Seen(action))
            if moment < entry.first.get(row, np.inf):
                entry.first[row] = moment
            if len(entry.samples) < SAMPLES and len(entry.first) > len(entry.samples):
                title = make_getter(stream_info(engine.source, stream), (TEXT_FIELD[stream],))
                entry.samples.append(
                    CandidateEvidence(
                        occurred_at=at,
                        opportunity=OpportunityRef(
                            external_id=owner, name=deal.name if deal else None
                        ),
                        evidence=EvidenceLink(
                            connection=connection.name,
                            stream=stream,
                            external_id=external_id,
                            url=deep_link(
                                engine.source, stream, external_id, connection.link_settings
                            ),
                        ),
                        text=str(title(payload) or "")[:200],
                    )
                )


def _scan(database: Database, snapshot: Snapshot, mask: np.ndarray) -> _Scan:
    """Every customer-side record that no rule makes a milestone, per deal of the selection."""
    cols = snapshot.columns
    row_of = {int(key): row for row, key in enumerate(cols.key)}
    rows: dict[tuple[str | None, str], int] = {}
    for key, deal in snapshot.info.items():
        row = row_of.get(int(key))
        if row is not None and mask[row]:
            rows[(deal.connection, deal.external_id)] = row
    scan = _Scan(snapshot, rows)
    for connection, runtime, source_text in _active(database):
        source = connection.source
        assert source is not None
        for process in runtime.ruleset.processes:
            scan.sources.setdefault(process.key, source_text)
        with database.engine.connect() as db, db.begin():
            index, _, _ = build_index(db, connection)
            engine = Engine(runtime.compiled, source, index)
            names = _AccountNames(source)
            for stream, external_id, payload in _records(db, connection, source):
                scan.record(connection, engine, names, stream, external_id, payload)
    return scan


@dataclass(frozen=True)
class _Stays:
    """Every stay of the process's deals at a milestone (stratum = its position)."""

    row: np.ndarray
    stratum: np.ndarray
    start: np.ndarray
    until: np.ndarray
    outcome: np.ndarray


def _stays(snapshot: Snapshot, rows: np.ndarray) -> _Stays:
    cols = snapshot.columns
    reach = cols.reach[rows]
    records = cols.take(rows).records()
    closed = np.where(np.isnan(cols.closed[rows]), np.inf, cols.closed[rows])
    outcome = outcomes(snapshot, rows)
    parts: list[tuple[np.ndarray, ...]] = []
    for position in range(reach.shape[1]):
        there = np.nonzero(records[:, position])[0]
        later = reach[there, position + 1 :]
        advance = np.where(np.isnan(later), np.inf, later).min(axis=1, initial=np.inf)
        parts.append(
            (
                rows[there],
                np.full(there.shape[0], position, dtype=np.int64),
                reach[there, position],
                np.minimum(advance, closed[there]),
                outcome[there],
            )
        )
    return _Stays(*(np.concatenate([p[i] for p in parts]) for i in range(5)))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40] or "action"


def _milestone(entry: _Seen, stream: str, process: ProcessInfo, lift: lifts.Lift) -> dict[str, Any]:
    action = entry.action
    key = _slug(entry.name)
    taken = {m.key for m in process.milestones}
    while key in taken:
        key += "_seen"
    return {
        "key": key,
        "name": entry.name,
        "kind": KINDS[stream],
        "description": f"Proposed from the stored records: {action.label}.",
        "guidance": (
            f"{lift.reached.value:.0%} of the deals that showed this won, against "
            f"{lift.comparable.value:.0%} of comparable deals that had not yet. Write how reps "
            "bring the customer here, and the next step."
        ),
        "rules": [{"key": f"{key}_{_slug(stream)}", "stream": stream, "when": action.when}],
    }


def with_candidate(source_text: str, candidate: Candidate) -> str:
    """The ruleset `source_text` with the candidate's milestone inserted into its process,
    after the milestone deals were usually at when they showed it."""
    data = yaml.safe_load(source_text)
    (milestone,) = yaml.safe_load(candidate.rule_yaml)
    for process in data.get("processes", []):
        if process.get("key") != candidate.process:
            continue
        keys = [m.get("key") for m in process["milestones"]]
        at = keys.index(candidate.after) + 1 if candidate.after in keys else 0
        process["milestones"].insert(at, milestone)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def candidates(
    database: Database, snapshot: Snapshot, filters: Filters, limit: int = LIMIT
) -> CandidatesAnswer:
    """Unmapped customer actions that predict winning, best first."""
    cols = snapshot.columns
    mask = deal_mask(snapshot, filters)
    scan = _scan(database, snapshot, mask)
    scanned_seen, scanned, sources = scan.seen, scan.scanned, scan.sources
    alike: dict[tuple[str, str, tuple[tuple[int, float], ...]], list[_Seen]] = {}
    for (process_key, key), entry in sorted(scanned_seen.items()):
        if len(entry.first) >= lifts.MIN_DEALS:
            prefix = "|".join(key.split("|")[:2])
            alike.setdefault((process_key, prefix, tuple(sorted(entry.first.items()))), []).append(
                entry
            )
    seen: dict[tuple[str, str], _Seen] = {}
    for (process_key, _, _), group in alike.items():
        merged = _merged(group)
        seen[(process_key, merged.action.key)] = merged
    by_process = {p.key: p for p in snapshot.processes.values()}
    stays: dict[str, _Stays] = {}
    tested: list[tuple[str, _Seen, lifts.Lift, int]] = []
    for (process_key, _), entry in sorted(seen.items()):
        if len(entry.first) < lifts.MIN_DEALS or process_key not in by_process:
            continue
        if process_key not in stays:
            ids = [p.id for p in snapshot.processes.values() if p.key == process_key]
            stays[process_key] = _stays(snapshot, np.nonzero(mask & np.isin(cols.process, ids))[0])
        s = stays[process_key]
        by_row = np.full(len(cols), np.nan)
        by_row[list(entry.first)] = list(entry.first.values())
        event = by_row[s.row]
        lift = lifts.matched_lift(s.stratum, s.start, s.until, event, s.outcome)
        if lift is None:
            continue
        inside = ~np.isnan(event) & (event >= s.start) & (event <= s.until)
        strata = Counter(int(p) for p in s.stratum[inside])
        usual = strata.most_common(1)[0][0] if strata else 0
        tested.append((process_key, entry, lift, usual))
    rejected = stats.benjamini_hochberg([lift.test.p_value for _, _, lift, _ in tested])
    chosen = sorted(
        (t for t, clear in zip(tested, rejected, strict=True) if clear and t[2].difference > 0),
        key=lambda t: -t[2].low,
    )[:limit]
    found = []
    for process_key, entry, lift, usual in chosen:
        process = by_process[process_key]
        stream = entry.action.key.split("|", 1)[0]
        after = process.at(usual)
        milestone = _milestone(entry, stream, process, lift)
        text = yaml.safe_dump([milestone], sort_keys=False, allow_unicode=True, width=100)
        candidate = Candidate(
            process=process_key,
            stream=stream,
            action=entry.action.label,
            key=entry.action.key,
            deals=len(entry.first),
            reached=estimate(lift.reached, 4),
            comparable=estimate(lift.comparable, 4),
            lift=round(lift.difference, 4),
            lift_low=round(lift.low, 4),
            lift_high=round(lift.high, 4),
            ratio=None if lift.ratio is None else round(lift.ratio, 3),
            p_value=float(f"{lift.test.p_value:.3g}"),
            after="created" if after is None else after.key,
            evidence=sorted(entry.samples, key=lambda e: e.occurred_at),
            rule_yaml=text,
            validates=False,
            problems=[],
        )
        source_text = sources.get(process_key)
        if source_text is not None:
            report = validate_file(
                database, with_candidate(source_text, candidate), "draft", with_data=False
            )
            candidate = candidate.model_copy(
                update={
                    "validates": report.ok,
                    "problems": [d.message for d in report.errors],
                }
            )
        found.append(candidate)
    return CandidatesAnswer(
        filters=filters,
        as_of=snapshot.as_of,
        method=METHOD,
        records_scanned=scanned,
        tested=len(tested),
        candidates=found,
    )
