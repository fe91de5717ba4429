"""Rule evaluation throughput: records per second on one core with a 50-rule ruleset.

    python -m bench mapping_eval [--seed 7] [--size medium] [--export DIR] [--repeat 3]

Reads a generated history's Salesforce records (the real mix: outgoing and incoming mail,
tasks, calls, meetings, opportunities, contacts ...) into memory as payloads, compiles a
ruleset of 50 distinct rules (5 processes x 10 milestones over EmailMessage, Task and Event,
each rule with its own keywords), and times, over every record:

- `match`: the compiled rules of the record's stream evaluated (dispatch, conditions, time);
- `match, rule streams only`: the same over the records of streams that have rules (mail,
  tasks, meetings), without the entity records that cost a single lookup;
- `derive`: match plus attribution to opportunities (the engine's whole per-record work).

Single process, single thread; the best of `--repeat` runs is reported. Throughput is per
CPU-second of this process (`time.process_time`), so a busy machine does not distort the
one-core figure; wall time is reported beside it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

KEYWORDS = (
    "proposal", "quote", "pricing", "contract", "signed", "requirement", "meeting", "demo",
    "trial", "budget", "timeline", "security", "legal", "procurement", "invoice", "renewal",
    "expansion", "seats", "integration", "onboarding", "reference", "approval", "decision",
    "pilot", "workshop", "agenda", "feedback", "order", "purchase", "terms",
)  # fmt: skip


def ruleset_text(processes: int = 5, milestones: int = 10) -> str:
    """`processes` x `milestones` rules, all different, over the three activity streams."""
    lines = [
        "name: Benchmark ruleset",
        "source: salesforce",
        "fields:",
        "  Event: [Meeting_Outcome__c]",
        "  Opportunity: [Segment__c]",
        "processes:",
    ]
    segments = ("SMB", "Enterprise", "Mid-Market", "Public", "Partner")
    n = 0
    for p in range(processes):
        lines += [
            f"  - key: process_{p}",
            f"    name: Process {p}",
            f"    segment: {{Segment__c: {segments[p % len(segments)]}}}",
            "    milestones:",
        ]
        for m in range(milestones):
            word = KEYWORDS[n % len(KEYWORDS)]
            other = KEYWORDS[(n * 7 + 3) % len(KEYWORDS)]
            kind = ("writes", "says", "does")[m % 3]
            lines += [
                f"      - key: milestone_{m}",
                f"        name: Milestone {m}",
                f"        kind: {kind}",
                "        guidance: Take the next step.",
                "        rules:",
            ]
            if m % 3 == 0:
                lines += [
                    "          - stream: EmailMessage",
                    "            when:",
                    "              Incoming: true",
                    "              not: {Subject: {starts_with: [Automatic reply, Undeliverable]}}",
                    "              any:",
                    f"                - TextBody: {{contains: [{word}, {other}]}}",
                    f"                - Subject: {{regex: '(?i)\\b{word}{p}\\b'}}",
                    "            occurred_at: MessageDate",
                ]
            elif m % 3 == 1:
                lines += [
                    "          - stream: Task",
                    "            when:",
                    "              TaskSubtype: Call",
                    "              CallDisposition: Connected",
                    f"              Description: {{contains: [{word}, {other}{p}]}}",
                    "              CallDurationInSeconds: {gte: " + str(30 * (p + 1)) + "}",
                    "            occurred_at: ActivityDate",
                ]
            else:
                lines += [
                    "          - stream: Event",
                    "            when:",
                    "              Meeting_Outcome__c: Held",
                    f"              Subject: {{not_contains: {word}{p}}}",
                    "              DurationInMinutes: {gte: " + str(10 + p) + "}",
                    "            occurred_at: StartDateTime",
                ]
            n += 1
    return "\n".join(lines) + "\n"


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench mapping_eval")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", default="medium")
    parser.add_argument("--export", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args(args)

    from bench.mapping_accuracy import generate_export, salesforce_records
    from mappings.compiler import compile_ruleset
    from mappings.engine import Engine
    from mappings.resolver import EntityIndex
    from mappings.validate import load_ruleset

    with tempfile.TemporaryDirectory() as tmp:
        export = options.export
        if export is None:
            export = Path(tmp) / "export"
            print(f"… generating seed {options.seed}, size {options.size}", file=sys.stderr)
            generate_export(options.seed, options.size, export)
        records = [(s, i, d, p) for s, i, _, d, p in salesforce_records(export)]
    ruleset = load_ruleset(ruleset_text(), "bench.yaml")
    compiled = compile_ruleset(ruleset)
    tasks = {i: p for s, i, _, p in records if s == "Task"}
    index = EntityIndex("salesforce", fetch=lambda s, i: tasks.get(i) if s == "Task" else None)
    for stream, record_id, deleted, payload in records:
        if index.handles(stream):
            index.add(stream, record_id, payload, deleted)
    engine = Engine(compiled, "salesforce", index)
    print(f"… {len(records):,} records, {ruleset.rule_count()} rules", file=sys.stderr)

    ruled = compiled.streams["salesforce"]
    activities = [r for r in records if r[0] in ruled]

    def timed_match(subset: list[tuple[str, str, bool, Any]]) -> tuple[float, float, int]:
        match = engine.matches
        cpu, wall = time.process_time(), time.perf_counter()
        hits = 0
        for stream, _, _, payload in subset:
            if match(stream, payload):
                hits += 1
        return time.process_time() - cpu, time.perf_counter() - wall, hits

    def time_match() -> tuple[float, float, int]:
        return timed_match(records)

    def time_match_activities() -> tuple[float, float, int]:
        return timed_match(activities)

    def time_derive() -> tuple[float, float, int]:
        derive = engine.derive
        cpu, wall = time.process_time(), time.perf_counter()
        events = 0
        for stream, record_id, deleted, payload in records:
            events += len(derive(stream, record_id, payload, deleted).events)
        return time.process_time() - cpu, time.perf_counter() - wall, events

    rows = []
    cases = (
        ("match", time_match, len(records)),
        ("match, rule streams only", time_match_activities, len(activities)),
        ("derive", time_derive, len(records)),
    )
    for name, timer, size in cases:
        cpu, wall, count = min(timer() for _ in range(options.repeat))
        rows.append(
            {
                "case": name,
                "rules": ruleset.rule_count(),
                "records": size,
                "matched_records" if name.startswith("match") else "events": count,
                "cpu_s": round(cpu, 3),
                "wall_s": round(wall, 3),
                "records_per_cpu_s": round(size / cpu),
            }
        )
    return rows
