"""The peers bench's rows as BENCHMARKS.md tables, and the issue's targets checked against them.

    print(markdown(rows))          # one table per CRM, failures as rows with their reason
    for check in check_targets(rows): check.target, check.measured, check.passed

Targets compare this project ("this project" rows) with the peers that finished; a peer that
failed sets no bar (a bar from a tool that did not finish would be no bar at all), and a target
with no finished peer to compare with is reported as not checked, never as passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Check", "check_targets", "markdown"]

OWN = "this project"
NAMES = {"salesforce": "Salesforce", "hubspot": "HubSpot"}
RSS_LIMIT_MIB = 150.0
COLUMNS = (
    ("tool", "tool"),
    ("status", "status"),
    ("records", "records"),
    ("api_calls", "API calls"),
    ("discover_calls", "discover calls"),
    ("wall_s", "wall s"),
    ("records_per_s", "records/s"),
    ("cpu_s", "CPU s"),
    ("peak_rss_mib", "peak RSS MiB"),
)


@dataclass(frozen=True)
class Check:
    target: str
    measured: str
    passed: bool | None  # None: nothing to compare with


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def markdown(rows: list[dict[str, Any]]) -> str:
    """One table per CRM; a failed row shows its reason in place of figures it does not have."""
    parts = []
    for crm in dict.fromkeys(row["crm"] for row in rows):
        lines = [
            f"| {NAMES.get(crm, crm)} | " + " | ".join(title for _, title in COLUMNS[1:]) + " |",
            "|---|---|" + "---:|" * (len(COLUMNS) - 2),
        ]
        for row in (r for r in rows if r["crm"] == crm):
            ok = row.get("status") == "ok"
            cells = [_cell(row.get(key)) if ok or key in ("tool", "status") else "—"
                     for key, _ in COLUMNS]  # fmt: skip
            if not ok:
                cells[1] = f"{cells[1]}: {_cell(row.get('reason'))}"
            lines.append("| " + " | ".join(cells) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def _finished(
    rows: list[dict[str, Any]], crm: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    mine = [r for r in rows if r["crm"] == crm and r["tool"] == OWN and r["status"] == "ok"]
    peers = [r for r in rows if r["crm"] == crm and r["tool"] != OWN and r["status"] == "ok"]
    return (mine[0] if mine else None), peers


def check_targets(rows: list[dict[str, Any]]) -> list[Check]:
    checks: list[Check] = []
    own, peers = _finished(rows, "salesforce")
    if own is not None:
        best = max(peers, key=lambda r: r["records_per_s"], default=None)
        checks.append(
            Check(
                "Salesforce records/s ≥ 3x the best peer's",
                f"{own['records_per_s']:,} vs 3x {best['records_per_s']:,} ({best['tool']})"
                if best else f"{own['records_per_s']:,}; no peer finished",
                own["records_per_s"] >= 3 * best["records_per_s"] if best else None,
            )
        )  # fmt: skip
    own, peers = _finished(rows, "hubspot")
    if own is not None:
        best = min(peers, key=lambda r: r["wall_s"], default=None)
        checks.append(
            Check(
                "HubSpot wall s ≤ the best peer's, same rate limit",
                f"{own['wall_s']:,} vs {best['wall_s']:,} ({best['tool']})"
                if best else f"{own['wall_s']:,}; no peer finished",
                own["wall_s"] <= best["wall_s"] if best else None,
            )
        )  # fmt: skip
    for crm in dict.fromkeys(r["crm"] for r in rows):
        own, peers = _finished(rows, crm)
        if own is None:
            continue
        fewest = min(peers, key=lambda r: r["api_calls"], default=None)
        checks.append(
            Check(
                f"{NAMES.get(crm, crm)} API calls ≤ the fewest any peer makes",
                f"{own['api_calls']:,} vs {fewest['api_calls']:,} ({fewest['tool']})"
                if fewest else f"{own['api_calls']:,}; no peer finished",
                own["api_calls"] <= fewest["api_calls"] if fewest else None,
            )
        )  # fmt: skip
        checks.append(
            Check(
                f"{NAMES.get(crm, crm)} sync peak RSS ≤ {RSS_LIMIT_MIB:.0f} MiB",
                f"{own['peak_rss_mib']:,} MiB",
                own["peak_rss_mib"] <= RSS_LIMIT_MIB,
            )
        )
    return checks


def render(document: dict[str, Any]) -> str:
    """The BENCHMARKS.md section body from a `bench/results/peers.json` document."""
    rows = document["rows"]
    lines = [markdown(rows), "| target | measured | result |", "|---|---|---|"]
    for check in check_targets(rows):
        result = {True: "pass", False: "**fail**", None: "not checked"}[check.passed]
        lines.append(f"| {check.target} | {check.measured} | {result} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import json
    import sys
    from pathlib import Path

    print(render(json.loads(Path(sys.argv[1]).read_text())))
