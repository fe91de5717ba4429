"""The ops workbench's rules: edit a rule file with errors at their line and column while
typing, preview it against the stored records, see how the forecast would have done with it
(the backtest of the active version and of the file, side by side), activate it after seeing
what changes, and each connection's versions with their diffs and rollback."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from app.api.deps import DatabaseDep, KpiStoreDep, SecretBoxDep
from app.core.crypto import SecretBox
from app.core.database import Database
from app.core.errors import InvalidRequestError
from app.services.health.versions import compare_versions
from app.services.mapping.activation import (
    activate_file,
    activate_version,
    find_version,
    list_versions,
    rollback,
)
from app.services.mapping.preview import PreviewOptions, preview_file, validate_file
from app.services.mapping.public import DiagnosticPublic, ValidationPublic
from app.services.mapping.rulesets import RulesetRejected, connections_for
from app.services.mapping.sources import VersionText, active_text, version_diff, version_text
from app.web.deps import OPS_ROLES, ViewerDep, csrf_protect
from app.web.rendering import PageRoute, render

router = APIRouter(route_class=PageRoute, dependencies=[Depends(csrf_protect)])

MAX_RULES = 1_000_000
FILE = "rules.yaml"
RulesText = Annotated[str, Form(max_length=MAX_RULES)]
ConnectionField = Annotated[str, Form(max_length=100)]


def _connections(database: Database) -> list[str]:
    with database.sessions() as session:
        return [c.name for c in connections_for(session) if c.source]


def _editor(database: Database, connection: str | None, version: int | None) -> dict[str, Any]:
    names = _connections(database)
    chosen = connection if connection in names else (names[0] if names else None)
    current = active_text(database, chosen) if chosen else None
    shown = version_text(database, version) if version is not None else current
    return {
        "connections": names,
        "connection": chosen,
        "active": current,
        "shown": shown,
        "versions": list(reversed(list_versions(database, chosen))) if chosen else [],
    }


def _page(
    request: Request,
    viewer: ViewerDep,
    context: dict[str, Any],
    *,
    text: str | None = None,
    report: ValidationPublic | None = None,
    status: int = 200,
    notice: str | None = None,
) -> Response:
    shown = context["shown"]
    return render(
        request,
        "ops/rules.html",
        viewer,
        status=status,
        text=text if text is not None else (getattr(shown, "text", "") or ""),
        report=report,
        notice=notice,
        **context,
    )


@router.get("/ops/rules")
async def rules(
    request: Request,
    viewer: ViewerDep,
    database: DatabaseDep,
    connection: Annotated[str | None, Query(max_length=100)] = None,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    activated: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    viewer.require(*OPS_ROLES)
    context = await run_in_threadpool(_editor, database, connection, version)
    notice = None
    if activated is not None:
        notice = f"Version {activated} is active on {context['connection']}."
    return _page(request, viewer, context, notice=notice)


class ValidateBody(BaseModel):
    rules: str = Field(max_length=MAX_RULES)
    connection: str | None = Field(default=None, max_length=100)


@router.post("/ops/rules/validate")
async def validate(viewer: ViewerDep, database: DatabaseDep, body: ValidateBody) -> JSONResponse:
    """Check the text as it is being typed: errors and warnings at their line and column,
    the fields checked against the connection's stored data (no scan of the records)."""
    viewer.require(*OPS_ROLES)
    report = await run_in_threadpool(
        validate_file, database, body.rules, FILE, body.connection or None, False
    )
    return JSONResponse(ValidationPublic.of(report).model_dump(mode="json"))


@router.post("/ops/rules/check")
async def check(
    request: Request,
    viewer: ViewerDep,
    database: DatabaseDep,
    rules: RulesText,
    connection: ConnectionField = "",
) -> Response:
    """The same check, as a form (without script)."""
    viewer.require(*OPS_ROLES)
    report = await run_in_threadpool(
        validate_file, database, rules, FILE, connection or None, False
    )
    context = await run_in_threadpool(_editor, database, connection or None, None)
    public = ValidationPublic.of(report)
    return _page(request, viewer, context, text=rules, report=public, status=200)


