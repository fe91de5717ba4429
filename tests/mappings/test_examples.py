"""The shipped example processes recover a generated sales history's true milestones.

A small history (seed 3) is generated, its export files are read as the connectors would store
them, and the first event per deal and milestone is compared with the generator's truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.mapping_accuracy import hubspot_records, salesforce_records, score, truth
from mappings.compiler import compile_ruleset
from mappings.engine import Engine
from mappings.resolver import EntityIndex
from mappings.validate import load_ruleset
from sandbox.history import build_params, generate

EXAMPLES = Path(__file__).resolve().parents[2] / "mappings" / "examples"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("history")
    generate(build_params(seed=3, size="small"), out, force=True)
    return out


def _first_events(
    crm: str, records: list[tuple[str, str, Any, bool, dict[str, Any]]]
) -> dict[tuple[str, str], datetime]:
    others = {(stream, rid): payload for stream, rid, _, _, payload in records}
    index = EntityIndex(crm, fetch=lambda stream, rid: others.get((stream, rid)))  # type: ignore[arg-type]
    for stream, rid, _, deleted, payload in records:
        if index.handles(stream):
            index.add(stream, rid, payload, deleted)
    ruleset = load_ruleset((EXAMPLES / f"{crm}.yaml").read_text(), f"{crm}.yaml")
    engine = Engine(compile_ruleset(ruleset), crm, index)  # type: ignore[arg-type]
    first: dict[tuple[str, str], datetime] = {}
    for stream, rid, _, deleted, payload in records:
        for event in engine.derive(stream, rid, payload, deleted).events:
            key = (event.opportunity_id, event.milestone_key)
            if key not in first or event.occurred_at < first[key]:
                first[key] = event.occurred_at
    return first


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_examples_recover_the_true_milestones(export: Path, crm: str) -> None:
    reader: Iterator[Any] = (
        salesforce_records(export) if crm == "salesforce" else hubspot_records(export)
    )
    predicted = _first_events(crm, list(reader))
    rows = score(predicted, truth(export, crm), timedelta(hours=24))
    assert {row["milestone"] for row in rows} == {
        "reply",
        "meeting_held",
        "requirements_sent",
        "proposal_requested",
        "verbal_yes",
        "signed",
    }
    for row in rows:
        assert row["precision"] >= 0.95 and row["recall"] >= 0.95, row
