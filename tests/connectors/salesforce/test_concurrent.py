"""A first load reads its streams at once: the Bulk jobs' waits overlap, while every call,
page and cursor stays what a stream-by-stream read gives, and a failed job fails its own
stream only.

The sandbox answers each job InProgress three times here, then JobComplete (`bulk_polls`); at
a Bulk threshold of 3 rows, six of the org's objects load through a job of their own. The order of
the requests the client sends shows the overlap; no test here measures time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.core import ApiBudget, CursorState, StreamOutcome, StreamRun, run_streams
from connectors.salesforce import SalesforceClient
from connectors.salesforce.bulk_query import BulkQueryFailed
from connectors.salesforce.reader import SalesforceReader
from connectors.salesforce.streams import salesforce_streams
from sandbox.crm import SandboxServer
from sandbox.crm.faults import Fault
from tests.connectors.hubspot.harness import FAST_RETRY, MemoryStore
from tests.sandbox.crm.export_fixture import TASK_COUNT, write_export
from tests.support.sandbox import salesforce_reader, serve

BULK_OBJECTS = ("Account", "Contact", "Opportunity", "OpportunityHistory", "OpportunityStage")
_JOB = re.compile(r"/jobs/query/(\w+)(/results)?$")


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_export(tmp_path_factory.mktemp("export"))


@pytest.fixture
def server(export_dir: Path) -> Iterator[SandboxServer]:
    with serve(export_dir) as running:
        running.sandbox.config.sf_bulk_polls_before_complete = 3
        yield running


class Requests:
    """What the client asked the sandbox, in order: (method, path)."""

    def __init__(self, client: SalesforceClient) -> None:
        self.sent: list[tuple[str, str]] = []
        client.session.hooks["response"].append(self._keep)

    def _keep(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        self.sent.append((str(response.request.method), str(response.request.path_url)))

    def jobs(self) -> list[tuple[str, str]]:
        """("create", "") | ("status", job id) | ("results", job id), in the order sent."""
        events = []
        for method, path in self.sent:
            path = path.split("?")[0]
            if method == "POST" and path.endswith("/jobs/query"):
                events.append(("create", ""))
            elif match := _JOB.search(path):
                events.append(("results" if match[2] else "status", match[1]))
        return events


def _reader(server: SandboxServer, budget: ApiBudget) -> SalesforceReader:
    return salesforce_reader(server, budget, FAST_RETRY, bulk_threshold=3, bulk_poll_seconds=0.2)


def _positions(store: MemoryStore) -> dict[str, Any]:
    """Each stream's cursor value, and whether a Bulk load is under way (the rest of the
    resume state holds the moment of the read)."""
    return {
        name: (last, resume.get("bulk", False)) for name, (last, resume) in store.cursors.items()
    }


def _read(
    server: SandboxServer,
    store: MemoryStore,
    streams: list[str] | None = None,
    serial: bool = False,
) -> tuple[dict[str, StreamOutcome], list[tuple[str, str]], dict[str, int]]:
    """A read of `streams` (all): at once, or `serial`ly, one stream after the other."""
    budget = ApiBudget()
    reader = _reader(server, budget)
    sent = Requests(reader.client)
    server.sandbox.calls.reset()
    now = datetime.now(UTC)
    runs = []
    for spec in salesforce_streams(streams):
        last, resume = store.cursors.get(spec.name, (None, {}))
        cursor = CursorState.begin(last, lookback=timedelta(minutes=10), now=now, resume=resume)
        runs.append(StreamRun(spec, cursor, store))
    if serial:
        read = [outcome for run in runs for outcome in run_streams(reader, [run], budget)]
    else:
        read = list(run_streams(reader, runs, budget))
    reader.close()
    outcomes = {outcome.spec.name: outcome for outcome in read}
    return outcomes, sent.jobs(), server.sandbox.calls.snapshot()


def test_the_jobs_of_a_first_load_wait_side_by_side_for_the_calls_of_a_serial_read(
    server: SandboxServer,
) -> None:
    serial_store, store = MemoryStore(), MemoryStore()
    serial, serial_jobs, serial_calls = _read(server, serial_store, serial=True)
    together, jobs, calls = _read(server, store)

    # one stream at a time: each job is created, polled and read before the next is created
    created = [index for index, (event, _job) in enumerate(serial_jobs) if event == "create"]
    first_results = serial_jobs.index(next(e for e in serial_jobs if e[0] == "results"))
    assert created[1] > first_results
    # streams read at once: every job is created before any job's results are read, and the
    # status polls of different jobs interleave
    first_results = jobs.index(next(e for e in jobs if e[0] == "results"))
    assert [event for event, _job in jobs[:first_results]].count("create") == 6
    polled = [job for event, job in jobs if event == "status"]
    first_job = polled[0]
    assert polled.index(first_job, 1) > polled.index(next(j for j in polled if j != first_job))

    # the same calls, records and cursors as the stream-by-stream read
    assert calls == serial_calls
    assert calls["salesforce.bulk_query_create"] == len(BULK_OBJECTS) + 1  # and Task
    assert store.rows.keys() == serial_store.rows.keys()
    assert _positions(store) == _positions(serial_store)
    assert len(store.records("Task")) == TASK_COUNT
    for name, outcome in together.items():
        assert outcome.error is None, name
        assert outcome.result.records_read == serial[name].result.records_read, name
        assert outcome.result.api_calls == serial[name].result.api_calls, name
    assert sum(o.result.api_calls for o in together.values()) == sum(calls.values())


def test_a_failed_job_fails_its_stream_only_and_the_next_read_loads_it_once(
    server: SandboxServer,
) -> None:
    clean = MemoryStore()
    _read(server, clean)
    server.sandbox.faults.add(
        Fault("job_failed", api="salesforce", path="/jobs/query/Contact", message="Internal")
    )
    store = MemoryStore()
    outcomes, _jobs, _calls = _read(server, store)

    failed = outcomes["Contact"]
    assert isinstance(failed.error, BulkQueryFailed) and "Internal" in str(failed.error)
    assert store.records("Contact") == {} and "Contact" not in store.cursors
    for name, outcome in outcomes.items():
        if name != "Contact":
            assert outcome.error is None and outcome.result.stopped == "done", name
            assert store.records(name) == clean.records(name), name
            assert _positions(store)[name] == _positions(clean)[name], name

    # the next read starts the failed load again, and only it: nothing lost, nothing twice
    pages_before = store.pages
    again, _jobs, calls = _read(server, store, ["Contact"])
    assert again["Contact"].error is None
    assert calls["salesforce.bulk_query_create"] == 1
    assert store.records("Contact") == clean.records("Contact")
    assert _positions(store)["Contact"] == _positions(clean)["Contact"]
    assert store.pages == pages_before + again["Contact"].result.pages
