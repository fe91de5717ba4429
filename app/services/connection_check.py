"""`connections test`: can we log in, and can we read every object and field we need?

The answer names exactly what is missing (an object the user cannot see, a field hidden by
field-level security), so an admin can fix the permission set without guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.crypto import SecretBox
from app.errors import InvalidRequestError
from app.models import Connection
from app.services.connections import (
    HubSpotSettings,
    SalesforceSettings,
    connection_settings,
    hubspot_client,
    salesforce_client,
)
from connectors.core import ApiBudget, AuthenticationError, ConnectorError, RetryPolicy
from connectors.hubspot import hubspot_streams
from connectors.salesforce import salesforce_streams

__all__ = ["CheckReport", "StreamCheck", "check_connection"]


@dataclass
class StreamCheck:
    stream: str
    readable: bool
    missing_fields: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class CheckReport:
    connection: str
    authenticated: bool
    error: str | None = None
    streams: list[StreamCheck] = field(default_factory=list)
    api_calls: int = 0

    @property
    def ok(self) -> bool:
        return self.authenticated and all(
            check.readable and not check.missing_fields for check in self.streams
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "connection": self.connection,
            "ok": self.ok,
            "authenticated": self.authenticated,
            "error": self.error,
            "api_calls": self.api_calls,
            "streams": [vars(check) for check in self.streams],
        }


def check_connection(
    connection: Connection, box: SecretBox, retry: RetryPolicy | None = None
) -> CheckReport:
    settings = connection_settings(connection)
    if isinstance(settings, HubSpotSettings):
        return _check_hubspot(connection, settings, box, retry)
    if not isinstance(settings, SalesforceSettings):
        raise InvalidRequestError(
            f"{connection.kind} connections read files and need no check; sync one to import it"
        )
    budget = ApiBudget()
    client = salesforce_client(settings, box.open(connection.credentials_sealed), budget, retry)
    report = CheckReport(connection=connection.name, authenticated=False)
    try:
        try:
            client.login()
        except ConnectorError as error:
            report.error = str(error)
            return report
        report.authenticated = True
        for spec in salesforce_streams(settings.streams, settings.extra_fields):
            try:
                described = client.describe_fields(spec.object)
            except ConnectorError as error:
                report.streams.append(StreamCheck(spec.name, readable=False, error=str(error)))
                continue
            wanted = set(spec.required_fields) | set(settings.extra_fields.get(spec.name, ()))
            missing = [name for name in spec.fields if name in wanted and name not in described]
            report.streams.append(StreamCheck(spec.name, readable=True, missing_fields=missing))
        return report
    finally:
        report.api_calls = budget.calls
        client.close()


def _check_hubspot(
    connection: Connection,
    settings: HubSpotSettings,
    box: SecretBox,
    retry: RetryPolicy | None,
) -> CheckReport:
    """One page of each object (a missing scope answers 403) and the custom properties asked for."""
    budget = ApiBudget()
    client = hubspot_client(settings, box.open(connection.credentials_sealed), budget, retry)
    report = CheckReport(connection=connection.name, authenticated=False)
    try:
        try:
            client.owners_page(limit=1, after=None, archived=False)
        except AuthenticationError as error:
            report.error = str(error)
            return report
        except ConnectorError as error:
            report.error = f"owners cannot be read: {error}"
            return report
        report.authenticated = True
        objects = {spec.object for spec in hubspot_streams(settings.streams, settings.extra_fields)}
        for object_type in sorted(objects - {"owners"}):
            wanted = settings.extra_fields.get(object_type, [])
            try:
                client.list_page(object_type, limit=1)
                known = {p.get("name") for p in client.properties(object_type)} if wanted else set()
            except ConnectorError as error:
                report.streams.append(StreamCheck(object_type, readable=False, error=str(error)))
                continue
            missing = [name for name in wanted if name not in known]
            report.streams.append(StreamCheck(object_type, readable=True, missing_fields=missing))
        return report
    finally:
        report.api_calls = budget.calls
        client.close()
