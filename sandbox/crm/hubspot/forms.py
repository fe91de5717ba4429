"""Marketing forms and their submissions, as HubSpot serves them.

    GET /marketing/v3/forms[/]                          limit (≤ 500, default 20), after, archived
    GET /form-integrations/v1/submissions/forms/{guid}  limit (≤ 50, default 20), after

Forms are listed in the order of the export, paged by an index `after`. Submissions come newest
first (HubSpot's reverse-chronological order), only those submitted by the sandbox's clock; the
`after` token is opaque and names the last submission returned, so new submissions arriving
between pages shift nothing.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.deps import SandboxDep
from sandbox.crm.errors import json_response
from sandbox.crm.hubspot.deps import StoreDep
from sandbox.crm.hubspot.store import Submission
from sandbox.crm.hubspot.wire import flag, invalid, not_found
from sandbox.crm.timefmt import epoch_ms

__all__ = ["router"]

router = APIRouter()


def _limit(text: str | None, default: int, most: int) -> int:
    try:
        value = int(text) if text else default
    except ValueError as error:
        raise invalid(f"Invalid limit {text!r}") from error
    if not 1 <= value <= most:
        raise invalid(f"limit must be between 1 and {most}")
    return value


@router.get("/marketing/v3/forms", name="forms_list")
@router.get("/marketing/v3/forms/", name="forms_list_slash")
async def forms_list(request: Request, store: StoreDep) -> Response:
    params = request.query_params
    limit = _limit(params.get("limit"), 20, 500)
    try:
        start = int(params.get("after") or 0)
    except ValueError as error:
        raise invalid(f"Invalid after {params.get('after')!r}") from error
    archived = flag(params.get("archived"))
    types = [t for value in params.getlist("formTypes") for t in value.split(",") if t]
    chosen = [
        form
        for form in store.forms
        if bool(form.get("archived")) == archived
        and (not types or "all" in types or form.get("formType") in types)
    ]
    body: dict[str, Any] = {"results": chosen[start : start + limit]}
    if start + limit < len(chosen):
        following = str(start + limit)
        body["paging"] = {"next": {"after": following, "link": f"?after={following}"}}
    return json_response(body)


def _token(submission: Submission) -> str:
    raw = f"{submission.submitted_ms}:{submission.conversion_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _position(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        stamp, conversion = raw.split(":", 1)
        return int(stamp), conversion
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid(f"Invalid after {token!r}") from error


@router.get("/form-integrations/v1/submissions/forms/{form_guid}", name="form_submissions")
async def form_submissions(
    request: Request, form_guid: str, store: StoreDep, sandbox: SandboxDep
) -> Response:
    params = request.query_params
    limit = _limit(params.get("limit"), 20, 50)
    if not any(form.get("id") == form_guid for form in store.forms):
        raise not_found(f"Form {form_guid} does not exist")
    now_ms = epoch_ms(sandbox.now())
    after = params.get("after")
    position = _position(after) if after else None
    served: list[Submission] = []
    more = False
    for submission in store.submissions_of(form_guid):
        if submission.submitted_ms > now_ms:
            continue
        key = (-submission.submitted_ms, submission.conversion_id)
        if position is not None and key <= (-position[0], position[1]):
            continue
        if len(served) == limit:
            more = True
            break
        served.append(submission)
    body: dict[str, Any] = {"results": [s.as_json() for s in served]}
    if more:
        following = _token(served[-1])
        body["paging"] = {"next": {"after": following, "link": f"?after={following}"}}
    return json_response(body)
