"""Export connections: Salesforce Data Exports and HubSpot exports into the raw layer, no API calls.

The imported payloads are compared with what the API connectors store for the same history
served by the sandbox, so that mapping rules read both alike. SQLite, and PostgreSQL with
TEST_DATABASE_URL.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.core.crypto import SecretBox
from app.core.database import Database
from app.core.errors import InvalidRequestError
from app.models import Connection, QuarantinedRecord
from app.services.connections.registry import create_connection
from app.services.sync.runs import SyncReport, sync_connection
from sandbox.crm import SandboxServer
from sandbox.history import build_params, generate
from tests.connectors.hubspot.harness import FAST_RETRY
from tests.support.raw_layer import raw_rows
from tests.support.sandbox import salesforce_connection_args, serve

SALESFORCE = [
    "User", "Account", "Contact", "Lead", "Opportunity", "OpportunityHistory",
    "OpportunityContactRole", "OpportunityStage", "Task", "Event", "EmailMessage",
]  # fmt: skip


@pytest.fixture(scope="session")
def history_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("history")
    generate(build_params(seed=11, size="small"), out)
    return out


@pytest.fixture(scope="module")
def server(history_dir: Path) -> Iterator[SandboxServer]:
    with serve(history_dir) as running:
        yield running


def add(db: Database, box: SecretBox, name: str, settings: dict[str, Any], **secrets: str) -> str:
    with db.session() as session:
        create_connection(session, box, name=name, settings=settings, secrets=secrets)
    return name


def export(db: Database, box: SecretBox, name: str, path: Path, **settings: Any) -> str:
    return add(db, box, name, {"kind": "export", "path": str(path), **settings})


def sync(db: Database, box: SecretBox, name: str, **kwargs: Any) -> SyncReport:
    return sync_connection(db, box, name, retry=FAST_RETRY, **kwargs)


def test_a_salesforce_data_export_equals_what_the_rest_api_stores(
    db: Database, box: SecretBox, history_dir: Path, server: SandboxServer
) -> None:
    imported = export(db, box, "backfill", history_dir, crm="salesforce")
    report = sync(db, box, imported)
    assert report.status == "succeeded", report
    assert report.api_calls == 0 and report.bytes_received == 0
    args = salesforce_connection_args(server)
    api = add(db, box, "org", args["settings"], **args["secrets"])
    assert sync(db, box, api).status == "succeeded"
    from_export, from_api = raw_rows(db, imported), raw_rows(db, api)
    assert set(from_export) == set(from_api)
    assert {key[0] for key in from_export} == set(SALESFORCE)
    for key, (payload, deleted) in from_api.items():
        mine, my_deleted = from_export[key]
        assert my_deleted == deleted
        assert {field: mine.get(field) for field in payload} == payload, key


def test_a_hubspot_export_equals_what_the_v3_api_stores(
    db: Database, box: SecretBox, history_dir: Path, server: SandboxServer
) -> None:
    imported = export(db, box, "backfill", history_dir, crm="hubspot")
    assert sync(db, box, imported).api_calls == 0
    info = server.connection_info()["hubspot"]
    api = add(
        db,
        box,
        "portal",
        {"kind": "hubspot", "base_url": info["base_url"], "search_per_second": 100},
        access_token=info["access_token"],
    )
    assert sync(db, box, api).status == "succeeded"
    from_export, from_api = raw_rows(db, imported), raw_rows(db, api)
    assert set(from_export) == set(from_api)
    for key, (payload, deleted) in from_api.items():
        mine, my_deleted = from_export[key]
        assert my_deleted == deleted, key
        if key[0] in ("owners", "pipelines"):
            assert mine == payload
            continue
        assert {k: v for k, v in mine.items() if k != "properties"} == {
            k: v for k, v in payload.items() if k != "properties"
        }, key
        assert {name: mine["properties"].get(name) for name in payload["properties"]} == payload[
            "properties"
        ], key


def data_export_zip(history_dir: Path, path: Path, **replace: tuple[str, str]) -> Path:
    """The generated Salesforce files as a weekly Data Export: one zip, CSVs at the top."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for csv_file in sorted((history_dir / "salesforce").glob("*.csv")):
            text = csv_file.read_text(encoding="utf-8")
            if csv_file.stem in replace:
                old, new = replace[csv_file.stem]
                text = text.replace(old, new, 1)
            archive.writestr(csv_file.name, "\ufeff" + text)
    return path


