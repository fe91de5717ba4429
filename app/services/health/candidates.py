"""Candidate milestones: customer actions in the stored records that no milestone is made of,
whose occurrence predicts winning.

The customer actions no milestone is made of come from `unmapped` (customer-side records, the
validator's seller-side guard, the engine's attribution). Each description seen on enough
deals is valued like a milestone (`app.kpis.value`): the win rate of deals that showed it
against comparable deals at the same milestone, as long there, that had not shown it yet.
Ranked by the lower end of the lift's 95 % interval (a big lift on few deals does not outrank a
sure one), those clear after Benjamini-Hochberg are proposed, with sample evidence and a
milestone to paste into the process's rules (validated, seller-side guard included, against
the connections' fields).

    answer = candidates(database, snapshot, Filters(process="enterprise_new_business"))
    answer.candidates[0].rule_yaml

Reading every stored customer record takes minutes on a large history: the API and the web
page never compute it on a request. They read `candidates_now`, the answer the KPI keeper
(`app.services.kpis.keeper`, the thread that computes the backtest) computed for the view's
current generation, or `CandidatesPending` ("being computed", with the previous generation's
answer when there is one) until it is ready. The command line computes it in its own process.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import yaml

from app.core.database import Database
from app.kpis import drift as stats
from app.kpis import value as lifts
from app.kpis.columns import epoch
from app.services.health.actions import (
    KINDS,
)
from app.services.health.drift import estimate
from app.services.health.public import Candidate, CandidatesAnswer, CandidatesPending
from app.services.health.unmapped import Seen, merged, unmapped_actions
from app.services.health.value import outcomes
from app.services.kpis.filters import Filters
from app.services.kpis.keeper import Keeper, Kept
from app.services.kpis.queries import deal_mask
from app.services.kpis.snapshot import ProcessInfo, Snapshot
from app.services.mapping.preview import validate_file

__all__ = ["METHOD", "candidates", "candidates_ask", "candidates_now", "kept_candidates"]
__all__ += ["with_candidate"]

LIMIT = 10
SAMPLES = 3
BATCH = 5000
METHOD = (
    "Customer-side records (incoming mail, calls the customer made or took, meetings held, "
    "form submissions) "
    "that no active rule makes the evidence of a milestone not reached before, described by "
    "their stream and customer-side condition plus a term of the subject, an attachment, a "
    "call outcome, a meeting type or the form filled in. Each description on at least "
    f"{lifts.MIN_DEALS} deals with a known outcome is valued like a milestone: the chance of "
    f"winning within {lifts.HORIZON_DAYS:.0f} days of the deals that showed it against "
    "comparable deals at the same milestone, as long there, that had not yet (age bands 0-7, "
    "7-14, 14-28, 28-56, 56-112, 112+ days; Aalen-Johansen cumulative incidence, open deals "
    "censored). Proposed: "
    f"a lift clear after Benjamini-Hochberg at {stats.FALSE_DISCOVERY_RATE:.0%} over every "
    "description tested, ranked by the lower end of its 95 % interval."
)


@dataclass(frozen=True)
class _Stays:
    """Every stay of the process's deals at a milestone (stratum = its position)."""

    row: np.ndarray
    stratum: np.ndarray
    start: np.ndarray
    until: np.ndarray
    outcome: np.ndarray
    closed: np.ndarray


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
                closed[there],
            )
        )
    return _Stays(*(np.concatenate([p[i] for p in parts]) for i in range(6)))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40] or "action"


def _milestone(entry: Seen, stream: str, process: ProcessInfo, lift: lifts.Lift) -> dict[str, Any]:
    action = entry.action
    key = _slug(entry.name)
    taken = {m.key for m in process.milestones}
    while key in taken:
        key += "_seen"
    return {
        "key": key,
        "name": entry.name,
        "kind": KINDS[stream],
        "description": (
            f"{entry.name}: a customer action no milestone captured, seen on "
            f"{len(entry.first)} deals of the stored records (proposed by process health)."
        ),
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
    database: Database,
    snapshot: Snapshot,
    filters: Filters,
    limit: int = LIMIT,
    progress: Callable[[int], None] | None = None,
) -> CandidatesAnswer:
    """Unmapped customer actions that predict winning, best first; `progress` is told the
    stored records read so far (the long part), batch by batch."""
    cols = snapshot.columns
    mask = deal_mask(snapshot, filters)
    scan = unmapped_actions(database, snapshot, mask, progress)
    scanned_seen, scanned, sources = scan.seen, scan.scanned, scan.sources
    alike: dict[tuple[str, str, tuple[tuple[int, float], ...]], list[Seen]] = {}
    for (process_key, key), entry in sorted(scanned_seen.items()):
        if len(entry.first) >= lifts.MIN_DEALS:
            prefix = "|".join(key.split("|")[:2])
            alike.setdefault((process_key, prefix, tuple(sorted(entry.first.items()))), []).append(
                entry
            )
    seen: dict[tuple[str, str], Seen] = {}
    for (process_key, _, _), group in alike.items():
        one = merged(group)
        seen[(process_key, one.action.key)] = one
    by_process = {p.key: p for p in snapshot.processes.values()}
    stays: dict[str, _Stays] = {}
    tested: list[tuple[str, Seen, lifts.Lift, int]] = []
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
        lift = lifts.matched_lift(
            s.stratum, s.start, s.until, event, s.outcome, s.closed, epoch(snapshot.as_of)
        )
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


RETRY_SECONDS = 5
"""When a client is told to ask again: a read of the keeper's answer costs nothing."""


def candidates_ask(
    keeper: Keeper, database: Database, filters: Filters, as_of: datetime | None = None
) -> tuple[tuple[Any, ...], Callable[[Snapshot], CandidatesAnswer]]:
    """The keeper's key and computation for the candidates: the API and the web page ask
    alike, so that one computation answers both. With `as_of`, of the view as it stood then
    (cut from the keeper's view when it computes)."""
    key = ("health-candidates", None if as_of is None else as_of.timestamp(), filters.key())

    def compute(snapshot: Snapshot) -> CandidatesAnswer:
        view = snapshot if as_of is None else keeper.store.at(as_of)
        return candidates(database, view, filters)

    return key, compute


def kept_candidates(
    keeper: Keeper, database: Database, filters: Filters, as_of: datetime | None = None
) -> Kept[CandidatesAnswer] | None:
    """The candidates as the keeper last computed them (None while the first is computed);
    never waits."""
    return keeper.get(*candidates_ask(keeper, database, filters, as_of), wait=False)


def candidates_now(
    keeper: Keeper, database: Database, filters: Filters, as_of: datetime | None = None
) -> CandidatesAnswer | CandidatesPending:
    """The candidates of the view's current generation, or "being computed" (with the newest
    earlier answer) while the keeper computes them. InvalidRequestError for an `as_of` the
    view cannot answer."""
    instant = keeper.store.snapshot().as_of if as_of is None else keeper.store.at(as_of).as_of
    kept = kept_candidates(keeper, database, filters, as_of)
    if kept is not None and kept.current:
        return kept.value
    return CandidatesPending(
        filters=filters,
        as_of=instant,
        note=(
            "the candidates read every stored customer record: they are computed off the "
            "request for the KPI view's current generation; ask again until status is ready"
            + ("" if kept is None else " (previous: the answer of an earlier generation)")
        ),
        retry_after_seconds=RETRY_SECONDS,
        previous=None if kept is None else kept.value,
    )
