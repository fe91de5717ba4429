"""The export-file format as the loader reads it, including what the generator writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sandbox.crm import Sandbox
from sandbox.crm.loader import ExportError, load_export
from sandbox.crm.salesforce.soql_eval import compile_query
from tests.sandbox.crm.export_fixture import NOW, TASK_COUNT


def test_loads_both_crms_with_types_from_describe_catalog_and_values(export_dir: Path) -> None:
    loaded = load_export(export_dir)
    assert loaded.manifest.now == NOW
    sf = loaded.salesforce
    assert len(sf.tables["Task"]) == TASK_COUNT
    assert sf.schemas["EmailMessage"].fields["TextBody"].type == "textarea"  # describe.json
    assert sf.schemas["Opportunity"].fields["Amount"].type == "currency"  # catalog
    account = next(iter(sf.tables["Account"].values()))
    assert account["CreatedDate"].endswith(".000+0000") and account["AnnualRevenue"] == 1_000_000.0
    assert account["IsDeleted"] is False
    hs = loaded.hubspot
    assert len(hs.objects["deals"]) == 5 and hs.objects["deals"]["403"].archived
    assert hs.properties["deals"]["amount"].type == "number"
    assert {o["value"] for o in hs.properties["deals"]["dealstage"].options} >= {"closedwon"}
    assert sf.pending_count == 2 and hs.pending_count == 2


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "manifest.json").unlink(), "manifest.json: missing"),
        (
            lambda d: (d / "manifest.json").write_text(json.dumps({"format": "other/9"})),
            "expected 'milestone-sync-export/1'",
        ),
        (
            lambda d: (d / "salesforce" / "Account.csv").write_text("Id,Name\n001,Acme,extra\n"),
            "Account.csv:2: 3 cells, header has 2",
        ),
        (
            lambda d: (d / "salesforce" / "Lead.csv").write_text("Name\nx\n"),
            "Lead.csv: no Id column",
        ),
        (
            lambda d: (d / "hubspot" / "deals.csv").write_text(
                "id,createdAt,updatedAt\n1,x,yesterday\n"
            ),
            "updatedAt 'yesterday' is not a timestamp",
        ),
    ],
)
def test_broken_exports_name_the_file_and_the_problem(
    export_dir: Path, tmp_path: Path, damage: object, message: str
) -> None:
    copy = tmp_path / "export"
    shutil.copytree(export_dir, copy)
    damage(copy)  # type: ignore[operator]
    with pytest.raises(ExportError) as caught:
        load_export(copy)
    assert message in str(caught.value)


def test_the_generators_export_loads_and_answers_queries(tmp_path: Path) -> None:
    from sandbox.history import build_params, generate

    folder = tmp_path / "generated"
    generate(build_params(seed=3, opportunities=25, future_days=2), folder)
    sandbox = Sandbox.from_export(folder)
    query = "SELECT Id, StageName, Account.Name, Owner.Name FROM Opportunity WHERE IsClosed = false"
    compiled = compile_query(query, sandbox.salesforce, sandbox.now())
    assert compiled.run(include_deleted=False)
    assert sandbox.hubspot.objects["deals"] and sandbox.hubspot.pipelines
    sandbox.advance(days=3)
    assert sandbox.salesforce.pending_count == 0 and sandbox.hubspot.pending_count == 0