def test_a_zipped_export_imports_like_the_folder_and_only_once(
    db: Database, box: SecretBox, history_dir: Path, tmp_path: Path
) -> None:
    folder = export(db, box, "folder", history_dir, crm="salesforce")
    zipped = export(db, box, "zipped", data_export_zip(history_dir, tmp_path / "WE_00D_1.ZIP"))
    assert sync(db, box, folder).status == sync(db, box, zipped).status == "succeeded"
    assert raw_rows(db, zipped) == raw_rows(db, folder)
    again = sync(db, box, zipped)
    assert again.status == "succeeded" and all(o.pages == 0 for o in again.streams)


def test_a_newer_export_changes_only_what_changed(
    db: Database, box: SecretBox, history_dir: Path, tmp_path: Path
) -> None:
    name = export(db, box, "weekly", data_export_zip(history_dir, tmp_path / "WE_1.ZIP"))
    assert sync(db, box, name).status == "succeeded"
    opportunity = next(p for (s, _i), (p, _d) in raw_rows(db, name).items() if s == "Opportunity")
    row_start = f"{opportunity['Id']},{opportunity['Name']},"
    renamed = (row_start, f"{opportunity['Id']},Renamed,")
    newer = data_export_zip(history_dir, tmp_path / "WE_2.ZIP", Opportunity=renamed)
    with db.session() as session:
        connection = session.scalars(select(Connection).where(Connection.name == name)).one()
        connection.settings = {**connection.settings, "path": str(newer)}
    report = sync(db, box, name)
    assert report.status == "succeeded"
    changed = {o.stream: o.new + o.changed for o in report.streams}
    assert changed == {stream: int(stream == "Opportunity") for stream in SALESFORCE}
    assert raw_rows(db, name)[("Opportunity", opportunity["Id"])][0]["Name"] == "Renamed"


def test_a_stopped_import_resumes_and_ends_equal_to_a_clean_one(
    db: Database, box: SecretBox, history_dir: Path
) -> None:
    pages: list[str] = []
    stopped = export(db, box, "stopped", history_dir, crm="salesforce", streams=["Task"])
    first = sync(
        db,
        box,
        stopped,
        on_page=lambda result: pages.append(result.stream),
        should_stop=lambda: len(pages) >= 1,
    )
    assert first.status == "partial" and len(raw_rows(db, stopped)) == 2000
    assert sync(db, box, stopped).status == "succeeded"
    clean = export(db, box, "clean", history_dir, crm="salesforce", streams=["Task"])
    assert sync(db, box, clean).status == "succeeded"
    assert raw_rows(db, stopped) == raw_rows(db, clean)


def test_malformed_rows_are_quarantined_and_the_import_goes_on(
    db: Database, box: SecretBox, tmp_path: Path
) -> None:
    root = tmp_path / "hubspot"
    root.mkdir()
    (root / "emails.csv").write_text(
        "id,createdAt,updatedAt,archived,hs_timestamp,hs_lastmodifieddate,hs_email_direction\n"
        "1,2025-03-01T10:00:00.000Z,2025-03-01T10:00:00.000Z,false,2025-03-01T10:00:00.000Z,"
        "2025-03-01T10:00:00.000Z,INCOMING_EMAIL\n"
        ",2025-03-01T10:00:00.000Z,2025-03-01T10:00:00.000Z,false,,,EMAIL\n"
        "3,2025-03-01T10:00:00.000Z,soon,false,,,EMAIL\n"
        "4,2025-03-01T10:00:00.000Z\n"
    )
    (root / "properties.json").write_text(json.dumps({"emails": []}))
    name = export(db, box, "files", tmp_path)
    report = sync(db, box, name)
    assert report.status == "succeeded"
    assert report.streams[0].quarantined == 3
    with db.sessions() as session:
        reasons = sorted(r.reason for r in session.scalars(select(QuarantinedRecord)))
    assert reasons == [
        "hubspot/emails.csv row 2: missing id",
        "hubspot/emails.csv row 3: unreadable hs_lastmodifieddate / updatedAt 'soon'",
        "hubspot/emails.csv row 4: 2 cells, header has 7",
    ]
    assert list(raw_rows(db, name)) == [("emails", "1")]


def test_an_export_path_that_is_not_there_is_named(
    db: Database, box: SecretBox, tmp_path: Path
) -> None:
    gone = tmp_path / "missing.zip"
    gone.write_bytes(b"")  # there when the connection was added, moved away since
    name = export(db, box, "nothing", gone)
    gone.unlink()
    with pytest.raises(InvalidRequestError, match=r"missing\.zip does not exist"):
        sync(db, box, name)
