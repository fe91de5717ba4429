"""The HubSpot reader against the sandbox portal, through hubspot-api-client over loopback."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pytest

from connectors.core import ApiBudget, ConfigError, Quarantined, Record
from connectors.hubspot import hubspot_streams
from connectors.hubspot.reader import HubSpotReader
from connectors.hubspot.streams import stream_info
from crm import parse_instant
from sandbox.crm import Sandbox, SandboxServer
from sandbox.crm.hubspot.store import HsObject
from tests.connectors.hubspot.harness import MemoryStore, expected_associations, make_reader
from tests.connectors.hubspot.portal import (
    ARCHIVED_DEAL,
    ARCHIVED_EMAIL,
    LATE_LINK,
    deal,
    email,
    hs_time,
)

OBJECT_STREAMS = ["companies", "contacts", "deals", "emails", "meetings"]


def test_a_first_sync_equals_the_portal(sandbox: Sandbox, server: SandboxServer) -> None:
    budget = ApiBudget()
    store = MemoryStore()
    results = store.sync(make_reader(server, budget), hubspot_streams())
    assert all(result.stopped == "done" for result in results.values())
    hub = sandbox.hubspot
    for stream in OBJECT_STREAMS:
        records = store.records(stream)
        assert set(records) == set(hub.objects[stream]), stream
        for ident, record in records.items():
            obj = hub.objects[stream][ident]
            assert record.deleted == obj.archived
            assert record.payload["updatedAt"] == obj.updated_at
            for name, value in record.payload["properties"].items():
                assert value == (ident if name == "hs_object_id" else obj.properties.get(name))
            links = {
                to_type: {item["id"] for item in group["results"]}
                for to_type, group in record.payload.get("associations", {}).items()
            }
            assert links == expected_associations(
                sandbox, stream, ident, stream_info(stream).associations
            )
    assert store.rows[("emails", ARCHIVED_EMAIL)].deleted
    assert store.rows[("deals", ARCHIVED_DEAL)].deleted
    history = store.rows[("deals", deal(2))].payload["propertiesWithHistory"]["dealstage"]
    assert [entry["value"] for entry in history] == ["contractsent", "appointmentscheduled"]
    assert store.rows[("deals", deal(1))].payload["properties"]["segment"] == "enterprise"
    assert {i for (s, i) in store.rows if s == "owners"} == {"61000001", "61000002"}
    assert store.rows[("owners", "61000002")].deleted
    assert store.rows[("pipelines", "default")].payload["stages"][1]["id"] == "contractsent"
    # calls: per object stream its properties, one probe, the live pages and the archived ones
    live = {s: sum(not o.archived for o in hub.objects[s].values()) for s in OBJECT_STREAMS}
    pages = {s: 50 if s == "deals" else 100 for s in OBJECT_STREAMS}
    object_calls = sum(2 + max(1, math.ceil(live[s] / pages[s])) + 1 for s in OBJECT_STREAMS)
    empty = 3  # tasks, calls, notes: properties, probe, one empty list, one empty archived list
    forms = 1  # the forms list: this portal has none, so no submissions to ask for
    assert budget.calls == object_calls + 4 * empty + 2 + 1 + forms
    cursor, resume = store.cursors["emails"]
    assert cursor == parse_instant(hs_time(max(_email_stamps(sandbox))))
    assert set(resume) == {"swept_at", "archived_at", "described"}
    assert "hs_email_direction" in resume["described"]["names"]


def _email_stamps(sandbox: Sandbox) -> list[datetime]:
    return [
        parse_instant(o.properties["hs_lastmodifieddate"])
        for o in sandbox.hubspot.objects["emails"].values()
        if not o.archived
    ]


def test_a_walk_stopped_midway_resumes_from_its_paging_token(
    sandbox: Sandbox, server: SandboxServer
) -> None:
    emails = hubspot_streams(["emails"])
    stopped = MemoryStore()
    result = stopped.sync(make_reader(server), emails, should_stop=lambda: stopped.pages >= 1)
    assert result["emails"].stopped == "stopped"
    assert len(stopped.records("emails")) == 100
    last_value, resume = stopped.cursors["emails"]
    assert last_value is None and resume["walk"]["after"] is not None
    sandbox.calls.reset()
    stopped.sync(make_reader(server), emails)
    assert sandbox.calls.snapshot()["hubspot.objects_list"] == 3  # two live pages, one archived
    clean = MemoryStore()
    clean.sync(make_reader(server), emails)
    assert {k: (r.payload, r.deleted) for k, r in stopped.rows.items()} == {
        k: (r.payload, r.deleted) for k, r in clean.rows.items()
    }
    assert stopped.cursors["emails"][0] == clean.cursors["emails"][0]


def test_an_incremental_sync_reads_changes_new_records_and_stage_history(
    sandbox: Sandbox, server: SandboxServer
) -> None:
    store = MemoryStore()
    store.sync(make_reader(server), hubspot_streams())
    sandbox.advance(timedelta(hours=4))
    budget = ApiBudget()
    results = store.sync(make_reader(server, budget), hubspot_streams(["emails", "deals"]))
    emails, deals = results["emails"], results["deals"]
    # emails 1-5 changed; email 3 is in the recycle bin, where search does not look
    assert (emails.records_new, emails.records_changed) == (1, 4)
    assert store.rows[("emails", email(251))].payload["associations"]["deals"]["results"] == [
        {"id": deal(1), "type": "email_to_deal"}
    ]
    assert store.rows[("emails", email(1))].payload["properties"]["hs_email_subject"] == "Re: new"
    assert deals.records_changed == 1
    history = store.rows[("deals", deal(1))].payload["propertiesWithHistory"]["dealstage"]
    assert [entry["value"] for entry in history] == ["contractsent", "appointmentscheduled"]
    # emails: one search, three association reads; deals: one search, one batch read for the
    # history, two association reads (property definitions are kept from the first sync)
    assert emails.api_calls == 1 + 3
    assert deals.api_calls == 1 + 1 + 2
    assert store.quarantined == []


def test_an_association_made_without_touching_the_record_is_caught_by_the_sweep(
    sandbox: Sandbox, server: SandboxServer
) -> None:
    emails = hubspot_streams(["emails"])
    store = MemoryStore()
    store.sync(make_reader(server), emails)
    linked_email, linked_deal = LATE_LINK
    assert "deals" not in store.rows[("emails", linked_email)].payload.get("associations", {})
    sandbox.advance(timedelta(hours=1, minutes=30))
    store.sync(make_reader(server), emails)  # search: the email's modification date is old
    assert "deals" not in store.rows[("emails", linked_email)].payload.get("associations", {})
    swept = store.sync(make_reader(server, association_sweep=timedelta(0)), emails)
    links = store.rows[("emails", linked_email)].payload["associations"]["deals"]["results"]
    assert links == [{"id": linked_deal, "type": "email_to_deal"}]
    # the sweep also re-reads the recycle bin, where email 3 changed unseen by search
    assert swept["emails"].records_changed == 2
    assert store.rows[("emails", ARCHIVED_EMAIL)].payload["properties"]["hs_email_subject"] == (
        "Re: new"
    )


def test_archived_records_become_soft_deletes_when_the_archived_list_is_due(
    sandbox: Sandbox, server: SandboxServer
) -> None:
    emails = hubspot_streams(["emails"])
    store = MemoryStore()
    store.sync(make_reader(server), emails)
    target = sandbox.hubspot.objects["emails"][email(10)]
    archived_at = hs_time(sandbox.now())
    sandbox.hubspot.put(
        "emails",
        HsObject(target.id, dict(target.properties), target.created_at, archived_at, True),
    )
    store.sync(make_reader(server), emails)
    assert not store.rows[("emails", email(10))].deleted  # the hourly archived read is not due
    result = store.sync(make_reader(server, deletions_every=timedelta(0)), emails)
    assert store.rows[("emails", email(10))].deleted
    assert result["emails"].records_deleted == 1


def test_malformed_records_are_quarantined_and_the_rest_is_stored(
    sandbox: Sandbox, server: SandboxServer
) -> None:
    broken = sandbox.hubspot.objects["emails"][email(7)]
    broken.properties["hs_lastmodifieddate"] = None
    broken.updated_at = "last tuesday"
    store = MemoryStore()
    store.sync(make_reader(server), hubspot_streams(["emails"]))
    assert [(q.external_id, q.reason) for q in store.quarantined] == [
        (email(7), "missing or unreadable hs_lastmodifieddate / updatedAt 'last tuesday'")
    ]
    assert len(store.records("emails")) == 249


def test_records_without_an_id_or_properties_are_refused() -> None:
    reader = HubSpotReader(client=None)  # type: ignore[arg-type]
    spec = hubspot_streams(["emails"])[0]
    objects: tuple[Any, ...] = (
        {"id": "1", "properties": {"hs_lastmodifieddate": "2025-03-01T10:00:00.000Z"}},
        {"properties": {}},
        {"id": "3"},
        "text",
        {
            "id": "5",
            "properties": {"hs_lastmodifieddate": "2025-03-01T10:00:00.000Z"},
            "archived": True,
            "archivedAt": "2025-03-02T10:00:00.000Z",
        },
    )
    built = [reader.to_record(spec, obj) for obj in objects]
    assert [(b.external_id, type(b).__name__) for b in built] == [
        ("1", "Record"),
        (None, "Quarantined"),
        ("3", "Quarantined"),
        (None, "Quarantined"),
        ("5", "Record"),
    ]
    deleted = built[-1]
    assert isinstance(deleted, Record) and deleted.deleted
    assert deleted.modified_at == parse_instant("2025-03-02T10:00:00Z")
    assert isinstance(built[2], Quarantined) and built[2].reason == "missing properties object"


def test_a_configured_property_the_portal_lacks_is_named(server: SandboxServer) -> None:
    reader = make_reader(server, strict_fields=frozenset({"deal_temperature"}))
    spec = hubspot_streams(["deals"], {"deals": ["deal_temperature"]})[0]
    with pytest.raises(ConfigError, match="HubSpot deals has no property deal_temperature"):
        reader.resolve_properties(spec)
    assert "hs_priority" not in make_reader(server).resolve_properties(spec)  # optional: skipped


def test_unknown_streams_are_named() -> None:
    with pytest.raises(ValueError, match="unknown HubSpot stream\\(s\\) tickets"):
        hubspot_streams(["tickets"])


def test_property_definitions_are_read_again_when_the_property_list_changes(
    server: SandboxServer,
) -> None:
    store = MemoryStore()
    store.sync(make_reader(server), hubspot_streams(["deals"]))
    store.sync(make_reader(server), hubspot_streams(["deals"]))  # kept: no describe
    extended = hubspot_streams(["deals"], {"deals": ["deal_temperature"]})
    strict = make_reader(server, strict_fields=frozenset({"deal_temperature"}))
    with pytest.raises(ConfigError, match="no property deal_temperature"):
        store.sync(strict, extended)


def test_excluded_custom_properties_are_never_read(server: SandboxServer) -> None:
    spec = hubspot_streams(["deals"])[0]
    store = MemoryStore()
    store.sync(make_reader(server), [spec])
    assert "segment" in store.rows[("deals", deal(1))].payload["properties"]
    reader = make_reader(server, exclude_properties=frozenset({"segment"}))
    assert "segment" not in reader.resolve_properties(spec)
    store.sync(reader, [spec], should_stop=lambda: True)  # a new exclusion: described again
    assert "segment" not in store.cursors["deals"][1]["described"]["names"]
