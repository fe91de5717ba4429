"""How write-back cuts records into calls: each call as soon as its records are computed, bulk
jobs on an object's whole count; and a call refused for one value is split until only the
record Salesforce cannot read fails.

Salesforce refuses a whole sObject Collections call with 400 JSON_PARSER_ERROR when one record
carries a value its field cannot take; `isolate` halves the batch, writes what Salesforce
accepts and fails only that record, with Salesforce's message. Against the sandbox org, with
the unmodified simple-salesforce underneath the connector's writer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from app.services.writeback.batches import isolate, stream_batches
from connectors.core import ApiBudget
from connectors.core.writes import PayloadRefused, RecordUpdate, WriteOutcome
from connectors.salesforce import SalesforceAuth, SalesforceClient
from connectors.salesforce.writeback import SalesforceWriter
from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from tests.sandbox.crm.export_fixture import OPPS, write_export


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    export = write_export(tmp_path_factory.mktemp("export"))
    with SandboxServer(Sandbox.from_export(Path(export), SandboxConfig())) as running:
        yield running


@pytest.fixture
def writer(server: SandboxServer) -> Iterator[SalesforceWriter]:
    info = server.connection_info()["salesforce"]
    auth = SalesforceAuth(
        "client_credentials", info["token_url"], info["client_id"], info["client_secret"]
    )
    writer = SalesforceWriter(SalesforceClient(auth, ApiBudget(), ca_file=info["ca_file"]))
    yield writer
    writer.close()


def test_one_unreadable_value_fails_its_record_and_the_rest_are_written(
    server: SandboxServer, writer: SalesforceWriter
) -> None:
    amounts: dict[str, object] = {opp: 1000 + n for n, opp in enumerate(OPPS)}
    bad = OPPS[3]
    amounts[bad] = "a lot"
    updates = [RecordUpdate(opp, {"Amount": amount}) for opp, amount in amounts.items()]
    with pytest.raises(PayloadRefused, match="JSON_PARSER_ERROR") as refused:
        writer.update("Opportunity", updates)

    committed: dict[str, WriteOutcome] = {}

    def send(part: Sequence[RecordUpdate]) -> list[WriteOutcome]:
        return writer.update("Opportunity", part)

    def commit(part: Sequence[RecordUpdate], outcomes: list[WriteOutcome]) -> None:
        committed.update({outcome.external_id: outcome for outcome in outcomes})

    result = isolate(updates, refused.value, send, commit, lambda u: u.external_id)

    assert set(committed) == set(OPPS), "every record ends written or failed"
    failed = {opp: outcome.error or "" for opp, outcome in committed.items() if not outcome.ok}
    deleted = OPPS[4]  # deleted in the org: refused on its own, as in any call
    assert sorted(failed) == sorted([bad, deleted])
    assert "JSON_PARSER_ERROR" in failed[bad] and "a lot" in failed[bad]
    assert failed[deleted].startswith("ENTITY_IS_DELETED")
    assert result.written == len(OPPS) - 2
    assert result.calls <= 2 * 3  # 2·⌈log2 5⌉
    store = server.sandbox.salesforce
    for opp in OPPS[:3]:
        found = store.get(opp)
        assert found is not None
        assert float(found[1]["Amount"]) == amounts[opp]


class _Writer:
    """Just what batching reads of a writer: its call size (and, for bulk, its job size)."""

    batch_size = 100


class _BulkWriter(_Writer):
    bulk_job_size = 10_000

    def update_job(self, object_type: str, updates: Sequence[RecordUpdate]) -> list[WriteOutcome]:
        raise AssertionError("not called by batching")


def _chunks(pulled: list[int], sizes: list[tuple[str, int]]) -> Iterator[list[tuple[str, int]]]:
    for index, (object_type, count) in enumerate(sizes):
        pulled.append(index)
        yield [(object_type, n) for n in range(count)]


def test_each_call_goes_out_as_soon_as_its_records_are_computed() -> None:
    pulled: list[int] = []
    chunks = _chunks(pulled, [("deal", 250), ("deal", 250), ("company", 30)])
    batches = stream_batches(chunks, _Writer(), None, lambda item: item[0])
    first = next(batches)
    assert (first.object_type, len(first.items), pulled) == ("deal", 100, [0])
    assert [(b.object_type, len(b.items), b.bulk) for b in [first, *batches]] == [
        *[("deal", 100, False)] * 5,
        ("company", 30, False),
    ]
    assert pulled == [0, 1, 2]


def test_bulk_jobs_are_decided_on_every_record_of_an_object() -> None:
    pulled: list[int] = []
    chunks = _chunks(pulled, [("deal", 6_000), ("deal", 6_000), ("company", 30)])
    batches = stream_batches(chunks, _BulkWriter(), 10_000, lambda item: item[0])
    first = next(batches)
    assert pulled == [0, 1, 2], "every chunk is computed before the first job"
    assert [(b.object_type, len(b.items), b.bulk) for b in [first, *batches]] == [
        ("deal", 10_000, True),
        ("deal", 2_000, True),
        ("company", 30, False),
    ]
