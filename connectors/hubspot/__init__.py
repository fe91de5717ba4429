"""HubSpot: private-app or OAuth credentials, hubspot-api-client, declarative streams."""

from connectors.hubspot.auth import HubSpotAuth
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.reader import HubSpotReader
from connectors.hubspot.streams import HUBSPOT_STREAMS, hubspot_streams

__all__ = [
    "HUBSPOT_STREAMS",
    "HubSpotAuth",
    "HubSpotClient",
    "HubSpotReader",
    "hubspot_streams",
]
