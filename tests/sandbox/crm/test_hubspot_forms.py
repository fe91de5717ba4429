"""Marketing forms and the v1 submissions API of the sandbox portal: the forms list read into
hubspot-api-client's own models, submissions newest first with paging tokens that survive new
submissions, and HubSpot's refusals."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from hubspot import HubSpot

from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from sandbox.crm.loader import load_export
from sandbox.history.forms import DEMO, PRICING
from sandbox.history.hubspot_schema import FORM_SUBMISSION_COLUMNS, forms_json
from tests.sandbox.crm.export_fixture import write_export


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[SandboxServer]:
    root = write_export(tmp_path / "export")
    now = load_export(root).manifest.now
    (root / "hubspot" / "forms.json").write_text(json.dumps(forms_json((DEMO, PRICING), 0)))
    for folder, rows in (
        (root / "hubspot", [(n, now - timedelta(hours=5 - n)) for n in range(5)]),
        (root / "future" / "hubspot", [(9, now + timedelta(minutes=1))]),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "form_submissions.csv").open("w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(FORM_SUBMISSION_COLUMNS)
            for n, at in rows:
                when = f"{at:%Y-%m-%dT%H:%M:%S}.000Z"
                email = f"a{n}@x.example"
                writer.writerow(
                    [f"c{n}", PRICING.guid, when, "https://x.example/p", email, "", "", ""]
                )
    sandbox = Sandbox.from_export(root, SandboxConfig(hs_search_per_second=None))
    with SandboxServer(sandbox) as server:
        yield server


def _get(server: SandboxServer, path: str, **params: Any) -> requests.Response:
    token = server.sandbox.config.hs_access_token
    return requests.get(
        f"{server.hubspot_url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def test_the_forms_list_reads_into_the_clients_models(portal: SandboxServer) -> None:
    hs = HubSpot(access_token=portal.sandbox.config.hs_access_token, host=portal.hubspot_url)
    first = hs.marketing.forms.forms_api.get_page(limit=1)
    assert [(f.id, f.name) for f in first.results] == [(DEMO.guid, "Request a demo")]
    after = first.paging.next.after
    second = hs.marketing.forms.forms_api.get_page(limit=1, after=after)
    assert [f.name for f in second.results] == ["Pricing inquiry"] and second.paging is None


def test_submissions_come_newest_first_and_pages_survive_new_ones(portal: SandboxServer) -> None:
    path = f"/form-integrations/v1/submissions/forms/{PRICING.guid}"
    first = _get(portal, path, limit=2).json()
    assert [s["conversionId"] for s in first["results"]] == ["c4", "c3"]
    assert first["results"][0]["values"] == [{"name": "email", "value": "a4@x.example"}]
    assert isinstance(first["results"][0]["submittedAt"], int)
    portal.sandbox.advance(timedelta(minutes=2))  # c9 is submitted now
    rest = _get(portal, path, limit=50, after=first["paging"]["next"]["after"]).json()
    assert [s["conversionId"] for s in rest["results"]] == ["c2", "c1", "c0"]
    assert "paging" not in rest
    assert _get(portal, path).json()["results"][0]["conversionId"] == "c9"


def test_refusals(portal: SandboxServer) -> None:
    path = f"/form-integrations/v1/submissions/forms/{PRICING.guid}"
    assert _get(portal, path, limit=51).status_code == 400
    assert _get(portal, path, after="not-a-token").status_code == 400
    assert _get(portal, "/form-integrations/v1/submissions/forms/nope").status_code == 404
    portal.sandbox.hs_tokens.set_app_scopes({"crm.objects.contacts.read"})
    refused = _get(portal, path)
    assert refused.status_code == 403 and "forms" in refused.text
