"""Trying a rule file against stored records without changing anything.

`validate_file` checks a file (fields against the connections' own data) and warns about
milestones that no stored record has ever matched. `preview_file` evaluates it over the stored
records and says what each milestone would match — counts, examples with their evidence — and
how that differs from each connection's active version: events added, removed and moved.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select

from app.core.database import Database
from app.models import Milestone, MilestoneEvent, Opportunity, Process
from app.services.mapping.index import build_index, scan_raw
from app.services.mapping.preview_report import (
    ChangeCounts,
    EventChange,
    EventExample,
    EvidenceLink,
    EvidenceRef,
    MilestonePreview,
    OpportunityRef,
    PreviewChanges,
    PreviewDifference,
    PreviewReport,
    ProcessPreview,
)
from app.services.mapping.public import DiagnosticPublic
from app.services.mapping.rulesets import (
    ConnectionInfo,
    RulesetRejected,
    connection_fields,
    connections_for,
)
from app.services.state.active import active_versions, version_numbers
from mappings.catalog import deep_link
from mappings.compiler import CompiledRuleset, compile_ruleset
from mappings.engine import Derivation, Engine
from mappings.model import Ruleset
from mappings.validate import ValidationReport, unmatched_warnings, validate

__all__ = ["PreviewOptions", "checked_ruleset", "preview_file", "scan_stored", "validate_file"]

SCAN_BATCH = 5000
DiffKey = tuple[str, str, str, str, str]
"""(opportunity external id, process key, milestone key, evidence stream, evidence id)"""


def checked_ruleset(
    database: Database, text: str, file: str, connection: str | None = None
) -> tuple[ValidationReport, list[ConnectionInfo]]:
    """Validate against the fields the connections actually have; raise if there are errors."""
    with database.session() as session:
        connections = connections_for(session, connection)
        fields = connection_fields(session, [c for c in connections if c.source])
    names = ", ".join(c.name for c in connections) or "no connection"
    report = validate(text, file, fields, fields_from=f"the stored data of {names}")
    if not report.ok:
        raise RulesetRejected(report.diagnostics)
    return report, connections


def scan_stored(
    database: Database,
    compiled: CompiledRuleset,
    connections: Iterable[ConnectionInfo],
    visit: Callable[[ConnectionInfo, Engine, str, str, Derivation], bool],
) -> int:
    """Derive every stored record of the ruleset's streams; `visit` returns False to stop."""
    seen = 0
    for connection in connections:
        if connection.source is None or connection.source not in compiled.streams:
            continue
        with database.engine.connect() as db, db.begin():
            index, _, _ = build_index(db, connection)
            engine = Engine(compiled, connection.source, index)
            last_id = 0
            while True:
                rows = scan_raw(db, connection.id, compiled, connection.source, last_id, SCAN_BATCH)
                if not rows:
                    break
                last_id = rows[-1][0]
                for _, stream, external_id, deleted, payload in rows:
                    seen += 1
                    derivation = engine.derive(stream, external_id, payload, deleted)
                    if not visit(connection, engine, stream, external_id, derivation):
                        return seen
    return seen


def validate_file(
    database: Database | None,
    text: str,
    file: str,
    connection: str | None = None,
    with_data: bool = True,
) -> ValidationReport:
    """The validation report; with a database, fields are checked against each connection's
    stored data and milestones no stored record ever matched are warned about."""
    if database is None:
        return validate(text, file)
    try:
        report, connections = checked_ruleset(database, text, file, connection)
    except RulesetRejected as rejected:
        return ValidationReport(None, rejected.diagnostics)
    ruleset = report.ruleset
    assert ruleset is not None
    if not with_data:
        return report
    matched: dict[tuple[str, str], int] = {}
    wanted = {(p.key, m.key) for p in ruleset.processes for m in p.milestones}

    def visit(_c: ConnectionInfo, _e: Engine, _s: str, _i: str, derivation: Derivation) -> bool:
        for hit in derivation.hits:
            for target in hit.targets:
                key = (target.process_key, target.milestone_key)
                matched[key] = matched.get(key, 0) + 1
        return not wanted <= set(matched)

    seen = scan_stored(database, compile_ruleset(ruleset), connections, visit)
    extra = unmatched_warnings(ruleset, matched, seen)
    diagnostics = sorted(report.diagnostics + extra, key=lambda d: (d.position, d.severity))
    return ValidationReport(ruleset, diagnostics)


@dataclass
class PreviewOptions:
    connection: str | None = None
    limit: int = 3


@dataclass
class _MilestoneTally:
    records: int = 0
    events: int = 0
    opportunities: set[str] = field(default_factory=set)
    examples: list[tuple[str, int, EventExample]] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    moved: int = 0


