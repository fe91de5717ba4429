"""Salesforce connections: the client, the reader and the write-back writer on the settings."""

from __future__ import annotations

from dataclasses import replace

from app.core.crypto import Credentials
from app.services.connections.registry import SalesforceSettings
from connectors.core import ApiBudget, RetryPolicy, StreamSpec
from connectors.salesforce.auth import SalesforceAuth
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.reader import SalesforceReader
from connectors.salesforce.streams import salesforce_streams
from connectors.salesforce.writeback import SalesforceWriter

__all__ = ["client", "reader", "writer"]


def client(
    settings: SalesforceSettings,
    credentials: Credentials,
    budget: ApiBudget,
    retry: RetryPolicy | None = None,
) -> SalesforceClient:
    auth = SalesforceAuth(
        flow=settings.auth_flow,
        token_url=settings.token_url,
        client_id=settings.client_id,
        client_secret=credentials.get("client_secret", ""),
        refresh_token=credentials.get("refresh_token", ""),
        username=settings.username,
        password=credentials.get("password", ""),
        private_key=credentials.get("private_key", ""),
    )
    return SalesforceClient(
        auth, budget, api_version=settings.api_version, ca_file=settings.ca_file, retry=retry
    )


def reader(
    settings: SalesforceSettings, client: SalesforceClient
) -> tuple[SalesforceReader, list[StreamSpec]]:
    specs = [
        replace(spec, page_size=settings.page_size)
        for spec in salesforce_streams(settings.streams, settings.extra_fields)
    ]
    strict = frozenset(name for fields in settings.extra_fields.values() for name in fields)
    found = SalesforceReader(
        client,
        strict_fields=strict,
        bulk_threshold=settings.bulk_threshold,
        bulk_poll_seconds=settings.bulk_poll_seconds,
    )
    return found, specs


def writer(settings: SalesforceSettings, client: SalesforceClient) -> SalesforceWriter:
    return SalesforceWriter(client, settings.bulk_poll_seconds)
