"""Export files: a Salesforce Data Export and HubSpot exports, imported with zero API calls.

The cheap way to backfill years of history: the files become the same raw records, with the
same payload shapes, as the API connectors produce, so mapping rules work on both alike.
"""

from connectors.exports.files import Crm, ExportFile, scan
from connectors.exports.hubspot import HubSpotExport
from connectors.exports.reader import ExportReader, detect_crm, open_export
from connectors.exports.salesforce import SalesforceExport

__all__ = [
    "Crm",
    "ExportFile",
    "ExportReader",
    "HubSpotExport",
    "SalesforceExport",
    "detect_crm",
    "open_export",
    "scan",
]
