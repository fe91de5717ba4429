"""Pipelines and owners are read whole every run: what HubSpot no longer lists is soft-deleted.

A deleted pipeline or a removed user simply stops appearing in HubSpot's lists (no archived
list exists for pipelines); the raw layer marks it deleted and keeps its last payload, and a
removed stage leaves its pipeline's stored stages.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.crypto import SecretBox
from app.core.database import Database
from app.services.connections.registry import create_connection
from app.services.sync.runs import SyncReport, sync_connection
from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from sandbox.crm.faults import Fault
from tests.connectors.hubspot.harness import FAST_RETRY
from tests.connectors.hubspot.portal import write_portal
from tests.support.raw_layer import raw_rows
from tests.support.sandbox import hubspot_connection_args

STREAMS = ["owners", "pipelines"]


@pytest.fixture(scope="module")
def portal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_portal(tmp_path_factory.mktemp("portal"), emails=5, future_changes=0)


@pytest.fixture
def portal(portal_dir: Path) -> Iterator[SandboxServer]:
    sandbox = Sandbox.from_export(portal_dir, SandboxConfig(hs_search_per_second=None))
    renewals = copy.deepcopy(sandbox.hubspot.pipelines[0])
    renewals.update(id="renewals", label="Renewals")
    sandbox.hubspot.pipelines.append(renewals)
    with SandboxServer(sandbox) as server:
        yield server


def sync(db: Database, box: SecretBox) -> SyncReport:
    return sync_connection(db, box, "portal", retry=FAST_RETRY, streams=STREAMS)


def deleted(report: SyncReport) -> dict[str, int]:
    return {o.stream: o.deleted for o in report.streams}


@pytest.fixture
def synced(db: Database, box: SecretBox, portal: SandboxServer) -> SandboxServer:
    with db.session() as session:
        create_connection(session, box, name="portal", **hubspot_connection_args(portal))
    assert sync(db, box).status == "succeeded"
    return portal


def test_a_pipeline_deleted_in_hubspot_is_soft_deleted_with_its_last_payload(
    db: Database, box: SecretBox, synced: SandboxServer
) -> None:
    synced.sandbox.hubspot.pipelines.pop()  # HubSpot lists only the pipelines that exist
    report = sync(db, box)
    assert deleted(report) == {"owners": 0, "pipelines": 1}
    payload, is_deleted = raw_rows(db)[("pipelines", "renewals")]
    assert is_deleted and payload["label"] == "Renewals"
    assert raw_rows(db)[("pipelines", "default")][1] is False
    assert deleted(sync(db, box)) == {"owners": 0, "pipelines": 0}  # once


def test_a_removed_stage_leaves_its_pipelines_stored_stages(
    db: Database, box: SecretBox, synced: SandboxServer
) -> None:
    default = synced.sandbox.hubspot.pipelines[0]
    default["stages"] = [s for s in default["stages"] if s["id"] != "contractsent"]
    assert sync(db, box).status == "succeeded"
    payload, is_deleted = raw_rows(db)[("pipelines", "default")]
    assert not is_deleted
    assert [s["id"] for s in payload["stages"]] == ["appointmentscheduled", "closedwon"]


def test_an_owner_removed_from_hubspot_is_soft_deleted(
    db: Database, box: SecretBox, synced: SandboxServer
) -> None:
    del synced.sandbox.hubspot.owners["61000001"]  # neither active nor archived any more
    report = sync(db, box)
    assert deleted(report) == {"owners": 1, "pipelines": 0}
    payload, is_deleted = raw_rows(db)[("owners", "61000001")]
    assert is_deleted and payload["email"] == "ada@example.com"


def test_a_pipeline_that_comes_back_is_restored(
    db: Database, box: SecretBox, synced: SandboxServer
) -> None:
    renewals = synced.sandbox.hubspot.pipelines.pop()
    sync(db, box)
    synced.sandbox.hubspot.pipelines.append(renewals)
    sync(db, box)
    assert raw_rows(db)[("pipelines", "renewals")][1] is False


def test_an_incomplete_read_deletes_nothing(
    db: Database, box: SecretBox, synced: SandboxServer
) -> None:
    synced.sandbox.hubspot.pipelines.pop()
    del synced.sandbox.hubspot.owners["61000001"]
    synced.sandbox.faults.add(Fault("server_error", api="hubspot", path="/owners", times=None))
    report = sync(db, box)
    assert report.status == "partial"
    assert deleted(report) == {"owners": 0, "pipelines": 1}
    assert raw_rows(db)[("owners", "61000001")][1] is False
