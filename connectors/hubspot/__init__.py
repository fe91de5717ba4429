"""HubSpot: private-app or OAuth credentials, hubspot-api-client, declarative streams.

The client, its credentials and the reader load hubspot-api-client's generated modules (some
megabytes); they are imported when first asked for, so that a process that syncs only
Salesforce, or only validates settings, does not carry them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from connectors.hubspot.streams import HUBSPOT_STREAMS, hubspot_streams

if TYPE_CHECKING:
    from connectors.hubspot.auth import HubSpotAuth
    from connectors.hubspot.client import HubSpotClient
    from connectors.hubspot.reader import HubSpotReader

__all__ = [
    "HUBSPOT_STREAMS",
    "HubSpotAuth",
    "HubSpotClient",
    "HubSpotReader",
    "hubspot_streams",
]

_LAZY = {
    "HubSpotAuth": "connectors.hubspot.auth",
    "HubSpotClient": "connectors.hubspot.client",
    "HubSpotReader": "connectors.hubspot.reader",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
