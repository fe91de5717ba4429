"""Mapping rules over the API, for ops: validate, preview and activate a ruleset.

Rule files travel as text in a JSON body (`rules`), with the file name used in positions.
An invalid ruleset answers 422 problem+json whose `errors` list every diagnostic with its
line and column; nothing is stored and the active versions keep running. Each connection has
its own active version: activation, versions and rollback take the connections they concern.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.api.deps import DatabaseDep, SecretBoxDep
from app.api.problems import problem_response
from app.models.base import MAX_INT
from app.services.mapping.activation import (
    activate_file,
    activate_version,
    find_version,
    list_versions,
    rollback,
)
from app.services.mapping.preview import PreviewOptions, preview_file, validate_file
from app.services.mapping.preview_report import PreviewReport
from app.services.mapping.public import (
    ActivationSummary,
    ValidationPublic,
    VersionsPublic,
)
from app.services.mapping.rulesets import RulesetRejected

router = APIRouter(prefix="/api/v1/mappings", tags=["mappings"])

MAX_RULES_BYTES = 1_000_000
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid ruleset", "content": {"application/problem+json": {}}}
}


class RulesetText(BaseModel):
    rules: str = Field(
        max_length=MAX_RULES_BYTES,
        description="The rule file's YAML text.",
        examples=["name: Acme\nsource: salesforce\nprocesses: [...]"],
    )
    file: str = Field(default="ruleset.yaml", max_length=200, description="Name used in positions.")


class RulesetSubmission(RulesetText):
    connection: str | None = Field(default=None, description="Only this connection (by name).")


class PreviewRequest(RulesetSubmission):
    limit: int = Field(default=3, ge=0, le=100, description="Examples per milestone.")


_CONNECTIONS_DESCRIPTION = (
    "The connections (by name) to make it active on; by default every connection whose CRM "
    "the file's processes read. Other connections keep their own active version."
)


class ActivationRequest(RulesetText):
    connections: list[str] | None = Field(
        default=None, min_length=1, max_length=1000, description=_CONNECTIONS_DESCRIPTION
    )
    note: str | None = Field(default=None, max_length=2000)
    add_fields: bool = Field(
        default=False,
        description="Add the fields the file declares (`fields:`) to each connection that does "
        "not pull them yet (their streams are read whole at the next sync); without it such a "
        "file is refused with 409.",
    )


def _invalid(request: Request, exc: RulesetRejected) -> JSONResponse:
    return problem_response(
        request,
        422,
        title="Invalid ruleset",
        detail=exc.detail,
        problem_type="/problems/invalid-ruleset",
        errors=[d.to_json() for d in exc.diagnostics if d.severity == "error"],
        warnings=[d.to_json() for d in exc.diagnostics if d.severity == "warning"],
    )


@router.post("/validate", response_model=ValidationPublic, summary="Check a rule file")
def validate(body: RulesetSubmission, database: DatabaseDep) -> ValidationPublic:
    report = validate_file(database, body.rules, body.file, body.connection)
    return ValidationPublic.of(report)


@router.post(
    "/preview",
    response_model=PreviewReport,
    summary="What a rule file would match in the stored records, against the active version",
    responses=_INVALID,
)
def preview(
    request: Request, body: PreviewRequest, database: DatabaseDep
) -> PreviewReport | JSONResponse:
    try:
        return preview_file(
            database, body.rules, body.file, PreviewOptions(body.connection, body.limit)
        )
    except RulesetRejected as exc:
        return _invalid(request, exc)


@router.post(
    "/activate",
    response_model=ActivationSummary,
    summary="Store a rule file as a new version, re-derive its connections' events and make "
    "it their active one",
    responses=_INVALID,
)
def activate(
    request: Request, body: ActivationRequest, database: DatabaseDep, box: SecretBoxDep
) -> ActivationSummary | JSONResponse:
    try:
        result, _added = activate_file(
            database,
            lambda: box,
            body.rules,
            body.file,
            add_missing_fields=body.add_fields,
            how_to_add='Send "add_fields": true',
            note=body.note,
            connections=body.connections,
        )
    except RulesetRejected as exc:
        return _invalid(request, exc)
    return result.summary()


@router.get("/versions", response_model=VersionsPublic, summary="Stored ruleset versions")
def versions(
    database: DatabaseDep,
    connection: str | None = Query(
        default=None, max_length=200, description="Only the versions ever active on it."
    ),
) -> VersionsPublic:
    found = list_versions(database, connection)
    return VersionsPublic(data=found, count=len(found))


@router.post(
    "/versions/{version}/activate",
    response_model=ActivationSummary,
    summary="Make a stored version active on connections (its events re-derived from stored "
    "records)",
)
def reactivate(
    database: DatabaseDep,
    version: int = Path(ge=1, le=MAX_INT),
    connection: list[str] | None = Query(default=None, description=_CONNECTIONS_DESCRIPTION),
) -> ActivationSummary:
    return activate_version(database, find_version(database, version), connection).summary()


@router.post(
    "/rollback",
    response_model=ActivationSummary,
    summary="Make the version a connection had before its active one active again",
)
def roll_back(
    database: DatabaseDep,
    connection: str = Query(max_length=200, description="The connection (by name)."),
) -> ActivationSummary:
    return rollback(database, connection).summary()
