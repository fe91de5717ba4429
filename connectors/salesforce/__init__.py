"""Salesforce: OAuth 2.0, the REST query API through simple-salesforce, declarative streams."""

from connectors.salesforce.auth import SalesforceAuth, SalesforceToken
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.reader import SalesforceReader
from connectors.salesforce.streams import SALESFORCE_STREAMS, salesforce_streams

__all__ = [
    "SALESFORCE_STREAMS",
    "SalesforceAuth",
    "SalesforceClient",
    "SalesforceReader",
    "SalesforceToken",
    "salesforce_streams",
]
