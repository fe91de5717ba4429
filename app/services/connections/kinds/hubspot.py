"""HubSpot connections: the client, the reader and the write-back writer on the settings."""

from __future__ import annotations

from datetime import timedelta

from app.core.crypto import Credentials
from app.services.connections.hubspot_tokens import stored_expiry
from app.services.connections.registry import HubSpotSettings
from app.services.writeback.fields import written_names
from connectors.core import ApiBudget, RetryPolicy, StreamSpec
from connectors.hubspot.auth import HubSpotAuth
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.reader import HubSpotReader
from connectors.hubspot.streams import hubspot_streams
from connectors.hubspot.tokens import TokenVault
from connectors.hubspot.writeback import HubSpotWriter

__all__ = ["client", "reader", "writer"]


def client(
    settings: HubSpotSettings,
    credentials: Credentials,
    budget: ApiBudget,
    retry: RetryPolicy | None = None,
    vault: TokenVault | None = None,
) -> HubSpotClient:
    """A client on the stored credentials; with a `vault`, refreshed tokens are stored too."""
    auth = HubSpotAuth(
        access_token=credentials.get("access_token", ""),
        refresh_token=credentials.get("refresh_token", ""),
        client_id=settings.client_id or "",
        client_secret=credentials.get("client_secret", ""),
        oauth_base_url=settings.oauth_base_url or settings.base_url,
        expires_at=stored_expiry(credentials),
        vault=vault,
    )
    return HubSpotClient(
        settings.base_url, auth, budget, retry=retry, search_per_second=settings.search_per_second
    )


def reader(
    settings: HubSpotSettings,
    credentials: Credentials,
    budget: ApiBudget,
    retry: RetryPolicy | None = None,
    vault: TokenVault | None = None,
) -> tuple[HubSpotReader, list[StreamSpec]]:
    sweep = settings.association_sweep_hours
    found = HubSpotReader(
        client(settings, credentials, budget, retry, vault),
        strict_fields=frozenset(name for names in settings.extra_fields.values() for name in names),
        custom_properties=settings.custom_properties,
        association_sweep=timedelta(hours=sweep) if sweep else None,
        deletions_every=timedelta(minutes=settings.deletions_every_minutes),
        exclude_properties=frozenset().union(
            *written_names("hubspot", settings.writeback).values()
        ),
    )
    return found, hubspot_streams(settings.streams, settings.extra_fields)


def writer(settings: HubSpotSettings, client: HubSpotClient) -> HubSpotWriter:
    return HubSpotWriter(client, group=settings.writeback.hubspot_group)
