"""`milestones mappings validate | preview | activate | run | versions` as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.db import Database, upgrade
from tests.app.cli.conftest import run
from tests.app.services.mapping_world import SALESFORCE_RULES, email, seed_salesforce, store
from tests.conftest import FreshDatabases

EXAMPLE = Path(__file__).resolve().parents[3] / "mappings" / "examples" / "salesforce.yaml"


@pytest.fixture
def seeded(env: dict[str, str], fresh_databases: FreshDatabases) -> Iterator[Database]:
    url = fresh_databases.url("mappings")
    database = Database(url)
    upgrade(database.engine)
    seed_salesforce(database)
    env["DATABASE_URL"] = url
    yield database
    database.dispose()


def test_validate_reports_every_error_with_its_place(env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        SALESFORCE_RULES.replace("stream: Event", "stream: Meetings", 1).replace(
            "kind: says", "kind: thinks", 1
        )
    )
    result = run(["mappings", "validate", str(broken)], env, tmp_path)
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert f"{broken}:57:21: error: unknown stream 'Meetings' for salesforce" in result.stdout
    assert any(":80:15: error: unknown kind 'thinks'" in line for line in lines)
    assert "Traceback" not in result.stderr
    as_json = json.loads(run(["mappings", "validate", str(broken), "--json"], env, tmp_path).stdout)
    assert as_json["ok"] is False
    assert {(e["code"], e["line"], e["column"]) for e in as_json["errors"]} == {
        ("unknown-stream", 57, 21),
        ("bad-kind", 80, 15),
    }


def test_validate_a_good_file_without_a_database(env: dict[str, str], tmp_path: Path) -> None:
    result = run(["mappings", "validate", str(EXAMPLE), "--json"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["errors"] == []
    assert report["checked_against"].startswith("built-in catalog")
    assert not (tmp_path / "data" / "milestones.db").exists()  # validating creates nothing
    missing = run(["mappings", "validate", "nope.yaml"], env, tmp_path)
    assert missing.returncode == 1 and missing.stderr.strip() == "error: nope.yaml: no such file"


def test_validate_preview_activate_run_against_stored_records(
    seeded: Database, env: dict[str, str], tmp_path: Path
) -> None:
    checked = json.loads(
        run(["mappings", "validate", str(EXAMPLE), "--json"], env, tmp_path).stdout
    )
    assert checked["checked_against"] == "stored data"
    assert any(w["code"] == "never-matched" for w in checked["warnings"])

    preview = run(["mappings", "preview", str(EXAMPLE), "--json", "--limit", "1"], env, tmp_path)
    assert preview.returncode == 0, preview.stderr
    result = json.loads(preview.stdout)
    assert result["active_version"] is None and result["difference"]["added"] == 1

    activated = run(["mappings", "activate", str(EXAMPLE), "--json"], env, tmp_path)
    assert activated.returncode == 0, activated.stderr
    assert json.loads(activated.stdout)["version"] == 1

    text = run(["mappings", "activate", str(EXAMPLE)], env, tmp_path).stdout
    assert 'version 1 "Brightwave sales processes (Salesforce)" is active' in text

    store(
        seeded,
        1,
        "EmailMessage",
        email("02sNEW", TextBody="A quote, please.", MessageDate="2025-03-09T09:00:00.000+0000"),
    )
    ran = json.loads(run(["mappings", "run", "--json"], env, tmp_path).stdout)
    assert ran["runs"][0]["events_added"] == 2

    versions = json.loads(run(["mappings", "versions", "--json"], env, tmp_path).stdout)
    assert [(v["version"], v["active"]) for v in versions["versions"]] == [(1, True)]

    human = run(["mappings", "preview", str(EXAMPLE)], env, tmp_path)
    assert human.returncode == 0 and "smb_new_business" in human.stdout


def test_a_broken_file_is_not_activated(
    seeded: Database, env: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(SALESFORCE_RULES.replace("Incoming: true", "Incoming: false"))
    result = run(["mappings", "activate", str(broken)], env, tmp_path)
    assert result.returncode == 1
    assert "seller-side" not in result.stderr  # the details go to stdout, one per line
    assert "can only match seller-side records (outgoing emails)" in result.stdout
    assert result.stderr.strip().endswith("nothing was stored or activated")
    versions = json.loads(run(["mappings", "versions", "--json"], env, tmp_path).stdout)
    assert versions["versions"] == []
    usage = run(["mappings", "activate"], env, tmp_path)
    assert usage.returncode == 1 and "give either a rule FILE or --version N" in usage.stderr