@router.post("/ops/rules/preview")
async def preview(
    request: Request,
    viewer: ViewerDep,
    database: DatabaseDep,
    rules: RulesText,
    connection: ConnectionField = "",
) -> Response:
    viewer.require(*OPS_ROLES)
    try:
        report = await run_in_threadpool(
            preview_file, database, rules, FILE, PreviewOptions(connection or None, 3)
        )
    except RulesetRejected as rejected:
        return await _rejected(request, viewer, database, rules, connection, rejected)
    return render(
        request,
        "ops/preview.html",
        viewer,
        report=report,
        rules=rules,
        connection=connection,
    )


async def _rejected(
    request: Request,
    viewer: ViewerDep,
    database: Database,
    rules: str,
    connection: str,
    rejected: RulesetRejected,
) -> Response:
    """The editor again, with the file and its errors at their line and column (422)."""
    context = await run_in_threadpool(_editor, database, connection or None, None)
    found = rejected.diagnostics
    public = ValidationPublic(
        ok=False,
        errors=[DiagnosticPublic.of(d) for d in found if d.severity == "error"],
        warnings=[DiagnosticPublic.of(d) for d in found if d.severity == "warning"],
    )
    return _page(request, viewer, context, text=rules, report=public, status=422)


@router.post("/ops/rules/compare")
async def compare(
    request: Request,
    viewer: ViewerDep,
    database: DatabaseDep,
    store: KpiStoreDep,
    rules: RulesText,
    connection: ConnectionField = "",
) -> Response:
    """How the forecast would have done with the file: the same backtest as the API's
    `POST /api/v1/health/compare`, for the active version and the file, side by side."""
    viewer.require(*OPS_ROLES)
    try:
        compared = await run_in_threadpool(
            lambda: compare_versions(
                database, rules, FILE, store=store, connection=connection or None
            )
        )
    except RulesetRejected as rejected:
        return await _rejected(request, viewer, database, rules, connection, rejected)
    return render(
        request, "ops/compare.html", viewer, compared=compared, rules=rules, connection=connection
    )


def _activate(database: Database, box: SecretBox, rules: str, connection: str) -> int:
    result, _ = activate_file(
        database,
        lambda: box,
        rules,
        FILE,
        add_missing_fields=False,
        how_to_add="Add them with `milestones connections update --extra-field`, or activate "
        "with `milestones mappings activate --add-fields`,",
        connections=[connection] if connection else None,
    )
    return result.version


@router.post("/ops/rules/activate")
async def activate(
    viewer: ViewerDep,
    database: DatabaseDep,
    box: SecretBoxDep,
    rules: RulesText,
    connection: ConnectionField = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    viewer.require(*OPS_ROLES)
    if confirm != "yes":
        raise InvalidRequestError(
            "confirm: tick the box that confirms the changes the preview shows"
        )
    version = await run_in_threadpool(_activate, database, box, rules, connection)
    return RedirectResponse(
        f"/ops/rules?connection={connection}&activated={version}", status_code=303
    )


@router.post("/ops/rules/rollback")
async def roll_back(
    viewer: ViewerDep, database: DatabaseDep, connection: ConnectionField
) -> Response:
    viewer.require(*OPS_ROLES)
    result = await run_in_threadpool(rollback, database, connection)
    return RedirectResponse(
        f"/ops/rules?connection={connection}&activated={result.version}", status_code=303
    )


@router.post("/ops/rules/versions/{version}/activate")
async def reactivate(
    viewer: ViewerDep, database: DatabaseDep, version: int, connection: ConnectionField
) -> Response:
    viewer.require(*OPS_ROLES)

    def work() -> int:
        return activate_version(database, find_version(database, version), [connection]).version

    number = await run_in_threadpool(work)
    return RedirectResponse(
        f"/ops/rules?connection={connection}&activated={number}", status_code=303
    )


@router.get("/ops/rules/versions/{version}/diff")
async def diff(
    request: Request,
    viewer: ViewerDep,
    database: DatabaseDep,
    version: int,
    against: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    connection: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    viewer.require(*OPS_ROLES)

    def work() -> tuple[VersionText, VersionText, list[str]]:
        after = version_text(database, version)
        before = version_text(database, against if against is not None else max(1, version - 1))
        return before, after, version_diff(before, after)

    before, after, lines = await run_in_threadpool(work)
    return render(
        request,
        "ops/diff.html",
        viewer,
        before=before,
        after=after,
        lines=lines,
        connection=connection,
    )
