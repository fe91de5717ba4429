"""The clock: future record versions appear when it passes them; writes stamp the sandbox time."""

from __future__ import annotations

from datetime import timedelta

import requests
from hubspot import HubSpot
from simple_salesforce import Salesforce

from sandbox.crm import Sandbox, SandboxServer
from sandbox.crm.clock import SandboxClock
from tests.sandbox.crm.export_fixture import NOW, OPPS, TASK_COUNT


def test_future_versions_appear_as_the_clock_passes_them(
    server: SandboxServer, sandbox: Sandbox
) -> None:
    sf = Salesforce(
        instance_url=server.salesforce_url,
        session_id=server.access_token(),
        session=server.requests_session(),
    )
    hs = HubSpot(access_token=sandbox.config.hs_access_token, host=server.hubspot_url)
    count = "SELECT COUNT() FROM Task"
    assert sf.query(count)["totalSize"] == TASK_COUNT - 1
    assert hs.crm.objects.basic_api.get_page("emails", limit=100, after="599").results == []

    sandbox.advance(hours=1)
    assert sf.query(count)["totalSize"] == TASK_COUNT
    stage = f"SELECT StageName FROM Opportunity WHERE Id = '{OPPS[0]}'"
    assert sf.query(stage)["records"][0]["StageName"] == "Prospecting"
    [email] = hs.crm.objects.basic_api.get_page(
        "emails", limit=100, after="599", associations=["deals"]
    ).results
    assert email.id == "599" and email.associations["deals"].results[0].id == "400"

    answer = requests.post(
        f"{server.hubspot_url}/__sandbox/clock",
        json={"advance_seconds": 1800},
        timeout=5,
    )
    assert answer.json()["now"] == "2025-03-01T13:30:00Z"
    assert sf.query(stage)["records"][0]["StageName"] == "Proposal"
    deal = hs.crm.objects.basic_api.get_by_id(
        "deals", "400", properties=["dealstage"], properties_with_history=["dealstage"]
    )
    assert deal.properties["dealstage"] == "qualifiedtobuy"
    assert deal.properties_with_history["dealstage"][0].value == "qualifiedtobuy"
    assert sandbox.salesforce.pending_count == 0 and sandbox.hubspot.pending_count == 0


def test_incremental_queries_see_changes_by_system_modstamp(
    server: SandboxServer, sandbox: Sandbox
) -> None:
    sf = Salesforce(
        instance_url=server.salesforce_url,
        session_id=server.access_token(),
        session=server.requests_session(),
    )
    mark = sandbox.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    sandbox.advance(seconds=30)
    sf.Opportunity.update(OPPS[2], {"Name": "Deal 2 (renamed)"})
    changed = sf.query(f"SELECT Id, Name FROM Opportunity WHERE SystemModstamp > {mark}")["records"]
    assert [r["Id"] for r in changed] == [OPPS[2]]
    window = sf.Opportunity.updated(
        sandbox.now() - timedelta(minutes=5), sandbox.now() + timedelta(minutes=1)
    )
    assert OPPS[2] in window["ids"]


def test_deleted_window_lists_deleted_rows(server: SandboxServer, sandbox: Sandbox) -> None:
    sf = Salesforce(
        instance_url=server.salesforce_url,
        session_id=server.access_token(),
        session=server.requests_session(),
    )
    from sandbox.crm.salesforce.store import convert_cell

    row = sandbox.salesforce.tables["Opportunity"][OPPS[3]]
    row["IsDeleted"] = True
    row["SystemModstamp"] = convert_cell(
        "datetime", (sandbox.now() - timedelta(minutes=2)).isoformat()
    )
    answer = sf.Opportunity.deleted(sandbox.now() - timedelta(days=1), sandbox.now())
    assert [d["id"] for d in answer["deletedRecords"]] == [OPPS[3]]
    assert "earliestDateAvailable" in answer and "latestDateCovered" in answer


def test_real_time_mode_runs_at_n_times_speed() -> None:
    clock = SandboxClock(NOW, speed=3600.0)
    import time

    time.sleep(0.05)
    assert clock.now() - NOW >= timedelta(seconds=170)
