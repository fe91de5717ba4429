"""`milestones mappings validate | preview | activate | run | versions` as a user runs them.

Two tests run the real `milestones` process; the rest call the same command in-process
(typer's runner), which is much faster and exercises the same code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from app.cli.main import app
from app.core.database import Database, upgrade
from app.core.settings import get_settings
from mappings import EXAMPLES
from tests.app.cli.conftest import run
from tests.app.services.mapping.mapping_world import SALESFORCE_RULES, email, seed_salesforce, store
from tests.conftest import FreshDatabases

EXAMPLE = EXAMPLES / "salesforce.yaml"
BROKEN = SALESFORCE_RULES.replace("stream: Event", "stream: Meetings", 1).replace(
    "kind: says", "kind: thinks", 1
)


@pytest.fixture
def cli(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The command in-process, with the same clean environment as the real process gets."""
    for name in [k for k in os.environ if k.startswith("MILESTONES_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for name, value in env.items():
        if name.startswith("MILESTONES_") or name == "DATABASE_URL":
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, ["mappings", *args])


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
    broken.write_text(BROKEN)
    result = run(["mappings", "validate", str(broken)], env, tmp_path)  # the real process
    assert result.returncode == 1
    assert f"{broken}:57:21: error: unknown stream 'Meetings' for salesforce" in result.stdout
    assert f"{broken}:80:15: error: unknown kind 'thinks'" in result.stdout
    assert "Traceback" not in result.stderr


def test_validate_as_json(cli: CliRunner, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)
    result = invoke(cli, "validate", str(broken), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert {(e["code"], e["line"], e["column"]) for e in report["errors"]} == {
        ("unknown-stream", 57, 21),
        ("bad-kind", 80, 15),
    }


def test_validate_a_good_file_without_a_database(cli: CliRunner, tmp_path: Path) -> None:
    result = invoke(cli, "validate", str(EXAMPLE), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["errors"] == []
    assert report["checked_against"].startswith("built-in catalog")
    assert not (tmp_path / "data" / "milestones.db").exists()  # validating creates nothing
    text = invoke(cli, "validate", str(EXAMPLE)).stdout
    assert "valid — 3 processes, 13 milestones, 17 rules" in " ".join(text.split())
    missing = invoke(cli, "validate", "nope.yaml")
    assert missing.exit_code == 1 and "nope.yaml: no such file" in missing.stderr


def test_activate_in_a_real_process(seeded: Database, env: dict[str, str], tmp_path: Path) -> None:
    activated = run(["mappings", "activate", str(EXAMPLE), "--json"], env, tmp_path)
    assert activated.returncode == 0, activated.stderr
    assert json.loads(activated.stdout)["version"] == 1


def test_validate_preview_activate_run_against_stored_records(
    seeded: Database, cli: CliRunner
) -> None:
    checked = json.loads(invoke(cli, "validate", str(EXAMPLE), "--json").stdout)
    assert checked["checked_against"] == "stored data"
    assert any(w["code"] == "never-matched" for w in checked["warnings"])

    preview = invoke(cli, "preview", str(EXAMPLE), "--json", "--limit", "1")
    assert preview.exit_code == 0, preview.output
    result = json.loads(preview.stdout)
    assert result["active_versions"] == {} and result["difference"]["added"] == 1

    activated = invoke(cli, "activate", str(EXAMPLE))
    assert activated.exit_code == 0, activated.output
    assert 'version 1 "Brightwave sales processes (Salesforce)" is active' in " ".join(
        activated.stdout.split()
    )

    store(
        seeded,
        1,
        "EmailMessage",
        email("02sNEW", TextBody="A quote, please.", MessageDate="2025-03-09T09:00:00.000+0000"),
    )
    ran = json.loads(invoke(cli, "run", "--json").stdout)
    assert ran["runs"][0]["events_added"] == 2
    assert "connection 1:" in invoke(cli, "run").stdout

    versions = json.loads(invoke(cli, "versions", "--json").stdout)
    assert [(v["version"], v["active"]) for v in versions["versions"]] == [(1, True)]
    assert "Brightwave" in invoke(cli, "versions").stdout

    human = invoke(cli, "preview", str(EXAMPLE))
    assert human.exit_code == 0 and "smb_new_business" in human.stdout

    again = invoke(cli, "activate", "--version", "1", "--json")
    assert json.loads(again.stdout)["connections"] == [
        {"connection": "acme", "previous_version": 1}
    ]


def test_a_broken_file_is_not_activated(seeded: Database, cli: CliRunner, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(SALESFORCE_RULES.replace("Incoming: true", "Incoming: false"))
    result = invoke(cli, "activate", str(broken))
    assert result.exit_code == 1
    assert "can only match seller-side records (outgoing emails)" in result.stdout
    assert result.stderr.strip().endswith("nothing was stored or activated")
    versions = json.loads(invoke(cli, "versions", "--json").stdout)
    assert versions["versions"] == []
    usage = invoke(cli, "activate")
    assert usage.exit_code == 1 and "give either a rule FILE or --version N" in usage.stderr
    rejected = json.loads(invoke(cli, "preview", str(broken), "--json").stdout)
    assert rejected["ok"] is False and rejected["errors"][0]["code"] == "seller-side"