def _active_events(
    database: Database, connections: list[ConnectionInfo]
) -> tuple[dict[str, int], dict[DiffKey, datetime]]:
    """Each connection's active version (by connection name) and the events it derived."""
    with database.session() as session:
        active = active_versions(session)
        pairs = [(c, active[c.id]) for c in connections if c.id in active]
        if not pairs:
            return {}, {}
        numbers = version_numbers(session, (v for _, v in pairs))
        found: dict[DiffKey, datetime] = {}
        rows = session.execute(
            select(
                Opportunity.external_id,
                Process.key,
                Milestone.key,
                MilestoneEvent.evidence_stream,
                MilestoneEvent.evidence_external_id,
                MilestoneEvent.occurred_at,
            )
            .join(Opportunity, Opportunity.id == MilestoneEvent.opportunity_id)
            .join(Milestone, Milestone.id == MilestoneEvent.milestone_id)
            .join(Process, Process.id == Milestone.process_id)
            .where(
                or_(
                    *(
                        (MilestoneEvent.ruleset_version_id == version_id)
                        & (MilestoneEvent.evidence_connection_id == c.id)
                        for c, version_id in pairs
                    )
                )
            )
        )
        for external_id, process, milestone, stream, evidence, occurred_at in rows:
            key = (external_id, process, milestone, stream, evidence)
            if key not in found or occurred_at < found[key]:
                found[key] = occurred_at
        return {c.name: numbers[v] for c, v in pairs}, found


def preview_file(
    database: Database, text: str, file: str, options: PreviewOptions | None = None
) -> PreviewReport:
    """What the file would derive from the stored records, and the change from what each
    connection's active version derived."""
    options = options or PreviewOptions()
    report, connections = checked_ruleset(database, text, file, options.connection)
    ruleset = report.ruleset
    assert ruleset is not None
    compiled = compile_ruleset(ruleset)
    tallies: dict[tuple[str, str], _MilestoneTally] = {
        (p.key, m.key): _MilestoneTally() for p in ruleset.processes for m in p.milestones
    }
    derived: dict[DiffKey, datetime] = {}
    order = 0

    def visit(
        connection: ConnectionInfo, engine: Engine, stream: str, external_id: str, d: Derivation
    ) -> bool:
        nonlocal order
        for hit in d.hits:
            for target in hit.targets:
                tallies[(target.process_key, target.milestone_key)].records += 1
        for event in d.events:
            tally = tallies[(event.process_key, event.milestone_key)]
            tally.events += 1
            tally.opportunities.add(f"{connection.id}:{event.opportunity_id}")
            key = (
                event.opportunity_id,
                event.process_key,
                event.milestone_key,
                stream,
                external_id,
            )
            if key not in derived or event.occurred_at < derived[key]:
                derived[key] = event.occurred_at
            facts = engine.resolver.opportunity(event.opportunity_id)
            order += 1
            example = EventExample(
                occurred_at=event.occurred_at,
                rule=event.rule_key,
                opportunity=OpportunityRef(
                    external_id=event.opportunity_id, name=facts.name if facts else None
                ),
                evidence=EvidenceLink(
                    connection=connection.name,
                    stream=stream,
                    external_id=external_id,
                    url=deep_link(engine.source, stream, external_id, connection.link_settings),
                ),
            )
            entry = (event.occurred_at.isoformat(), order, example)
            if len(tally.examples) < options.limit:
                heapq.heappush(tally.examples, entry)
            elif options.limit > 0:
                heapq.heappushpop(tally.examples, entry)
        return True

    seen = scan_stored(database, compiled, connections, visit)
    active, before = _active_events(database, connections)
    added = [k for k in derived if k not in before]
    removed = [k for k in before if k not in derived]
    moved = [k for k in derived if k in before and before[k] != derived[k]]
    for kind, keys in (("added", added), ("removed", removed), ("moved", moved)):
        for key in keys:
            tally = tallies.get((key[1], key[2]))
            if tally is not None:
                setattr(tally, kind, getattr(tally, kind) + 1)
    matched = {key: tally.records for key, tally in tallies.items()}
    warnings = report.warnings + unmatched_warnings(ruleset, matched, seen)
    limit = options.limit
    return PreviewReport(
        ruleset=ruleset.name,
        checksum=ruleset.checksum,
        connections=[c.name for c in connections if c.source],
        records_scanned=seen,
        active_versions=active,
        warnings=[DiagnosticPublic.of(w) for w in warnings],
        processes=_processes(ruleset, tallies),
        difference=PreviewDifference(
            compared_with=active,
            added=len(added),
            removed=len(removed),
            moved=len(moved),
            examples=PreviewChanges(
                added=[_change(k, derived[k], None) for k in sorted(added)[:limit]],
                removed=[_change(k, None, before[k]) for k in sorted(removed)[:limit]],
                moved=[_change(k, derived[k], before[k]) for k in sorted(moved)[:limit]],
            ),
        ),
    )


def _change(key: DiffKey, now: datetime | None, before: datetime | None) -> EventChange:
    return EventChange(
        opportunity=key[0],
        process=key[1],
        milestone=key[2],
        evidence=EvidenceRef(stream=key[3], external_id=key[4]),
        occurred_at=now,
        was=before,
    )


def _processes(
    ruleset: Ruleset, tallies: dict[tuple[str, str], _MilestoneTally]
) -> list[ProcessPreview]:
    result = []
    for process in ruleset.processes:
        milestones = []
        for milestone in process.milestones:
            tally = tallies[(process.key, milestone.key)]
            milestones.append(
                MilestonePreview(
                    key=milestone.key,
                    name=milestone.name,
                    kind=milestone.kind,
                    records_matched=tally.records,
                    events=tally.events,
                    opportunities=len(tally.opportunities),
                    examples=[e for _, _, e in sorted(tally.examples, reverse=True)],
                    difference=ChangeCounts(
                        added=tally.added, removed=tally.removed, moved=tally.moved
                    ),
                )
            )
        result.append(
            ProcessPreview(
                key=process.key, name=process.name, source=process.source, milestones=milestones
            )
        )
    return result
