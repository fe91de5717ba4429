"""How the HubSpot API reads a request and words a refusal, shared by its routers."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from sandbox.crm.errors import HubSpotError
from sandbox.crm.hubspot.schema import resolve_object_type

__all__ = [
    "flag",
    "invalid",
    "names",
    "not_found",
    "object_not_found",
    "object_type",
    "read_json",
]


def invalid(message: str, **extra: Any) -> HubSpotError:
    return HubSpotError(400, "VALIDATION_ERROR", message, extra=extra or None)


def not_found(message: str) -> HubSpotError:
    return HubSpotError(404, "OBJECT_NOT_FOUND", message)


def object_not_found() -> HubSpotError:
    return not_found("Object not found.  objectId are usually numeric.")


def object_type(name: str) -> str:
    """The object type a path names ('deals', '0-3', 'deal', ...), in its plural form."""
    resolved = resolve_object_type(name)
    if resolved is None:
        raise invalid(f"Unable to infer object type from: {name}")
    return resolved


def names(values: list[str]) -> list[str]:
    """Query lists arrive repeated (?properties=a&properties=b) or comma-separated."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def flag(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.lower() == "true"


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object ({} when empty); anything else is a VALIDATION_ERROR."""
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as error:
        raise invalid(f"Invalid input JSON on line 1: {error}") from error
    if not isinstance(body, dict):
        raise invalid("Invalid input JSON: expected an object")
    return body
