"""HubSpot: private-app or OAuth credentials, hubspot-api-client, declarative streams.

The stream declarations are plain data; the client side (hubspot-api-client, urllib3) is
imported on first use of a name that needs it, so validating settings or reading another CRM
never loads it.
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

_ON_FIRST_USE = {
    "HubSpotAuth": "connectors.hubspot.auth",
    "HubSpotClient": "connectors.hubspot.client",
    "HubSpotReader": "connectors.hubspot.reader",
}


def __getattr__(name: str) -> Any:
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
