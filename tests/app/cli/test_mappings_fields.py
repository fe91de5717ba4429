"""`milestones mappings activate` when the rules need fields a connection does not pull: it
refuses and offers `--add-fields`, which adds them and says that a sync must follow."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app.core.database import Database, upgrade
from app.models import Connection, StreamCursor
from mappings import EXAMPLES
from tests.app.cli.conftest import run
from tests.app.services.mapping.mapping_world import add_connection, seed_salesforce
from tests.conftest import FreshDatabases

EXAMPLE = EXAMPLES / "salesforce.yaml"  # declares Opportunity, Account: Segment__c; Event: …
SALESFORCE = {
    "kind": "salesforce",
    "auth_flow": "client_credentials",
    "token_url": "https://acme.my.salesforce.com/services/oauth2/token",
    "client_id": "3MVG9x",
}
NEEDED = {"Account": ["Segment__c"], "Event": ["Meeting_Outcome__c"], "Opportunity": ["Segment__c"]}


@pytest.fixture(params=["synced", "before the first sync"])
def database(
    request: pytest.FixtureRequest, env: dict[str, str], fresh_databases: FreshDatabases
) -> Iterator[Database]:
    url = fresh_databases.url("fields")
    database = Database(url)
    upgrade(database.engine)
    if request.param == "synced":
        connection_id = seed_salesforce(database)
    else:
        connection_id = add_connection(database)
    with database.session() as session:
        session.execute(update(Connection).values(settings=SALESFORCE))
        for stream in ("Opportunity", "Task"):
            session.add(StreamCursor(connection_id=connection_id, stream=stream))
    env["DATABASE_URL"] = url
    yield database
    database.dispose()


def test_activation_refuses_fields_no_sync_pulls_and_names_the_way_out(
    database: Database, env: dict[str, str], tmp_path: Path
) -> None:
    refused = run(["mappings", "activate", str(EXAMPLE)], env, tmp_path)
    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert (
        "acme does not pull Account.Segment__c, Event.Meeting_Outcome__c, Opportunity.Segment__c"
        in line
    )
    assert "--add-fields" in line and "nothing was activated" in line
    assert json.loads(run(["mappings", "versions", "--json"], env, tmp_path).stdout) == {
        "versions": []
    }


def test_add_fields_adds_them_activates_and_says_a_sync_must_follow(
    database: Database, env: dict[str, str], tmp_path: Path
) -> None:
    activated = run(["mappings", "activate", str(EXAMPLE), "--add-fields", "--json"], env, tmp_path)
    assert activated.returncode == 0, activated.stderr
    result = json.loads(activated.stdout)
    assert result["version"] == 1
    assert result["fields_added"] == [
        {"connection": "acme", "fields": NEEDED, "reread": ["Account", "Event", "Opportunity"]}
    ]
    with database.sessions() as session:
        settings = session.scalars(select(Connection.settings)).one()
        cursors = list(session.scalars(select(StreamCursor.stream)))
    assert settings["extra_fields"] == NEEDED
    assert cursors == ["Task"]  # Opportunity is read whole at the next sync

    again = run(["mappings", "activate", str(EXAMPLE), "--add-fields"], env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "a sync must follow" not in again.stdout  # nothing left to add


def test_the_human_answer_names_the_sync_to_run(
    database: Database, env: dict[str, str], tmp_path: Path
) -> None:
    activated = run(["mappings", "activate", str(EXAMPLE), "--add-fields"], env, tmp_path)
    assert activated.returncode == 0, activated.stderr
    pulls = "acme: now pulls Account.Segment__c, Event.Meeting_Outcome__c, Opportunity.Segment__c"
    assert pulls in activated.stdout
    assert "a sync must follow" in activated.stdout
    assert (
        "`milestones sync acme --stream Account --stream Event --stream Opportunity`"
        in activated.stdout
    )
