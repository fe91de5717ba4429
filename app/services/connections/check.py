"""`connections test`: can we log in, and can we read every object and field we need?

The answer names exactly what is missing (an object the user cannot see, a field hidden by
field-level security), so an admin can fix the permission set without guessing. For an export
connection "logging in" is finding the export's files, and each stream's files are read up to
their first row.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, computed_field

from app.core.crypto import SecretBox
from app.core.database import Database
from app.core.errors import InvalidRequestError
from app.models import Connection
from app.services.connections.hubspot_tokens import StoredTokens
from app.services.connections.registry import (
    ExportSettings,
    HubSpotSettings,
    connection_settings,
    export_reader,
    hubspot_client,
    salesforce_client,
)
from connectors.core import (
    ApiBudget,
    AuthenticationError,
    ConnectorError,
    MissingPermission,
    RetryPolicy,
)
from connectors.hubspot import hubspot_streams
from connectors.hubspot.streams import stream_info
from connectors.hubspot.tokens import TokenVault
from connectors.salesforce import salesforce_streams

__all__ = ["CheckReport", "StreamCheck", "check_connection"]


class StreamCheck(BaseModel):
    stream: str
    readable: bool
    missing_fields: list[str] = Field(default_factory=list)
    error: str | None = None
    missing_scopes: list[str] = Field(default_factory=list)


class CheckReport(BaseModel):
    """What `connections test` found; `ok` only when every stream reads every field it needs."""

    connection: str
    authenticated: bool
    error: str | None = None
    streams: list[StreamCheck] = Field(default_factory=list)
    api_calls: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return self.authenticated and all(
            check.readable and not check.missing_fields for check in self.streams
        )


def check_connection(
    connection: Connection,
    box: SecretBox,
    retry: RetryPolicy | None = None,
    *,
    database: Database | None = None,
) -> CheckReport:
    """With `database`, a HubSpot OAuth token refreshed by the check is stored for the sync."""
    settings = connection_settings(connection)
    if isinstance(settings, HubSpotSettings):
        vault = StoredTokens(database, box, connection.id) if database is not None else None
        return _check_hubspot(connection, settings, box, retry, vault)
    if isinstance(settings, ExportSettings):
        return _check_export(connection, settings)
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
                report.streams.append(
                    StreamCheck(stream=spec.name, readable=False, error=str(error))
                )
                continue
            wanted = set(spec.required_fields) | set(settings.extra_fields.get(spec.name, ()))
            missing = [name for name in spec.fields if name in wanted and name not in described]
            report.streams.append(
                StreamCheck(stream=spec.name, readable=True, missing_fields=missing)
            )
        return report
    finally:
        report.api_calls = budget.calls
        client.close()


def _check_export(connection: Connection, settings: ExportSettings) -> CheckReport:
    report = CheckReport(connection=connection.name, authenticated=False)
    try:
        reader, specs = export_reader(settings)
    except InvalidRequestError as error:
        report.error = error.detail
        return report
    report.authenticated = True
    for spec in specs:
        try:
            next(iter(reader.source.rows(spec.name)), None)
        except (ConnectorError, OSError, ValueError) as error:
            report.streams.append(StreamCheck(stream=spec.name, readable=False, error=str(error)))
        else:
            report.streams.append(StreamCheck(stream=spec.name, readable=True))
    return report


def _unreadable(stream: str, error: ConnectorError) -> StreamCheck:
    scopes = list(error.missing) if isinstance(error, MissingPermission) else []
    return StreamCheck(stream=stream, readable=False, error=str(error), missing_scopes=scopes)


def _check_hubspot(
    connection: Connection,
    settings: HubSpotSettings,
    box: SecretBox,
    retry: RetryPolicy | None,
    vault: TokenVault | None,
) -> CheckReport:
    """One page of each object with the associations the sync asks for (a missing scope answers
    403 naming it), the owners, and the custom properties asked for."""
    budget = ApiBudget()
    credentials = box.open(connection.credentials_sealed)
    client = hubspot_client(settings, credentials, budget, retry, vault)
    report = CheckReport(connection=connection.name, authenticated=False)
    specs = hubspot_streams(settings.streams, settings.extra_fields)
    try:
        try:  # the login: owners are readable with any valid token, or 403 for the scope
            client.owners_page(limit=1, after=None, archived=False)
            owners = StreamCheck(stream="owners", readable=True)
        except AuthenticationError as error:
            report.error = str(error)
            return report
        except MissingPermission as error:
            owners = _unreadable("owners", error)
        except ConnectorError as error:
            report.error = f"owners cannot be read: {error}"
            return report
        report.authenticated = True
        if any(spec.name == "owners" for spec in specs):
            report.streams.append(owners)
        for spec in specs:
            if spec.name == "owners":
                continue
            wanted = settings.extra_fields.get(spec.name, [])
            try:
                if spec.name == "pipelines":
                    client.pipelines(spec.object)
                elif spec.name == "form_submissions":
                    client.forms_page(limit=1, after=None)
                else:
                    links = stream_info(spec.name).associations
                    client.list_page(spec.object, limit=1, associations=links)
                known = {p.get("name") for p in client.properties(spec.object)} if wanted else set()
            except ConnectorError as error:
                report.streams.append(_unreadable(spec.name, error))
                continue
            missing = [name for name in wanted if name not in known]
            report.streams.append(
                StreamCheck(stream=spec.name, readable=True, missing_fields=missing)
            )
        return report
    finally:
        report.api_calls = budget.calls
        client.close()
