"""The admin endpoints (under /__sandbox on both listeners) for scripts and the demo.

GET    /__sandbox/status
GET    /__sandbox/clock          POST {"advance_seconds": 3600} | {"to": ISO} | {"speed": 60}
GET    /__sandbox/faults         POST {"kind": "rate_limit", "api": "hubspot"} or {"spec": ...}
DELETE /__sandbox/faults
GET    /__sandbox/calls          DELETE resets counters and usage
POST   /__sandbox/sessions/expire
POST   /__sandbox/validation-rules  {"object", "field", "equals" | "in" | "is_null", "message"}
POST   /__sandbox/webhooks       {"url": "http://..."} (null switches them off)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.deps import SandboxDep
from sandbox.crm.errors import json_response
from sandbox.crm.faults import Fault, parse_fault
from sandbox.crm.sandbox import Sandbox
from sandbox.crm.timefmt import parse_iso

__all__ = ["router"]

router = APIRouter(prefix="/__sandbox")


def _problem(message: str) -> Response:
    return json_response({"error": message}, 400)


async def _body_of(request: Request) -> dict[str, Any]:
    raw = await request.body()
    value = orjson.loads(raw) if raw else {}
    return value if isinstance(value, dict) else {}


def _clock_body(sandbox: Sandbox) -> Response:
    now = sandbox.now().isoformat().replace("+00:00", "Z")
    return json_response({"now": now, "speed": sandbox.clock.speed})


@router.get("/status", name="admin_status")
async def status(sandbox: SandboxDep) -> Response:
    return json_response(sandbox.status())


@router.get("/clock", name="admin_clock")
async def clock(sandbox: SandboxDep) -> Response:
    return _clock_body(sandbox)


@router.post("/clock", name="admin_clock_set")
async def clock_set(request: Request, sandbox: SandboxDep) -> Response:
    try:
        body = await _body_of(request)
        if "speed" in body:
            sandbox.clock.set_speed(float(body["speed"]))
        if "advance_seconds" in body:
            sandbox.advance(timedelta(seconds=float(body["advance_seconds"])))
        if "to" in body:
            sandbox.clock.set(parse_iso(str(body["to"])))
    except (ValueError, orjson.JSONDecodeError) as error:
        return _problem(str(error))
    return _clock_body(sandbox)


@router.get("/faults", name="admin_faults")
async def faults(sandbox: SandboxDep) -> Response:
    return json_response([f.as_json() for f in sandbox.faults.active()])


@router.post("/faults", name="admin_faults_add")
async def faults_add(request: Request, sandbox: SandboxDep) -> Response:
    try:
        body = await _body_of(request)
        fault = parse_fault(str(body["spec"])) if "spec" in body else Fault(**body)
    except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as error:
        return _problem(str(error))
    sandbox.faults.add(fault)
    return json_response(fault.as_json(), 201)


@router.delete("/faults", name="admin_faults_clear")
async def faults_clear(sandbox: SandboxDep) -> Response:
    sandbox.faults.clear()
    return Response(status_code=204)


@router.get("/calls", name="admin_calls")
async def calls(sandbox: SandboxDep) -> Response:
    return json_response(
        {
            "calls": sandbox.calls.snapshot(),
            "salesforce_api_used": sandbox.sf_api_used,
            "hubspot_daily_used": sandbox.hs_daily_used,
        }
    )


@router.delete("/calls", name="admin_calls_reset")
async def calls_reset(sandbox: SandboxDep) -> Response:
    sandbox.reset_accounting()
    return Response(status_code=204)


@router.post("/sessions/expire", name="admin_sessions_expire")
async def sessions_expire(sandbox: SandboxDep) -> Response:
    return json_response({"revoked": sandbox.expire_sessions()})


@router.post("/validation-rules", name="admin_validation_rule")
async def validation_rule(request: Request, sandbox: SandboxDep) -> Response:
    try:
        body = await _body_of(request)
        object_name, field, message = (
            str(body["object"]),
            str(body["field"]),
            str(body["message"]),
        )
    except (KeyError, orjson.JSONDecodeError) as error:
        return _problem(f"object, field and message are required ({error})")
    if "equals" in body:
        expected = body["equals"]
        sandbox.add_validation_rule(
            object_name, message, lambda row: row.get(field) == expected, error_field=field
        )
    elif "in" in body:
        options = list(body["in"])
        sandbox.add_validation_rule(
            object_name, message, lambda row: row.get(field) in options, error_field=field
        )
    elif body.get("is_null"):
        sandbox.add_validation_rule(
            object_name, message, lambda row: row.get(field) is None, error_field=field
        )
    else:
        return _problem("one of equals, in, is_null is required")
    return json_response({"ok": True}, 201)


@router.post("/webhooks", name="admin_webhooks")
async def webhooks(request: Request, sandbox: SandboxDep) -> Response:
    body = await _body_of(request)
    url = body.get("url")
    sandbox.config.webhook_url = str(url) if url else None
    return json_response({"url": sandbox.config.webhook_url})
