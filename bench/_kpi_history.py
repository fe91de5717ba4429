"""A large synthetic sales history straight into the tables, for the KPI benchmarks.

Three processes (SMB, mid-market, enterprise) of six milestones each, 48 reps in six teams,
`deals` opportunities created evenly over the two years before `as_of`. Each deal walks its
milestones one by one: at milestone k it advances with a probability that falls with k, after
an exponential wait; otherwise it is lost some weeks later; a deal past the last milestone is
won or lost; whatever would happen after `as_of` has not happened yet (the deal is open).
Every milestone reached is proved by one or more customer records (several replies, several
meetings), so the number of events is about ten per deal: 100,000 deals give ~1,000,000
events. Deterministic for a seed. State is built by the state service, as activation does.

    ids = build(database, deals=100_000, as_of=datetime(2025, 7, 1, tzinfo=UTC))
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from app.core.database import Database
from app.models import (
    Connection,
    CrmOwner,
    Milestone,
    MilestoneEvent,
    Opportunity,
    OpportunityProcess,
    Process,
    RulesetActivation,
    RulesetVersion,
)
from app.services.state.opportunities import rebuild_states

PROCESSES = (
    ("smb", "SMB new business", "SMB", 4_000.0, 8.0),
    ("mid", "Mid-market new business", "Mid-Market", 18_000.0, 14.0),
    ("ent", "Enterprise new business", "Enterprise", 90_000.0, 24.0),
)
MILESTONES = (
    ("reply", "writes"),
    ("meeting", "does"),
    ("requirements", "writes"),
    ("demo", "does"),
    ("proposal_request", "says"),
    ("signature", "writes"),
)
ADVANCE = (0.8, 0.72, 0.68, 0.66, 0.7, 0.75)
TEAMS = ("North", "South", "East", "West", "Central", "Enterprise")
REPS = 48
CHUNK = 50_000


def build(
    database: Database, deals: int = 100_000, as_of: datetime | None = None, seed: int = 7
) -> dict[str, Any]:
    """Write the history; returns ids, counts and the rep and deal ids the benchmark asks for."""
    as_of = as_of or datetime(2025, 7, 1, tzinfo=UTC)
    rng = random.Random(seed)
    with database.session() as session:
        connection = Connection(name="crm", kind="salesforce", credentials_sealed="-")
        version = RulesetVersion(version=1, name="bench", source="", checksum="x")
        session.add_all([connection, version])
        session.flush()
        session.add(RulesetActivation(connection_id=connection.id, ruleset_version_id=version.id))
        processes = []
        for position, (key, name, segment, _, _) in enumerate(PROCESSES):
            process = Process(
                ruleset_version_id=version.id,
                key=key,
                name=name,
                position=position,
                segment_selector={"segment": {"Segment__c": segment}},
            )
            session.add(process)
            processes.append(process)
        session.flush()
        milestone_ids: list[list[int]] = []
        for process in processes:
            rows = [
                Milestone(
                    process_id=process.id,
                    key=key,
                    name=key.replace("_", " ").title(),
                    position=i + 1,
                    kind=kind,
                    guidance=f"Next: the customer's {key.replace('_', ' ')}",
                )
                for i, (key, kind) in enumerate(MILESTONES)
            ]
            session.add_all(rows)
            session.flush()
            milestone_ids.append([m.id for m in rows])
        owners = [
            CrmOwner(
                connection_id=connection.id,
                external_id=f"005R{i:03d}",
                name=f"Rep {i}",
                team=TEAMS[i % len(TEAMS)],
            )
            for i in range(REPS)
        ]
        session.add_all(owners)
        session.flush()
        connection_id, version_id = connection.id, version.id
        process_ids = [p.id for p in processes]
        owner_ids = [o.id for o in owners]
    start = as_of - timedelta(days=730)
    opportunities: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    event_count = 0
    started = time.perf_counter()

    def flush() -> None:
        nonlocal opportunities, links, events, event_count
        with database.engine.begin() as db:
            if opportunities:
                db.execute(insert(Opportunity), opportunities)
                db.execute(insert(OpportunityProcess), links)
            if events:
                db.execute(insert(MilestoneEvent), events)
        event_count += len(events)
        opportunities, links, events = [], [], []

    for i in range(deals):
        p = rng.choices(range(3), weights=(6, 3, 1))[0]
        _, _, _, mean_amount, mean_wait = PROCESSES[p]
        created = start + timedelta(seconds=rng.uniform(0, 730 * 86_400))
        owner = rng.randrange(REPS)
        at = created
        outcome, closed_at = "open", None
        reached: list[datetime] = []
        for k in range(len(MILESTONES)):
            wait = timedelta(days=rng.expovariate(1 / mean_wait))
            if rng.random() < ADVANCE[k] * (0.9 + 0.2 * (owner % 5) / 4):
                at = at + wait
                if at > as_of:
                    break
                reached.append(at)
            else:
                lost_at = at + wait * 2
                if lost_at <= as_of:
                    outcome, closed_at = "lost", lost_at
                break
        else:
            end = at + timedelta(days=rng.expovariate(1 / 5))
            if end <= as_of:
                outcome, closed_at = ("won", end) if rng.random() < 0.85 else ("lost", end)
        amount = round(rng.lognormvariate(0, 0.5) * mean_amount, 2)
        opportunity_id = i + 1
        opportunities.append(
            {
                "id": opportunity_id,
                "connection_id": connection_id,
                "external_id": f"006B{i:08d}",
                "name": f"Deal {i}",
                "owner_id": owner_ids[owner],
                "amount": amount,
                "stage_probability": (10, 20, 40, 60, 75, 90, 90)[len(reached)],
                "close_date": (created + timedelta(days=60 + 10 * len(reached))).date(),
                "outcome": outcome,
                "closed_at": closed_at,
                "crm_created_at": created,
                "deleted": False,
                "updated_at": as_of,
            }
        )
        links.append(
            {
                "ruleset_version_id": version_id,
                "opportunity_id": opportunity_id,
                "process_id": process_ids[p],
            }
        )
        for k, first in enumerate(reached):
            following = reached[k + 1] if k + 1 < len(reached) else (closed_at or as_of)
            repeats = 1 + min(int(rng.expovariate(1 / 3.95)), 20)
            span = max(0.0, (following - first).total_seconds())
            for r in range(repeats):
                occurred = first if r == 0 else first + timedelta(seconds=rng.uniform(0, span))
                events.append(
                    {
                        "ruleset_version_id": version_id,
                        "opportunity_id": opportunity_id,
                        "milestone_id": milestone_ids[p][k],
                        "occurred_at": occurred,
                        "rule_key": "r",
                        "evidence_connection_id": connection_id,
                        "evidence_stream": "EmailMessage",
                        "evidence_external_id": f"02s{i:08d}{k}{r:02d}",
                        "evidence_url": None,
                        "created_at": as_of,
                    }
                )
        if len(events) >= CHUNK:
            flush()
    flush()
    print(
        f"… {deals:,} deals, {event_count:,} events written in "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    started = time.perf_counter()
    with database.engine.begin() as db:
        rebuild_states(db, version_id, connection_id)
    state_seconds = time.perf_counter() - started
    print(f"… opportunity state built in {state_seconds:.1f} s", file=sys.stderr, flush=True)
    return {
        "connection": connection_id,
        "version": version_id,
        "deals": deals,
        "events": event_count,
        "state_seconds": round(state_seconds, 1),
        "rep": "005R000",
        "team": TEAMS[0],
    }
