"""Salesforce: OAuth 2.0, the REST query API through simple-salesforce, declarative streams.

The stream declarations are plain data; the client side (simple-salesforce, zeep, requests) is
imported on first use of a name that needs it, so validating settings or reading another CRM
never loads it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from connectors.salesforce.streams import SALESFORCE_STREAMS, salesforce_streams

if TYPE_CHECKING:
    from connectors.salesforce.auth import SalesforceAuth, SalesforceToken
    from connectors.salesforce.client import SalesforceClient
    from connectors.salesforce.reader import SalesforceReader

__all__ = [
    "SALESFORCE_STREAMS",
    "SalesforceAuth",
    "SalesforceClient",
    "SalesforceReader",
    "SalesforceToken",
    "salesforce_streams",
]

_ON_FIRST_USE = {
    "SalesforceAuth": "connectors.salesforce.auth",
    "SalesforceToken": "connectors.salesforce.auth",
    "SalesforceClient": "connectors.salesforce.client",
    "SalesforceReader": "connectors.salesforce.reader",
}


def __getattr__(name: str) -> Any:
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
