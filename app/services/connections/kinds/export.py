"""Export connections: the reader over a Salesforce Data Export or HubSpot export files."""

from __future__ import annotations

from app.core.errors import InvalidRequestError
from app.services.connections.registry import ExportSettings
from connectors.core import ConfigError, StreamSpec
from connectors.exports import ExportReader, open_export

__all__ = ["reader"]


def reader(settings: ExportSettings) -> tuple[ExportReader, list[StreamSpec]]:
    try:
        return open_export(
            settings.path, crm=settings.crm, streams=settings.streams, encoding=settings.encoding
        )
    except ConfigError as error:
        raise InvalidRequestError(f"export connection: {error}") from None
