"""What the worker tests share: a sandbox org, connections to it, waiting, new customer actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text

from sandbox.crm import SandboxServer

__all__ = ["count_rows", "new_salesforce_task"]


def count_rows(url: str, sql: str, **params: Any) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql), params).scalar_one())
    finally:
        engine.dispose()


def new_salesforce_task(server: SandboxServer, subject: str = "Re: proposal") -> str:
    """A customer's reply logged in Salesforce now, through the org's REST API."""
    session = server.requests_session()
    response = session.post(
        f"{server.salesforce_url}/services/data/v59.0/sobjects/Task",
        json={"Subject": subject, "TaskSubtype": "Email", "Status": "Completed"},
        headers={"Authorization": f"Bearer {server.access_token()}"},
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["id"])
