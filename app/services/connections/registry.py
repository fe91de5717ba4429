"""Connections: typed settings per CRM, sealed credentials, and the connectors built from them.

Settings (URLs, field lists, lookback, quota share) are validated before any network call;
secrets (client secrets, tokens, passwords, keys) live only in the sealed credentials column.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, model_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.core.crypto import Credentials, SecretBox
from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.models import Connection, WritebackRecord
from app.services.connections.hubspot_tokens import stored_expiry
from app.services.writeback.fields import WritebackSettings, name_problems, written_names
from connectors.core import ApiBudget, ConfigError, RetryPolicy, StreamSpec
from connectors.exports import ExportReader, open_export
from connectors.hubspot import hubspot_streams as _hubspot_streams
from connectors.salesforce import SalesforceAuth, SalesforceClient, SalesforceReader
from connectors.salesforce import salesforce_streams as _salesforce_streams

if TYPE_CHECKING:  # loaded when a HubSpot connection is used (see connectors.hubspot)
    from connectors.hubspot import HubSpotClient, HubSpotReader
    from connectors.hubspot.auth import TokenVault

__all__ = [
    "SECRET_NAMES",
    "ConnectionSettings",
    "ExportSettings",
    "HubSpotSettings",
    "SalesforceSettings",
    "check_export_path",
    "create_connection",
    "export_reader",
    "get_connection",
    "hubspot_client",
    "hubspot_reader",
    "list_connections",
    "remove_connection",
    "salesforce_client",
]

SECRET_NAMES: dict[str, tuple[str, ...]] = {
    "salesforce": ("client_secret", "refresh_token", "password", "private_key"),
    "hubspot": ("access_token", "client_secret", "refresh_token"),
    "export": (),
}


class SyncOptions(BaseModel):
    lookback_minutes: int = Field(default=10, ge=0, le=7 * 24 * 60)
    quota_share: float = Field(default=0.8, gt=0, le=1)
    streams: list[str] | None = None
    extra_fields: dict[str, list[str]] = Field(default_factory=dict)


def _writeback_problems(
    crm: Literal["salesforce", "hubspot"],
    writeback: WritebackSettings,
    extra_fields: dict[str, list[str]],
) -> None:
    """Write-back names must be valid, and never read back by the sync (no feedback loop)."""
    problems = name_problems(crm, writeback)
    written = written_names(crm, writeback)
    for stream, names in extra_fields.items():
        ours = {name.lower() for name in written.get(stream, frozenset())}
        clash = [name for name in names if name.lower() in ours]
        if clash:
            problems.append(
                f"extra_fields.{stream}: {', '.join(clash)} "
                f"{'is a write-back field' if len(clash) == 1 else 'are write-back fields'}; "
                "the sync never reads what write-back writes"
            )
    if problems:
        raise ValueError("; ".join(problems))


class SalesforceSettings(SyncOptions):
    kind: Literal["salesforce"] = "salesforce"
    auth_flow: Literal["client_credentials", "refresh_token", "jwt", "password"]
    token_url: str = Field(pattern=r"^https://")
    client_id: str = Field(min_length=1)
    username: str = ""
    api_version: str = Field(default="59.0", pattern=r"^\d+\.\d$")
    ca_file: str | None = None
    page_size: int = Field(default=2000, ge=200, le=2000, description="Query batch size.")
    bulk_threshold: int | None = Field(
        # ten REST pages: a job's create, status polls and streamed result set cost fewer calls
        default=20_000,
        ge=1,
        description="First loads of at least this many rows use Bulk API 2.0.",
    )
    bulk_poll_seconds: float = Field(default=2.0, gt=0, le=60)
    writeback_bulk_threshold: int | None = Field(
        default=10_000,
        ge=1,
        description="Write-back sends an object's changed records through Bulk API 2.0 ingest "
        "jobs when at least this many are due in a run (null: always sObject Collections).",
    )
    writeback: WritebackSettings = Field(default_factory=WritebackSettings)

    @model_validator(mode="after")
    def _known_streams(self) -> SalesforceSettings:
        _salesforce_streams(self.streams, self.extra_fields)  # raises ValueError naming them
        _writeback_problems("salesforce", self.writeback, self.extra_fields)
        return self


class HubSpotSettings(SyncOptions):
    kind: Literal["hubspot"] = "hubspot"
    base_url: str = Field(default="https://api.hubapi.com", pattern=r"^https?://")
    portal_id: str | None = None
    client_id: str | None = Field(default=None, description="OAuth app, for token refresh.")
    oauth_base_url: str | None = Field(default=None, pattern=r"^https?://")
    search_per_second: float = Field(default=4.0, gt=0, le=100)
    association_sweep_hours: float = Field(
        default=24, ge=0, description="Re-read lists with associations this often (0: never)."
    )
    deletions_every_minutes: float = Field(default=60, ge=0)
    custom_properties: bool = Field(default=True, description="Also read the portal's own.")
    writeback: WritebackSettings = Field(default_factory=WritebackSettings)

    @model_validator(mode="after")
    def _known_streams(self) -> HubSpotSettings:
        _hubspot_streams(self.streams, self.extra_fields)  # raises ValueError naming them
        _writeback_problems("hubspot", self.writeback, self.extra_fields)
        return self


class ExportSettings(BaseModel):
    kind: Literal["export"] = "export"
    path: str
    crm: Literal["salesforce", "hubspot"] | None = None
    streams: list[str] | None = None
    encoding: str = "utf-8-sig"


ConnectionSettings = Annotated[
    SalesforceSettings | HubSpotSettings | ExportSettings, Field(discriminator="kind")
]
AnySettings = SalesforceSettings | HubSpotSettings | ExportSettings
_settings_adapter: TypeAdapter[AnySettings] = TypeAdapter(cast(Any, ConnectionSettings))


def parse_settings(raw: dict[str, Any]) -> AnySettings:
    try:
        return _settings_adapter.validate_python(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'][1:]) or 'kind'}: {error['msg']}"
            for error in exc.errors()
        )
        raise InvalidRequestError(f"invalid connection settings: {problems}") from None


def check_export_path(settings: AnySettings) -> None:
    """An export connection must point at files that are there (a typo is caught at once)."""
    if isinstance(settings, ExportSettings) and not Path(settings.path).expanduser().exists():
        raise InvalidRequestError(
            f"export path {settings.path} does not exist: give the folder or .zip file of "
            "a Salesforce Data Export or HubSpot export"
        )


def create_connection(
    session: Session,
    box: SecretBox,
    *,
    name: str,
    settings: dict[str, Any],
    secrets: dict[str, str],
    sync_interval_seconds: int = 300,
) -> Connection:
    parsed = parse_settings(settings)
    check_export_path(parsed)
    unknown = sorted(set(secrets) - set(SECRET_NAMES[parsed.kind]))
    if unknown:
        raise InvalidRequestError(
            f"unknown credential(s) {', '.join(unknown)} for {parsed.kind}; "
            f"expected: {', '.join(SECRET_NAMES[parsed.kind]) or 'none'}"
        )
    if session.scalar(select(Connection.id).where(Connection.name == name)) is not None:
        raise ConflictError(f"a connection named {name!r} exists already")
    connection = Connection(
        name=name,
        kind=parsed.kind,
        settings=parsed.model_dump(mode="json"),
        credentials_sealed=box.seal({k: v for k, v in secrets.items() if v}),
        sync_interval_seconds=sync_interval_seconds,
    )
    session.add(connection)
    session.flush()
    return connection


def crm_address(settings: AnySettings) -> tuple[str, ...]:
    """Which org, portal or file the settings point at: another address is another CRM."""
    if isinstance(settings, SalesforceSettings):
        return ("salesforce", settings.token_url)
    if isinstance(settings, HubSpotSettings):
        return ("hubspot", settings.base_url, settings.portal_id or "")
    return ("export", settings.path)


def forget_writes_if_moved(
    session: Session, connection: Connection, before: AnySettings, after: AnySettings
) -> bool:
    """Write-back skips values it has already written (`WritebackRecord`); pointed at another
    CRM, that memory is about records the new one never saw: forget it, so every field is
    written there. Whether it was forgotten."""
    if connection.id is None or crm_address(before) == crm_address(after):
        return False
    session.execute(delete(WritebackRecord).where(WritebackRecord.connection_id == connection.id))
    return True


def list_connections(session: Session) -> list[Connection]:
    return list(session.scalars(select(Connection).order_by(Connection.name)))


def get_connection(session: Session, name: str) -> Connection:
    connection = session.scalar(select(Connection).where(Connection.name == name))
    if connection is None:
        known = ", ".join(c.name for c in list_connections(session)) or "none yet"
        raise NotFoundError(
            f"no connection named {name!r} (known: {known}); add one with "
            "`milestones connections add`"
        )
    return connection


def remove_connection(session: Session, name: str) -> None:
    session.delete(get_connection(session, name))


def connection_settings(connection: Connection) -> AnySettings:
    return parse_settings(connection.settings)


def salesforce_client(
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


def salesforce_reader(
    settings: SalesforceSettings, client: SalesforceClient
) -> tuple[SalesforceReader, list[StreamSpec]]:
    specs = [
        replace(spec, page_size=settings.page_size)
        for spec in _salesforce_streams(settings.streams, settings.extra_fields)
    ]
    strict = frozenset(name for fields in settings.extra_fields.values() for name in fields)
    reader = SalesforceReader(
        client,
        strict_fields=strict,
        bulk_threshold=settings.bulk_threshold,
        bulk_poll_seconds=settings.bulk_poll_seconds,
    )
    return reader, specs


def hubspot_client(
    settings: HubSpotSettings,
    credentials: Credentials,
    budget: ApiBudget,
    retry: RetryPolicy | None = None,
    vault: TokenVault | None = None,
) -> HubSpotClient:
    """A client on the stored credentials; with a `vault`, refreshed tokens are stored too."""
    from connectors.hubspot import HubSpotAuth, HubSpotClient

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


def hubspot_reader(
    settings: HubSpotSettings,
    credentials: Credentials,
    budget: ApiBudget,
    retry: RetryPolicy | None = None,
    vault: TokenVault | None = None,
) -> tuple[HubSpotReader, list[StreamSpec]]:
    from connectors.hubspot import HubSpotReader

    client = hubspot_client(settings, credentials, budget, retry, vault)
    sweep = settings.association_sweep_hours
    reader = HubSpotReader(
        client,
        strict_fields=frozenset(name for names in settings.extra_fields.values() for name in names),
        custom_properties=settings.custom_properties,
        association_sweep=timedelta(hours=sweep) if sweep else None,
        deletions_every=timedelta(minutes=settings.deletions_every_minutes),
        exclude_properties=frozenset().union(
            *written_names("hubspot", settings.writeback).values()
        ),
    )
    return reader, _hubspot_streams(settings.streams, settings.extra_fields)


def export_reader(settings: ExportSettings) -> tuple[ExportReader, list[StreamSpec]]:
    try:
        return open_export(
            settings.path, crm=settings.crm, streams=settings.streams, encoding=settings.encoding
        )
    except ConfigError as error:
        raise InvalidRequestError(f"export connection: {error}") from None
