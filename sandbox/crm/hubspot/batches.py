"""The batch endpoints' common shape: `inputs` in; 200, or 207 with an error per cause, out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from sandbox.crm.errors import json_response
from sandbox.crm.hubspot.schema import singular
from sandbox.crm.hubspot.wire import invalid
from sandbox.crm.timefmt import hs_format

__all__ = ["batch_answer", "batch_inputs", "batch_response", "started_at"]


def started_at() -> str:
    """The wall-clock start of a batch call, as its answer's `startedAt` tells it."""
    return hs_format(datetime.now(UTC))


def batch_inputs(body: dict[str, Any], limit: int = 100) -> list[dict[str, Any]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise invalid("inputs must be a list of objects")
    if len(inputs) > limit:
        raise invalid(f"Too many inputs: {len(inputs)}. The maximum batch size is {limit}.")
    return inputs


def batch_response(
    results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str
) -> Response:
    """200, or 207 when some inputs have errors."""
    body: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    body["startedAt"] = started
    body["completedAt"] = hs_format(datetime.now(UTC))
    return json_response(body, 207 if errors else 200)


def batch_answer(
    results: list[dict[str, Any]],
    missing: list[str],
    kind: str,
    started: str,
    refused: dict[tuple[str, str], list[str]] | None = None,
) -> Response:
    """200, or 207 with an error per cause naming its ids (`refused`: record faults)."""
    errors = [
        {"status": "error", "category": category, "message": message, "context": {"ids": ids}}
        for (category, message), ids in (refused or {}).items()
    ]
    if missing:
        errors.insert(
            0,
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": f"Could not get some {singular(kind).upper()} objects, they may be "
                "deleted or not exist. Check that ids are valid.",
                "context": {"ids": missing},
            },
        )
    return batch_response(results, errors, started)
