"""The options of `connections add` and `connections update`: every setting the API takes.

Each option is named after the setting it sets (`--page-size` sets `page_size`) and defaults to
None, so the settings model keeps the one set of defaults and `update` changes only what is
given. An option that does not apply to the connection's kind is refused, not dropped.

    --extra-field Opportunity=Segment__c      # repeatable: a custom field a stream also reads
    --writeback '{"fields": {"stalled": {"name": "Deal_Stalled__c"}}}'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from app.cli.output import fail

__all__ = [
    "SETTING_OPTIONS",
    "extra_fields",
    "given_settings",
]

LookbackMinutes = Annotated[
    int | None, typer.Option(help="Incremental overlap in minutes [10].", show_default=False)
]
QuotaShare = Annotated[
    float | None, typer.Option(help="Stop at this share of the daily API quota [0.8].")
]
Streams = Annotated[
    list[str] | None,
    typer.Option("--stream", help="Sync only these streams (repeatable) [all]."),
]
ExtraFields = Annotated[
    list[str] | None,
    typer.Option(
        "--extra-field",
        help="STREAM=FIELD[,FIELD]: a custom field the stream also reads, e.g. "
        "Opportunity=Segment__c (repeatable).",
    ),
]
AuthFlow = Annotated[
    str | None,
    typer.Option(help="Salesforce: client_credentials, refresh_token, jwt or password."),
]
TokenUrl = Annotated[
    str | None, typer.Option(help="Salesforce OAuth token URL (My Domain or login host).")
]
ClientId = Annotated[
    str | None, typer.Option(help="Salesforce connected app consumer key; HubSpot OAuth app id.")
]
Username = Annotated[str | None, typer.Option(help="Salesforce integration user (jwt, password).")]
ApiVersion = Annotated[str | None, typer.Option(help="Salesforce API version [59.0].")]
CaFile = Annotated[Path | None, typer.Option(help="Extra CA bundle to trust (Salesforce).")]
PageSize = Annotated[int | None, typer.Option(help="Salesforce query batch size [2000].")]
BulkThreshold = Annotated[
    str | None,
    typer.Option(help="Salesforce: first loads of at least this many rows use Bulk API 2.0 "
                 "[50000]; `none`: never."),
]  # fmt: skip
BulkPollSeconds = Annotated[float | None, typer.Option(help="Salesforce Bulk job polling [2].")]
WritebackBulkThreshold = Annotated[
    str | None,
    typer.Option(help="Salesforce: write-back uses Bulk API 2.0 ingest from this many records "
                 "[10000]; `none`: never."),
]  # fmt: skip
Writeback = Annotated[
    str | None,
    typer.Option(help="Write-back settings as JSON (field names, switches); see the README."),
]
BaseUrl = Annotated[str | None, typer.Option(help="HubSpot API base URL [api.hubapi.com].")]
PortalId = Annotated[str | None, typer.Option(help="HubSpot portal (hub) id, for deep links.")]
OauthBaseUrl = Annotated[str | None, typer.Option(help="HubSpot OAuth token host [base URL].")]
SearchPerSecond = Annotated[float | None, typer.Option(help="HubSpot search calls a second [4].")]
AssociationSweepHours = Annotated[
    float | None, typer.Option(help="HubSpot: re-read associations this often [24]; 0: never.")
]
DeletionsEveryMinutes = Annotated[
    float | None, typer.Option(help="HubSpot: read archived records this often [60].")
]
CustomProperties = Annotated[
    bool | None,
    typer.Option(
        "--custom-properties/--no-custom-properties",
        help="HubSpot: also read the portal's own properties [yes].",
        show_default=False,
    ),
]
ExportPath = Annotated[Path | None, typer.Option(help="Export folder or .zip (kind export).")]
Crm = Annotated[str | None, typer.Option(help="Export: salesforce or hubspot, when it holds both.")]
Encoding = Annotated[str | None, typer.Option(help="Export: file encoding [utf-8-sig].")]

SETTING_OPTIONS = (
    "lookback_minutes", "quota_share", "streams", "extra_fields", "auth_flow", "token_url",
    "client_id", "username", "api_version", "ca_file", "page_size", "bulk_threshold",
    "bulk_poll_seconds", "writeback_bulk_threshold", "writeback", "base_url", "portal_id",
    "oauth_base_url", "search_per_second", "association_sweep_hours",
    "deletions_every_minutes", "custom_properties", "path", "crm", "encoding",
)  # fmt: skip
"""The settings the options set; a test holds them equal to the settings models' fields."""


def extra_fields(values: list[str]) -> dict[str, list[str]]:
    """`Opportunity=Segment__c,Region__c` options as {stream: [field, ...]}."""
    found: dict[str, list[str]] = {}
    for value in values:
        stream, _, names = value.partition("=")
        fields = [name.strip() for name in names.split(",") if name.strip()]
        if not stream.strip() or not fields:
            fail(f"--extra-field {value!r}: write STREAM=FIELD, e.g. Opportunity=Segment__c")
        found.setdefault(stream.strip(), [])
        found[stream.strip()] += [name for name in fields if name not in found[stream.strip()]]
    return found


def _nullable_int(option: str, value: str) -> int | None:
    if value.lower() in ("none", "null", "never"):
        return None
    try:
        return int(value)
    except ValueError:
        fail(f"--{option.replace('_', '-')} {value!r}: give a whole number, or `none`")


def _json_object(option: str, value: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        fail(f"--{option} is not JSON ({exc}); e.g. '{{\"enabled\": false}}'")
    if not isinstance(parsed, dict):
        fail(f"--{option} must be a JSON object, e.g. '{{\"enabled\": false}}'")
    return parsed


def given_settings(model: type[BaseModel], kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """The settings the user gave, as the API takes them; refuses options the kind lacks."""
    given = {name: value for name, value in options.items() if value is not None}
    for name in ("ca_file", "path"):
        if name in given:
            given[name] = str(Path(given[name]).expanduser().resolve())
    for name in ("bulk_threshold", "writeback_bulk_threshold"):
        if name in given:
            given[name] = _nullable_int(name, given[name])
    if "writeback" in given:
        given["writeback"] = _json_object("writeback", given["writeback"])
    if "extra_fields" in given:
        given["extra_fields"] = extra_fields(given["extra_fields"])
    if not given.get("streams", True):
        del given["streams"]
    misplaced = sorted(set(given) - set(model.model_fields))
    if misplaced:
        names = ", ".join("--" + name.replace("_", "-") for name in misplaced)
        fail(f"{names} {'does' if len(misplaced) == 1 else 'do'} not apply to {kind} connections")
    return given
