"""A run writes the documented tree, byte for byte the same for the same options."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sandbox.history import build_params, generate
from tests.sandbox.history.conftest import Export, make_export

SALESFORCE = (
    "User",
    "Account",
    "Contact",
    "Lead",
    "Opportunity",
    "OpportunityStage",
    "OpportunityHistory",
    "OpportunityContactRole",
    "Task",
    "Event",
    "EmailMessage",
)
HUBSPOT = (
    "owners",
    "companies",
    "contacts",
    "deals",
    "emails",
    "meetings",
    "calls",
    "notes",
    "tasks",
)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_the_tree_is_the_documented_one(export: Export) -> None:
    files = set(_digest(export.out))
    expected = {"manifest.json", "summary.json", "salesforce/describe.json"}
    expected |= {f"salesforce/{name}.csv" for name in SALESFORCE}
    expected |= {f"future/salesforce/{name}.csv" for name in SALESFORCE}
    extra = ("associations", "property_history")
    expected |= {f"hubspot/{name}.csv" for name in (*HUBSPOT, *extra)}
    expected |= {f"future/hubspot/{name}.csv" for name in (*HUBSPOT, *extra)}
    expected |= {"hubspot/pipelines.json"}
    expected |= {"truth/deals.csv", "truth/milestones.csv", "truth/parameters.json"}
    expected |= {"truth/scenario.json"}
    assert files == expected


def test_the_manifest(export: Export) -> None:
    manifest = json.loads((export.out / "manifest.json").read_text())
    assert manifest["format"] == "milestone-sync-export/1"
    assert manifest["seed"] == 7
    assert manifest["now"] == "2025-07-01T00:00:00.000Z"
    assert manifest["history_start"] == "2022-07-02T00:00:00.000Z"
    assert manifest["future_until"] == "2025-07-31T00:00:00.000Z"
    assert list(manifest["counts"]["salesforce"]) == list(SALESFORCE)
    assert list(manifest["counts"]["hubspot"]) == list(HUBSPOT)
    for name, count in manifest["counts"]["salesforce"].items():
        assert len(export.rows(f"salesforce/{name}.csv")) == count
    for name, count in manifest["counts"]["hubspot"].items():
        assert len(export.rows(f"hubspot/{name}.csv")) == count


def test_same_seed_same_bytes(tmp_path: Path, export: Export) -> None:
    again = make_export(tmp_path / "again")
    assert _digest(again.out) == _digest(export.out)


def test_two_workers_write_the_same_bytes_as_one(tmp_path: Path, export: Export) -> None:
    params = build_params(seed=7, opportunities=300, future_days=30)
    generate(params, tmp_path / "parallel", workers=2)
    assert _digest(tmp_path / "parallel") == _digest(export.out)


def test_another_seed_another_business(tmp_path: Path, export: Export) -> None:
    other = make_export(tmp_path / "other", seed=8)
    assert (other.out / "salesforce/Opportunity.csv").read_bytes() != (
        export.out / "salesforce/Opportunity.csv"
    ).read_bytes()


def test_the_future_never_rewrites_the_past(tmp_path: Path, export: Export) -> None:
    """A horizon further out adds future versions; the state at `now` stays byte-identical."""
    without = make_export(tmp_path / "now-only", future_days=0)
    base = {
        k: v for k, v in _digest(export.out).items() if k.startswith(("salesforce/", "hubspot/"))
    }
    assert base == {
        k: v for k, v in _digest(without.out).items() if k.startswith(("salesforce/", "hubspot/"))
    }
    assert len(without.rows("future/salesforce/Task.csv")) == 0
    assert len(export.rows("future/salesforce/Task.csv")) > 0


def test_base_rows_are_at_or_before_now_and_future_rows_within_the_horizon(export: Export) -> None:
    now, until = "2025-07-01T00:00:00.000Z", "2025-07-31T00:00:00.000Z"
    for name in SALESFORCE:
        assert all(r["SystemModstamp"] <= now for r in export.rows(f"salesforce/{name}.csv"))
        future = export.rows(f"future/salesforce/{name}.csv")
        assert all(now < r["SystemModstamp"] <= until for r in future)
    for name in HUBSPOT:
        assert all(r["updatedAt"] <= now for r in export.rows(f"hubspot/{name}.csv"))
        future = export.rows(f"future/hubspot/{name}.csv")
        assert all(now < r["updatedAt"] <= until for r in future)
    history = export.rows("future/hubspot/property_history.csv")
    assert history and all(now < r["timestamp"] <= until for r in history)


def test_future_versions_of_one_record_come_in_time_order(export: Export) -> None:
    versions: dict[str, list[str]] = {}
    for row in export.rows("future/salesforce/Opportunity.csv"):
        versions.setdefault(row["Id"], []).append(row["SystemModstamp"])
    assert all(stamps == sorted(set(stamps)) for stamps in versions.values())
    assert any(len(stamps) > 1 for stamps in versions.values())


def test_generating_into_a_non_empty_directory_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    params = build_params(seed=1, opportunities=5)
    with pytest.raises(Exception, match="not empty"):
        generate(params, out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    generate(params, out, force=True)
    assert (out / "notes.txt").read_text() == "keep"
    assert (out / "manifest.json").exists()


def test_zero_opportunities_still_write_a_valid_export(tmp_path: Path) -> None:
    summary = generate(build_params(seed=1, opportunities=0), tmp_path / "empty")
    assert summary["counts"]["salesforce"]["Opportunity"] == 0
    assert summary["counts"]["salesforce"]["User"] > 0
