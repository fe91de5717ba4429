"""A sandbox CRM on loopback for connector and sync tests, and connections that point at it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors.core import ApiBudget, RetryPolicy
from connectors.salesforce import SalesforceAuth, SalesforceClient
from connectors.salesforce.reader import SalesforceReader
from sandbox.crm import Sandbox, SandboxConfig, SandboxServer

__all__ = ["hubspot_connection_args", "salesforce_connection_args", "salesforce_reader", "serve"]


def serve(export: Path, **config: Any) -> SandboxServer:
    """The sandbox serving `export`, to use as a context manager, with room for back-to-back
    runs (no search pacing, 10,000 calls a 10-second window: a new run does not know the last
    one's calls; in production its retries wait the window out); `config` overrides."""
    config = {"hs_search_per_second": None, "hs_ten_second_max": 10_000, **config}
    return SandboxServer(Sandbox.from_export(export, SandboxConfig(**config)))


def salesforce_connection_args(server: SandboxServer, **settings: Any) -> dict[str, Any]:
    """`create_connection` keyword arguments for the sandbox's Salesforce org."""
    info = server.connection_info()["salesforce"]
    return {
        "settings": {
            "kind": "salesforce",
            "auth_flow": "client_credentials",
            "token_url": info["token_url"],
            "client_id": info["client_id"],
            "ca_file": info["ca_file"],
            **settings,
        },
        "secrets": {"client_secret": info["client_secret"]},
    }


def salesforce_reader(
    server: SandboxServer, budget: ApiBudget, retry: RetryPolicy, **options: Any
) -> SalesforceReader:
    """A reader of the sandbox's Salesforce org over HTTPS, on a client of its own; `options`
    are the reader's (e.g. `bulk_threshold`, `bulk_poll_seconds`)."""
    info = server.connection_info()["salesforce"]
    auth = SalesforceAuth(
        "client_credentials", info["token_url"], info["client_id"], info["client_secret"]
    )
    client = SalesforceClient(auth, budget, ca_file=info["ca_file"], retry=retry)
    return SalesforceReader(client, **options)


def hubspot_connection_args(server: SandboxServer, **settings: Any) -> dict[str, Any]:
    """`create_connection` keyword arguments for the sandbox's HubSpot portal."""
    info = server.connection_info()["hubspot"]
    return {
        "settings": {
            "kind": "hubspot",
            "base_url": info["base_url"],
            "portal_id": str(info["portal_id"]),
            **settings,
        },
        "secrets": {"access_token": info["access_token"]},
    }
