"""HubSpot export files read as the v3 API would have served them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.core import ConfigError, Quarantined, Record
from connectors.exports import open_export, scan
from connectors.exports.hubspot import HubSpotExport, object_type_of
from connectors.hubspot import hubspot_streams
from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from tests.connectors.hubspot.harness import MemoryStore, make_reader
from tests.connectors.hubspot.portal import ARCHIVED_EMAIL, LATE_LINK, deal, email, write_portal


@pytest.fixture(scope="module")
def portal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_portal(tmp_path_factory.mktemp("portal"), emails=40, future_changes=3)


@pytest.fixture(scope="module")
def server(portal_dir: Path) -> Iterator[SandboxServer]:
    sandbox = Sandbox.from_export(portal_dir, SandboxConfig(hs_search_per_second=None))
    with SandboxServer(sandbox) as running:
        yield running


def imported(path: Path, stream: str, **options: Any) -> list[Record | Quarantined]:
    source = HubSpotExport(scan(path), encoding="utf-8-sig", **options)
    return list(source.rows(stream))


def test_the_export_format_reads_like_the_api(portal_dir: Path, server: SandboxServer) -> None:
    api = MemoryStore()
    api.sync(make_reader(server), hubspot_streams())
    reader, specs = open_export(portal_dir, crm="hubspot")
    assert reader.crm == "hubspot"
    assert [s.name for s in specs] == [
        "owners", "pipelines", "companies", "contacts", "deals", "emails", "meetings",
    ]  # fmt: skip
    compared = 0
    for spec in specs:
        for row in reader.source.rows(spec.name):
            assert isinstance(row, Record), row
            from_api = api.rows[(spec.name, row.external_id)]
            assert (row.modified_at, row.deleted) == (from_api.modified_at, from_api.deleted)
            if spec.name in ("owners", "pipelines"):
                assert row.payload == from_api.payload
                continue
            mine, theirs = row.payload, from_api.payload
            for key in ("id", "createdAt", "updatedAt", "archived", "archivedAt"):
                assert mine.get(key) == theirs.get(key), (spec.name, key)
            if row.external_id != LATE_LINK[0]:  # the export holds links made after its `now`
                assert mine.get("associations") == theirs.get("associations")
            assert mine.get("propertiesWithHistory") == theirs.get("propertiesWithHistory")
            common = set(mine["properties"]) & set(theirs["properties"])
            assert {k: mine["properties"][k] for k in common} == {
                k: theirs["properties"][k] for k in common
            }
            compared += 1
    assert compared == 3 + 4 + 3 + 40 + 1


def ui_export(root: Path) -> Path:
    """What CRM → Export gives: labels as headers, option labels as values, local instants."""
    root.mkdir()
    (root / "hubspot-crm-exports-all-deals-2025-03-04.csv").write_text(
        "Record ID,Deal Name,Deal Stage,Amount,Close Date,Create Date,Last Modified Date,"
        "Is closed,Associated Contact IDs,Associated Company\n"
        '12000000001,Acme - Platform,Contract Sent,"48,500",2025-04-30,2025-01-02 09:30,'
        "2025-03-01 16:45,No,20000000001;20000000002,Acme\n"
        "12000000002,Globex,closedwon,900,,2025-01-03 10:00,2025-03-02 08:00,Yes,,\n"
        "12000000003,Broken,Contract Sent,1,,2025-01-03 10:00,yesterday,No,,\n"
    )
    definitions = {
        "results": [
            {"name": "dealname", "label": "Deal Name", "type": "string"},
            {
                "name": "dealstage",
                "label": "Deal Stage",
                "type": "enumeration",
                "options": [
                    {"label": "Contract Sent", "value": "contractsent"},
                    {"label": "Closed Won", "value": "closedwon"},
                ],
            },
            {"name": "amount", "label": "Amount", "type": "number"},
            {"name": "closedate", "label": "Close Date", "type": "datetime"},
            {"name": "createdate", "label": "Create Date", "type": "datetime"},
            {"name": "hs_lastmodifieddate", "label": "Last Modified Date", "type": "datetime"},
            {"name": "hs_is_closed", "label": "Is closed", "type": "bool"},
        ]
    }
    (root / "properties").mkdir()
    (root / "properties" / "deals.json").write_text(json.dumps(definitions))
    (root / "calls-export.csv").write_text(
        "Record ID,Call Title,Call direction,Call duration (HH:MM:SS),Activity date,"
        "Last Modified Date,Associated Deal IDs\n"
        "40000000001,Intro,INBOUND,00:05:12,2025-03-01 10:00,2025-03-01 10:10,12000000001\n"
    )
    return root


def test_hubspots_own_exports_are_mapped_back_to_internal_names_and_values(
    tmp_path: Path,
) -> None:
    root = ui_export(tmp_path / "ui")
    assert object_type_of("hubspot-crm-exports-all-deals-2025-03-04") == "deals"
    reader, specs = open_export(root)
    assert reader.crm == "hubspot" and [s.name for s in specs] == ["deals", "calls"]
    first, second, broken = imported(root, "deals")
    assert isinstance(first, Record) and isinstance(second, Record)
    assert first.payload["id"] == "12000000001"
    assert first.payload["properties"] == {
        "dealname": "Acme - Platform",
        "dealstage": "contractsent",
        "amount": "48500",
        "closedate": "2025-04-30T00:00:00.000Z",
        "createdate": "2025-01-02T09:30:00.000Z",
        "hs_lastmodifieddate": "2025-03-01T16:45:00.000Z",
        "hs_is_closed": "false",
        "Associated Company": "Acme",
    }
    assert first.payload["createdAt"] == "2025-01-02T09:30:00.000Z"
    assert first.payload["associations"] == {
        "contacts": {
            "results": [
                {"id": "20000000001", "type": "deal_to_contact"},
                {"id": "20000000002", "type": "deal_to_contact"},
            ]
        }
    }
    assert first.payload["propertiesWithHistory"]["dealstage"] == [
        {"value": "contractsent", "timestamp": "2025-01-02T09:30:00.000Z", "sourceType": "CRM_UI"}
    ]
    assert second.payload["properties"]["dealstage"] == "closedwon"
    assert isinstance(broken, Quarantined)
    assert broken.reason == (
        "hubspot-crm-exports-all-deals-2025-03-04.csv row 3: hs_lastmodifieddate: "
        "'yesterday' is not a date and time"
    )
    (call,) = imported(root, "calls")
    assert isinstance(call, Record)
    assert call.payload["properties"]["hs_call_duration"] == "312000"
    assert call.payload["properties"]["hs_timestamp"] == "2025-03-01T10:00:00.000Z"
    assert call.payload["associations"]["deals"]["results"] == [
        {"id": "12000000001", "type": "call_to_deal"}
    ]


def test_owners_and_pipelines_take_the_apis_shape(portal_dir: Path) -> None:
    ada, bo = imported(portal_dir, "owners")
    assert isinstance(bo, Record) and bo.deleted
    assert bo.payload["teams"] == [
        {"id": "SMB", "name": "SMB", "primary": True},
        {"id": "Enterprise", "name": "Enterprise", "primary": False},
    ]
    assert isinstance(ada, Record) and ada.payload["userId"] == 9100001
    (pipeline,) = imported(portal_dir, "pipelines")
    assert isinstance(pipeline, Record) and pipeline.external_id == "default"


def test_archived_rows_are_deleted_at_their_last_update(portal_dir: Path) -> None:
    rows = {r.external_id: r for r in imported(portal_dir, "emails") if isinstance(r, Record)}
    archived = rows[ARCHIVED_EMAIL]
    assert archived.deleted and archived.payload["archivedAt"] == archived.payload["updatedAt"]
    assert not rows[email(1)].deleted
    deals = {r.external_id: r for r in imported(portal_dir, "deals") if isinstance(r, Record)}
    assert [h["value"] for h in deals[deal(2)].payload["propertiesWithHistory"]["dealstage"]] == [
        "contractsent",
        "appointmentscheduled",
    ]


def test_missing_streams_and_mixed_exports_are_named(portal_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no file for tasks"):
        open_export(portal_dir, crm="hubspot", streams=["tasks"])
    both = tmp_path / "both"
    (both / "salesforce").mkdir(parents=True)
    (both / "salesforce" / "Task.csv").write_text("Id,SystemModstamp\n")
    (both / "hubspot").mkdir()
    (both / "hubspot" / "deals.csv").write_text("id,updatedAt\n")
    with pytest.raises(ConfigError, match="holds both Salesforce and HubSpot files"):
        open_export(both)
    assert open_export(both, crm="hubspot")[0].crm == "hubspot"
