"""Changing a connection after it was added: settings and secrets merged into what is stored.

A stream that gains fields (extra fields, e.g. a custom `Segment__c`) is read whole at its next
sync: its cursor is forgotten, because the records stored so far lack the new field and an
incremental sync would only fill it in as records happen to change. The change says which
streams that is, so the CLI and the API can tell the user a sync must follow.

    change = update_connection(session, box, "acme", settings={"extra_fields": {...}})
    change.reread               # ["Opportunity"]: the next sync reads these whole
    upsert_connection(session, box, name="acme", settings={...}, secrets={...})  # all anew
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.core.crypto import SecretBox
from app.core.errors import InvalidRequestError
from app.models import Connection, StreamCursor
from app.services.connections.registry import (
    SECRET_NAMES,
    AnySettings,
    ExportSettings,
    HubSpotSettings,
    check_export_path,
    connection_settings,
    create_connection,
    forget_writes_if_moved,
    get_connection,
    parse_settings,
)
from connectors.hubspot import hubspot_streams
from connectors.salesforce import salesforce_streams

__all__ = [
    "ConnectionChange",
    "add_extra_fields",
    "missing_fields",
    "pulled_fields",
    "update_connection",
    "upsert_connection",
]


@dataclass
class ConnectionChange:
    connection: Connection
    reread: list[str] = field(default_factory=list)
    """Streams whose fields grew: the next sync reads them whole."""


def pulled_fields(settings: AnySettings) -> dict[str, set[str]] | None:
    """The fields a sync reads, per stream; None when it reads whatever is there: an export
    keeps every column, a HubSpot portal read with `custom_properties` every property."""
    if isinstance(settings, ExportSettings):
        return None
    if isinstance(settings, HubSpotSettings) and settings.custom_properties:
        return None
    catalog = salesforce_streams if settings.kind == "salesforce" else hubspot_streams
    return {spec.name: set(spec.fields) for spec in catalog(None, settings.extra_fields)}


def missing_fields(
    settings: AnySettings, needed: Mapping[str, frozenset[str] | set[str]]
) -> dict[str, list[str]]:
    """Of the fields `needed` per stream, those this connection does not pull (sorted)."""
    pulled = pulled_fields(settings)
    if pulled is None:
        return {}
    missing = {
        stream: sorted(set(names) - pulled[stream])
        for stream, names in needed.items()
        if stream in pulled
    }
    return {stream: names for stream, names in sorted(missing.items()) if names}


def _grown(before: AnySettings, after: AnySettings) -> list[str]:
    if isinstance(before, ExportSettings) or isinstance(after, ExportSettings):
        return []
    old = before.extra_fields
    return sorted(
        stream
        for stream, names in after.extra_fields.items()
        if set(names) - set(old.get(stream, ()))
    )


def _merged_secrets(box: SecretBox, connection: Connection, secrets: Mapping[str, str]) -> str:
    expected = SECRET_NAMES[connection.kind]
    unknown = sorted(set(secrets) - set(expected))
    if unknown:
        raise InvalidRequestError(
            f"unknown credential(s) {', '.join(unknown)} for {connection.kind}; "
            f"expected: {', '.join(expected) or 'none'}"
        )
    current = dict(box.open(connection.credentials_sealed))
    return box.seal(current | {name: value for name, value in secrets.items() if value})


def update_connection(
    session: Session,
    box: SecretBox,
    name: str,
    *,
    settings: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    sync_interval_seconds: int | None = None,
    enabled: bool | None = None,
) -> ConnectionChange:
    """Merge `settings` (top-level keys replace) and `secrets` into the stored connection."""
    connection = get_connection(session, name)
    before = connection_settings(connection)
    changes = dict(settings or {})
    if changes.get("kind", connection.kind) != connection.kind:
        raise InvalidRequestError(
            f"{name} is a {connection.kind} connection and stays one: add a new connection "
            "for another CRM"
        )
    after = parse_settings({**connection.settings, **changes})
    if secrets:
        connection.credentials_sealed = _merged_secrets(box, connection, secrets)
    if sync_interval_seconds is not None:
        connection.sync_interval_seconds = sync_interval_seconds
    if enabled is not None:
        connection.enabled = enabled
    return _apply(session, connection, before, after)


def upsert_connection(
    session: Session,
    box: SecretBox,
    *,
    name: str,
    settings: dict[str, Any],
    secrets: dict[str, str],
) -> Connection:
    """Create the connection, or point an existing one at new settings and credentials (all
    of them replaced), as an update would: grown streams read whole, writes to another CRM
    forgotten."""
    existing = session.scalar(select(Connection).where(Connection.name == name))
    if existing is None:
        return create_connection(session, box, name=name, settings=settings, secrets=secrets)
    before, after = connection_settings(existing), parse_settings(settings)
    existing.kind = after.kind
    existing.credentials_sealed = box.seal({k: v for k, v in secrets.items() if v})
    return _apply(session, existing, before, after).connection


def _apply(
    session: Session, connection: Connection, before: AnySettings, after: AnySettings
) -> ConnectionChange:
    """Store `after` as the connection's settings: what changing from `before` entails."""
    check_export_path(after)
    forget_writes_if_moved(session, connection, before, after)
    connection.settings = after.model_dump(mode="json")
    reread = _grown(before, after) if before.kind == after.kind else []
    if reread:
        session.execute(
            delete(StreamCursor).where(
                StreamCursor.connection_id == connection.id, StreamCursor.stream.in_(reread)
            )
        )
    session.flush()
    return ConnectionChange(connection, reread)


def add_extra_fields(
    session: Session, box: SecretBox, name: str, fields: Mapping[str, list[str]]
) -> ConnectionChange:
    """Add fields to what the connection pulls per stream (those it has already are kept)."""
    current = connection_settings(get_connection(session, name))
    if isinstance(current, ExportSettings):
        return update_connection(session, box, name)
    merged = {stream: list(names) for stream, names in current.extra_fields.items()}
    for stream, names in fields.items():
        merged[stream] = list(dict.fromkeys([*merged.get(stream, []), *names]))
    return update_connection(session, box, name, settings={"extra_fields": merged})
