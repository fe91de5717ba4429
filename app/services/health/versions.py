"""Ruleset versions compared: would a draft make the forecast better or worse? The backtest of
forecast quality for the active version and for the draft, side by side, before ops activate
it.

The draft is evaluated over the stored records by the preview's own scan (`scan_stored`: the
same engine, attribution and segment selectors that activation would use), nothing is written;
each opportunity's path is its first event per milestone of the draft, as the state service
builds it. Both are replayed by the same backtest (`run_backtest`), over the same deals,
origins and outcomes: only the milestones differ.

    compared = compare_versions(database, draft_text, "draft.yaml", store=store)
    compared.active_wape, compared.draft_wape, compared.verdict
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Literal

from app.core.database import Database
from app.kpis.backtest import CellSummary
from app.kpis.history import DealHistory
from app.services.health.public import CellComparison, VersionsCompared, VersionScores
from app.services.kpis.backtest import METHOD, READING, BacktestReport, NoBacktest, run_backtest
from app.services.kpis.filters import Filters
from app.services.kpis.snapshot import Snapshot
from app.services.kpis.store import KpiStore
from app.services.mapping.preview import checked_ruleset, scan_stored
from app.services.mapping.rulesets import ConnectionInfo
from app.services.state.active import active_versions, version_numbers
from mappings.compiler import compile_ruleset
from mappings.engine import Derivation, Engine
from mappings.model import Ruleset

__all__ = ["compare_versions", "draft_histories"]

HORIZONS = 3
"""The horizons compared (months): a milestone changes the near forecast most."""


def draft_histories(
    database: Database, ruleset: Ruleset, connections: list[ConnectionInfo], snapshot: Snapshot
) -> list[DealHistory]:
    """The view's opportunities with the paths the draft would give them: its process (by
    its segment selectors) and the first time each of its milestones was reached."""
    positions = {
        (p.key, m.key): i for p in ruleset.processes for i, m in enumerate(p.milestones, 1)
    }
    first: dict[tuple[str, str], dict[int, datetime]] = {}
    engines: dict[str, Engine] = {}

    def visit(
        connection: ConnectionInfo, engine: Engine, _s: str, _i: str, derived: Derivation
    ) -> bool:
        engines[connection.name] = engine
        for event in derived.events:
            if event.occurred_at > snapshot.as_of:  # not known yet at the view's as-of
                continue
            reached = first.setdefault((connection.name, event.opportunity_id), {})
            position = positions[(event.process_key, event.milestone_key)]
            if position not in reached or event.occurred_at < reached[position]:
                reached[position] = event.occurred_at
        return True

    scan_stored(database, compile_ruleset(ruleset), connections, visit)
    ids: dict[str, int] = {}
    for info in sorted(snapshot.processes.values(), key=lambda p: p.id):
        ids.setdefault(info.key, info.id)
    fresh = max(snapshot.processes, default=0) + 1
    for drafted in ruleset.processes:
        if drafted.key not in ids:
            ids[drafted.key], fresh = fresh, fresh + 1
    histories = []
    for key, deal in snapshot.deals.items():
        listed = snapshot.info.get(key)
        engine = engines.get(listed.connection or "") if listed else None
        if listed is None or engine is None:
            continue
        facts = engine.resolver.opportunity(listed.external_id)
        process_key = engine.process_of(listed.external_id)
        if process_key is None or facts is None or facts.deleted:  # readers leave deleted out
            continue
        reached = first.get((listed.connection or "", listed.external_id), {})
        wanted = {p for (k, _), p in positions.items() if k == process_key}
        path = sorted(((p, at) for p, at in reached.items() if p in wanted), key=lambda x: x[1])
        histories.append(replace(deal, process=ids[process_key], reached=tuple(path)))
    return histories


def _scores(
    name: str, result: BacktestReport | NoBacktest, versions: dict[str, int] | None
) -> VersionScores:
    return VersionScores(
        ruleset=name,
        versions=versions or {},
        origins=len(result.origins),
        note=result.note if isinstance(result, NoBacktest) else None,
        cells=list(result.cells),
    )


def _better(active: float | None, draft: float | None) -> Literal["draft", "active", "same"] | None:
    if active is None or draft is None:
        return None
    return "draft" if draft < active else "active" if active < draft else "same"


COMPARED_PART = "open"
"""The part whose mean WAPE decides: the deals open at each origin, which the milestones read.
The forecast of deals created later barely depends on them, and its error, added in the
total, can hide what a ruleset changes (or cancel it out)."""


def _mean_wape(cells: list[CellSummary]) -> float | None:
    scores = [c.milestones.wape for c in cells if c.part == COMPARED_PART]
    if not scores or any(s is None for s in scores):
        return None
    return round(sum(s for s in scores if s is not None) / len(scores), 4)


def compare_versions(
    database: Database,
    text: str,
    file: str,
    *,
    store: KpiStore | None = None,
    filters: Filters | None = None,
    months: int = 12,
    connection: str | None = None,
) -> VersionsCompared:
    """The backtest of the active versions and of the draft `text`, cell by cell (horizons
    1-3, single month and cumulative, open / new / total); `RulesetRejected` if the draft
    does not validate."""
    filters = filters or Filters()
    report, connections = checked_ruleset(database, text, file, connection)
    ruleset = report.ruleset
    assert ruleset is not None
    store = store or KpiStore(database)
    snapshot = store.snapshot()
    active = run_backtest(
        database, months, store, horizons=HORIZONS, filters=filters, snapshot=snapshot
    )
    histories = draft_histories(database, ruleset, connections, snapshot)
    draft = run_backtest(
        database,
        months,
        store,
        horizons=HORIZONS,
        filters=filters,
        snapshot=snapshot,
        histories=histories,
    )
    drafted = {(c.horizon_months, c.cumulative, c.part): c for c in draft.cells}
    cells = []
    for cell in active.cells:
        other = drafted.get((cell.horizon_months, cell.cumulative, cell.part))
        if other is None:
            continue
        cells.append(
            CellComparison(
                horizon_months=cell.horizon_months,
                cumulative=cell.cumulative,
                part=cell.part,
                origins=cell.origins,
                actual_won=cell.actual_won,
                active_wape=cell.milestones.wape,
                draft_wape=other.milestones.wape,
                active_coverage=cell.milestones.coverage_p10_p90,
                draft_coverage=other.milestones.coverage_p10_p90,
                better=_better(cell.milestones.wape, other.milestones.wape),
            )
        )
    active_wape, draft_wape = _mean_wape(list(active.cells)), _mean_wape(list(draft.cells))
    better = _better(active_wape, draft_wape)
    verdict = (
        "no backtest to compare"
        if better is None
        else f"the draft forecasts better (mean WAPE {draft_wape:.3f} against {active_wape:.3f})"
        if better == "draft"
        else f"the active version forecasts better (mean WAPE {active_wape:.3f} against "
        f"{draft_wape:.3f})"
        if better == "active"
        else f"no difference (mean WAPE {active_wape:.3f})"
    )
    with database.session() as session:
        versions = active_versions(session)
        numbers = version_numbers(session, versions.values())
    active_names = {c.name: numbers[versions[c.id]] for c in connections if c.id in versions}
    return VersionsCompared(
        as_of=snapshot.as_of,
        method=METHOD + " The draft's paths come from the stored records (as a preview reads "
        "them); both versions replay the same deals, origins and outcomes.",
        reading=READING + " Mean WAPE: over the cells of horizons 1-3 for the deals open at "
        "each origin (the part a ruleset changes).",
        filters=filters,
        active=_scores("active", active, active_names),
        draft=_scores(ruleset.name, draft, None),
        active_wape=active_wape,
        draft_wape=draft_wape,
        better=better,
        verdict=verdict,
        cells=cells,
        data_age_seconds=store.data_age_seconds(),
    )
