"""How the Salesforce API reads a request and words a refusal, shared by its routers."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from sandbox.crm.errors import SalesforceError

__all__ = ["NOT_FOUND", "batch_size", "not_found", "read_json"]

NOT_FOUND = "The requested resource does not exist"


def not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", NOT_FOUND)


async def read_json(request: Request) -> Any:
    """The body as JSON (None when empty); malformed JSON is Salesforce's JSON_PARSER_ERROR."""
    raw = await request.body()
    try:
        return orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as error:
        raise SalesforceError(400, "JSON_PARSER_ERROR", f"Unexpected character: {error}") from error


def batch_size(request: Request, default: int) -> int:
    """The page size a `Sforce-Query-Options: batchSize=N` header asks for (200 to 2,000)."""
    header = request.headers.get("sforce-query-options", "")
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            return max(200, min(2000, int(value)))
    return default
