"""What a full Salesforce read costs, counted by the sandbox's own accounting, and how much of a
Bulk API result it holds at once.

The sandbox org (`tests/sandbox/crm/export_fixture.py`) lacks some optional fields the streams
declare on eight objects, and has every declared field on the other three; it holds 2,450 Tasks,
read through Bulk API 2.0 here (threshold 1,000). The counts are exact: a call added anywhere in
the read fails this test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.core import ApiBudget, CursorState, run_stream
from connectors.salesforce.reader import SalesforceReader
from connectors.salesforce.streams import salesforce_streams
from sandbox.crm import SandboxServer
from tests.connectors.hubspot.harness import FAST_RETRY, MemoryStore
from tests.sandbox.crm.export_fixture import TASK_COUNT, write_export
from tests.support.sandbox import salesforce_reader, serve

COMPLETE = ("Lead", "OpportunityContactRole", "OpportunityStage")
"""The objects on which this org has every field the stream declares."""


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_export(tmp_path_factory.mktemp("export"))


@pytest.fixture
def server(export_dir: Path) -> Iterator[SandboxServer]:
    with serve(export_dir) as running:
        yield running


def _reader(server: SandboxServer, budget: ApiBudget) -> SalesforceReader:
    return salesforce_reader(
        server, budget, FAST_RETRY, bulk_threshold=1000, bulk_poll_seconds=0.01
    )


def _first_load() -> CursorState:
    return CursorState.begin(None, lookback=timedelta(minutes=10), now=datetime.now(UTC))


def test_a_full_read_spends_one_query_per_small_stream_and_one_job_for_the_large_one(
    server: SandboxServer,
) -> None:
    budget = ApiBudget()
    reader = _reader(server, budget)
    store = MemoryStore()
    server.sandbox.calls.reset()
    calls = {}
    for spec in salesforce_streams():
        result = run_stream(reader, spec, _first_load(), store, budget)
        calls[spec.name] = result.api_calls
    reader.close()
    assert len(store.records("Task")) == TASK_COUNT
    # no describe where the query names only fields the org has: one query each
    assert {name: calls[name] for name in COMPLETE} == dict.fromkeys(COMPLETE, 1)
    # a refused field: the query, one describe, the query again without the missing fields
    for name in ("Account", "Contact", "Opportunity", "OpportunityHistory", "Event"):
        assert calls[name] == 3, name
    assert calls["User"] == 1 + 3, "the run's one login comes with its first stream"
    # Task: the refused query, describe, the query whose totalSize chooses Bulk, then the job:
    # create, two status polls (the sandbox's one InProgress answer, then JobComplete) and a
    # single result set, streamed
    assert calls["Task"] == 3 + 1 + 2 + 1
    assert server.sandbox.calls.snapshot() == {
        "salesforce.oauth_token": 1,
        "salesforce.query_all": 11 + 8,
        "salesforce.describe": 8,
        "salesforce.bulk_query_create": 1,
        "salesforce.bulk_query_status": 2,
        "salesforce.bulk_query_results": 1,
    }
    assert budget.calls == 32


def test_an_incremental_read_queries_the_fields_found_and_describes_nothing(
    server: SandboxServer,
) -> None:
    budget = ApiBudget()
    reader = _reader(server, budget)
    store = MemoryStore()
    for spec in salesforce_streams():
        run_stream(reader, spec, _first_load(), store, budget)
    server.sandbox.calls.reset()
    for spec in salesforce_streams():
        last, resume = store.cursors[spec.name]
        cursor = CursorState.begin(
            last, lookback=timedelta(minutes=10), now=datetime.now(UTC), resume=resume
        )
        run_stream(reader, spec, cursor, store, budget)
    reader.close()
    # per stream: one query page and the deleted-records feed
    assert server.sandbox.calls.snapshot() == {
        "salesforce.query_all": 11,
        "salesforce.deleted": 11,
    }


def test_a_bulk_result_set_is_handed_over_page_by_page_while_it_is_still_arriving(
    server: SandboxServer,
) -> None:
    """One result set (one call) for all 2,450 Tasks, yet each page is yielded, bounded by the
    stream's page size, before the rest of the set has been read off the connection."""
    budget = ApiBudget()
    reader = _reader(server, budget)
    [task] = salesforce_streams(["Task"])
    task = replace(task, page_size=200)
    pages = reader.pages(task, _first_load())
    first = next(pages)
    read_by_first_page = budget.bytes_received
    sizes = [len(first.records)] + [len(page.records) for page in pages]
    reader.close()
    assert server.sandbox.calls["salesforce.bulk_query_results"] == 1
    assert max(sizes) == 200
    assert sum(sizes) == TASK_COUNT
    assert read_by_first_page < budget.bytes_received / 2
