"""The form_submissions stream against the sandbox portal, through hubspot-api-client over
loopback: every form's submissions, linked to their contacts by e-mail address, read again
only down to the cursor, and stored as the export loader stores them."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.mapping_accuracy import hubspot_records
from connectors.core import ApiBudget, MissingPermission
from connectors.exports import open_export
from connectors.hubspot import hubspot_streams
from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from sandbox.crm.hubspot.auth import ALL_SCOPES
from sandbox.history import build_params, generate
from sandbox.history.forms import DEMO, PRICING
from sandbox.history.hubspot_schema import FORM_SUBMISSION_COLUMNS, forms_json
from tests.connectors.hubspot.harness import MemoryStore, make_reader
from tests.connectors.hubspot.portal import NOW, START, contact, hs_time, write_portal

PRICING_SENT = 120  # more than two pages of 50
LATER = NOW + timedelta(hours=1)


def _row(n: int, form: str, at: datetime, email: str) -> list[str]:
    return [f"conv-{n:04d}", form, hs_time(at), "https://www.example.com/p", email, "A", "B", "C"]


@pytest.fixture
def portal(tmp_path: Path) -> Path:
    """The test portal with two forms: 120 pricing inquiries from its four contacts and from
    an address no contact has, one demo request sent with an upper-case address, and one
    pricing inquiry an hour after NOW (the sandbox's clock plays it out)."""
    root = write_portal(tmp_path / "portal", emails=5, future_changes=0)
    (root / "hubspot" / "forms.json").write_text(json.dumps(forms_json((DEMO, PRICING), 0)))
    rows = [
        _row(n, PRICING.guid, START + timedelta(hours=n), f"p{1 + n % 5}@c.example")
        for n in range(PRICING_SENT)
    ]  # p5@c.example is nobody's address
    rows.append(_row(900, DEMO.guid, START, "P2@C.example"))
    for path, written in ((root / "hubspot", rows), (root / "future/hubspot", [])):
        path.mkdir(parents=True, exist_ok=True)
        with (path / "form_submissions.csv").open("w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(FORM_SUBMISSION_COLUMNS)
            writer.writerows(written or [_row(901, PRICING.guid, LATER, "p1@c.example")])
    return root


@pytest.fixture
def server(portal: Path) -> Iterator[SandboxServer]:
    sandbox = Sandbox.from_export(portal, SandboxConfig(hs_search_per_second=None))
    with SandboxServer(sandbox) as running:
        yield running


def test_every_submission_is_stored_with_its_form_and_contact(server: SandboxServer) -> None:
    budget = ApiBudget()
    store = MemoryStore()
    (spec,) = hubspot_streams(["form_submissions"])
    (result,) = store.sync(make_reader(server, budget), [spec], now=NOW).values()
    assert result.stopped == "done"
    records = store.records("form_submissions")
    assert len(records) == PRICING_SENT + 1  # the later one is not sent yet
    first = records["conv-0000"]
    assert first.modified_at == START
    assert first.payload["formId"] == PRICING.guid
    assert first.payload["formName"] == "Pricing inquiry"
    assert first.payload["submittedAt"] == int(START.timestamp() * 1000)
    assert {"name": "email", "value": "p1@c.example"} in first.payload["values"]
    links = first.payload["associations"]["contacts"]["results"]
    assert links == [{"id": contact(1), "type": "form_submission_to_contact"}]
    assert "associations" not in records["conv-0004"].payload  # p5@c.example: no contact
    demo = records["conv-0900"].payload
    assert demo["email"] == "p2@c.example" and demo["formName"] == "Request a demo"
    assert demo["associations"]["contacts"]["results"][0]["id"] == contact(2)
    newest = START + timedelta(hours=PRICING_SENT - 1)
    assert store.cursors["form_submissions"][0] == newest
    # the forms list, three pages of pricing inquiries, one of demo requests, and one
    # contact look-up per page
    assert budget.calls == 1 + 4 + 4


def test_a_later_sync_reads_only_down_to_the_cursor(server: SandboxServer) -> None:
    store = MemoryStore()
    (spec,) = hubspot_streams(["form_submissions"])
    store.sync(make_reader(server), [spec], now=NOW)
    server.sandbox.advance(hours=2)
    budget = ApiBudget()
    store.sync(make_reader(server, budget), [spec], now=NOW + timedelta(hours=2))
    records = store.records("form_submissions")
    assert records["conv-0901"].modified_at == LATER
    assert len(records) == PRICING_SENT + 2
    assert store.cursors["form_submissions"][0] == LATER
    # the forms list, the first page of each form (it reaches past the cursor), one look-up each
    assert budget.calls == 1 + 2 + 2


def test_without_the_forms_scope_the_stream_names_it(server: SandboxServer) -> None:
    server.sandbox.hs_tokens.set_app_scopes(ALL_SCOPES - {"forms"})
    (spec,) = hubspot_streams(["form_submissions"])
    with pytest.raises(MissingPermission) as refused:
        MemoryStore().sync(make_reader(server), [spec], now=NOW)
    assert refused.value.missing == ("forms",)


def test_the_api_the_export_connection_and_the_loader_store_the_same(tmp_path: Path) -> None:
    """The generated history's submissions, read over the API, are the records an export
    connection reads from its files and the records the export loader
    (`bench.mapping_accuracy.hubspot_records`, used by the candidate tests) makes."""
    now = datetime(2025, 7, 1, tzinfo=UTC)
    generate(build_params(seed=3, opportunities=150, now=now, forms=True), tmp_path, force=True)
    loaded = {
        record_id: (modified, payload)
        for stream, record_id, modified, _deleted, payload in hubspot_records(tmp_path)
        if stream == "form_submissions"
    }
    assert len(loaded) > 20
    sandbox = Sandbox.from_export(tmp_path, SandboxConfig(hs_search_per_second=None))
    with SandboxServer(sandbox) as server:
        store = MemoryStore()
        store.sync(make_reader(server), hubspot_streams(["form_submissions"]), now=now)
    synced = {i: (r.modified_at, r.payload) for i, r in store.records("form_submissions").items()}
    assert synced == loaded
    reader, specs = open_export(tmp_path, crm="hubspot", streams=["form_submissions"])
    assert [spec.name for spec in specs] == ["form_submissions"]
    imported = {
        r.external_id: (r.modified_at, r.payload) for r in reader.source.rows("form_submissions")
    }
    assert imported == loaded
    assert sum("associations" in payload for _, payload in synced.values()) == len(synced)
