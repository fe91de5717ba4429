"""The peers tables show failures as rows, and the targets compare only with finished peers."""

from __future__ import annotations

from typing import Any

from bench.peers.report import check_targets, markdown


def _row(crm: str, tool: str, **figures: Any) -> dict[str, Any]:
    base = {"crm": crm, "tool": tool, "status": "ok", "records": 100, "api_calls": 10,
            "discover_calls": 0, "wall_s": 10.0, "records_per_s": 10, "cpu_s": 1.0,
            "peak_rss_mib": 100.0, "reason": ""}  # fmt: skip
    return {**base, **figures}


ROWS = [
    _row("salesforce", "this project", records_per_s=40, api_calls=9),
    _row("salesforce", "tap-salesforce 2.8.1", records_per_s=10, api_calls=12),
    _row("salesforce", "airbyte-source-salesforce 2.10.3", status="failed (exit 1)",
         reason="HTTPError: 404 | Not Found", records_per_s=1000, api_calls=1),
    _row("hubspot", "this project", wall_s=90.0, api_calls=20, peak_rss_mib=180.0),
    _row("hubspot", "meltano-tap-hubspot 0.10.1", wall_s=100.0, api_calls=15),
]  # fmt: skip


def test_a_failed_peer_is_a_row_with_its_reason_and_no_figures() -> None:
    table = markdown(ROWS)
    [line] = [line for line in table.splitlines() if "airbyte" in line]
    assert "failed (exit 1): HTTPError: 404 \\| Not Found" in line
    assert "1,000" not in line and line.count("—") == 7


def test_one_table_per_crm() -> None:
    assert markdown(ROWS).count("| Salesforce |") == 1
    assert markdown(ROWS).count("| HubSpot |") == 1


def test_targets_ignore_failed_peers_and_say_pass_or_fail() -> None:
    checks = {c.target: c for c in check_targets(ROWS)}
    assert checks["Salesforce records/s ≥ 3x the best peer's"].passed is True
    assert checks["Salesforce API calls ≤ the fewest any peer makes"].passed is True
    assert checks["HubSpot wall s ≤ the best peer's, same rate limit"].passed is True
    assert checks["HubSpot API calls ≤ the fewest any peer makes"].passed is False
    assert checks["HubSpot sync peak RSS ≤ 150 MiB"].passed is False


def test_a_target_without_a_finished_peer_is_not_checked() -> None:
    rows = [ROWS[0], ROWS[2]]
    checks = {c.target: c for c in check_targets(rows)}
    assert checks["Salesforce records/s ≥ 3x the best peer's"].passed is None
