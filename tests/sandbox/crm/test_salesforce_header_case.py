"""Salesforce answers with capitalised header names, as clients that read them as written need."""

from __future__ import annotations

from sandbox.crm import SandboxServer
from sandbox.crm.salesforce.header_case import canonical


def test_names_are_capitalised_part_by_part() -> None:
    assert canonical(b"content-type") == b"Content-Type"
    assert canonical(b"sforce-limit-info") == b"Sforce-Limit-Info"
    assert canonical(b"Sforce-Locator") == b"Sforce-Locator"


def test_answers_carry_salesforce_header_case_on_the_wire(server: SandboxServer) -> None:
    session = server.requests_session()
    headers = {"Authorization": f"Bearer {server.access_token()}"}
    answer = session.get(f"{server.salesforce_url}/services/data/v59.0/limits", headers=headers)
    names = set(dict(answer.headers))  # requests keeps the names as the server wrote them
    assert {"Content-Type", "Sforce-Limit-Info"} <= names
    assert "content-type" not in names
    refused = session.get(f"{server.salesforce_url}/services/data/v59.0/limits")
    assert refused.status_code == 401 and "Content-Type" in dict(refused.headers)
