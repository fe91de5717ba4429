"""`milestones crm setup-fields` and `milestones writeback` as an admin runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.crypto import SecretBox, generate_key
from app.core.database import Database, upgrade
from sandbox.history import build_params, generate
from tests.app.cli.conftest import run
from tests.conftest import FreshDatabases
from tests.support.writeback_world import crm_world


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("history")
    generate(build_params(seed=5, size="small", future_days=10), out)
    return out


def test_setup_fields_check_dry_run_create_then_write_back(
    env: dict[str, str], fresh_databases: FreshDatabases, history: Path, tmp_path: Path
) -> None:
    key = generate_key()
    env["DATABASE_URL"] = fresh_databases.url("cli_writeback")
    env["MILESTONES_SECRET_KEY"] = key
    database = Database(env["DATABASE_URL"])
    upgrade(database.engine)
    with crm_world(database, SecretBox([key.encode()]), history, "salesforce") as world:
        checked = run(["crm", "setup-fields", "acme", "--check"], env, tmp_path)
        assert checked.returncode == 1
        assert "Opportunity.Stalled__c does not exist" in checked.stdout

        dry = run(["crm", "setup-fields", "acme", "--dry-run", "--json"], env, tmp_path)
        assert dry.returncode == 0, dry.stderr
        planned = json.loads(dry.stdout)
        assert {f["status"] for f in planned["fields"]["Opportunity"]} == {"to create"}
        assert world.sandbox.calls["salesforce.tooling_custom_field"] == 0

        both = run(["crm", "setup-fields", "acme", "--dry-run", "--check"], env, tmp_path)
        assert both.returncode == 2 and "exclude each other" in both.stderr

        created = run(["crm", "setup-fields", "acme"], env, tmp_path)
        assert created.returncode == 0, created.stdout + created.stderr
        assert "created: Opportunity.Milestone__c" in created.stdout

        preview = run(["writeback", "acme", "--dry-run", "--json"], env, tmp_path)
        assert preview.returncode == 0, preview.stderr
        (planned_run,) = json.loads(preview.stdout)["runs"]
        assert planned_run["records_changed"] > 200 and planned_run["api_calls"] == 0

        written = run(["writeback"], env, tmp_path)
        assert written.returncode == 0, written.stdout + written.stderr
        assert f"{planned_run['records_changed']:,} written" in written.stdout
        assert world.sandbox.calls["salesforce.collections_update"] == -(
            -planned_run["records_changed"] // 200
        )
    database.dispose()
