"""`milestones connections ...`: add, update, list, test and remove CRM connections.

Services are imported inside the commands, so `milestones --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.table import Table

from app.cli import connection_options as opt
from app.cli.context import open_database, secret_box
from app.cli.output import console, emit_json, fail

app = typer.Typer(help="CRM connections: add, update, list, test, remove.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _secret(value: str | None, label: str, needed: bool) -> str | None:
    if value or not needed:
        return value
    if not sys.stdin.isatty():
        fail(f"{label} is required: pass it as an option or in its environment variable")
    secret: str = typer.prompt(label, hide_input=True)
    return secret


ClientSecret = Annotated[
    str | None,
    typer.Option(
        envvar="MILESTONES_CRM_CLIENT_SECRET",
        help="Client secret (Salesforce app; HubSpot app: OAuth refresh and webhook signatures).",
    ),
]
RefreshToken = Annotated[
    str | None, typer.Option(envvar="MILESTONES_CRM_REFRESH_TOKEN", help="Refresh token.")
]
Password = Annotated[
    str | None, typer.Option(envvar="MILESTONES_CRM_PASSWORD", help="Password (+ token).")
]
PrivateKeyFile = Annotated[
    Path | None, typer.Option(help="PEM private key for the Salesforce JWT bearer flow.")
]
AccessToken = Annotated[
    str | None,
    typer.Option(envvar="MILESTONES_CRM_ACCESS_TOKEN", help="HubSpot private-app token."),
]
Interval = Annotated[int | None, typer.Option(help="Seconds between scheduled syncs [300].")]


def _secrets(
    kind: str, settings: dict[str, Any], given: dict[str, str | None], prompt: bool
) -> dict[str, str]:
    """The secrets this kind keeps, asking for the ones it cannot work without (when adding).

    A HubSpot private app keeps its client secret too: webhooks are verified with it.
    """
    from app.services.connections.registry import SECRET_NAMES

    flow = settings.get("auth_flow")
    oauth_app = kind == "hubspot" and bool(settings.get("client_id"))
    needed = {
        "client_secret": oauth_app or (kind == "salesforce" and flow != "jwt"),
        "refresh_token": oauth_app or (kind == "salesforce" and flow == "refresh_token"),
        "password": kind == "salesforce" and flow == "password",
        "access_token": kind == "hubspot" and not oauth_app,
    }
    secrets = {
        name: _secret(given.get(name), name.replace("_", " "), prompt and needed.get(name, False))
        for name in SECRET_NAMES[kind]
        if name != "private_key"
    }
    if kind == "salesforce" and "private_key" in given:
        secrets["private_key"] = given["private_key"]
    if prompt and kind == "salesforce" and flow == "jwt" and not secrets.get("private_key"):
        fail("--private-key-file is required for the jwt flow")
    return {name: value for name, value in secrets.items() if value}


def _model(kind: str) -> type[BaseModel]:
    from app.services.connections.registry import (
        ExportSettings,
        HubSpotSettings,
        SalesforceSettings,
    )

    models: dict[str, type[BaseModel]] = {
        "salesforce": SalesforceSettings,
        "hubspot": HubSpotSettings,
        "export": ExportSettings,
    }
    if kind not in models:
        fail(f"--kind {kind!r}: use salesforce, hubspot or export")
    return models[kind]


def _reread_note(name: str, streams: list[str]) -> str:
    flags = " ".join(f"--stream {stream}" for stream in streams)
    return (
        f"{', '.join(streams)} gained fields: the next sync reads "
        f"{'it' if len(streams) == 1 else 'them'} whole — run `milestones sync {name} {flags}` "
        "now, or let the worker do it"
    )


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A short name, e.g. acme-salesforce.")],
    kind: Annotated[str, typer.Option(help="salesforce, hubspot or export.")] = "salesforce",
    client_secret: ClientSecret = None,
    refresh_token: RefreshToken = None,
    password: Password = None,
    private_key_file: PrivateKeyFile = None,
    access_token: AccessToken = None,
    interval: Interval = None,
    lookback_minutes: opt.LookbackMinutes = None,
    quota_share: opt.QuotaShare = None,
    streams: opt.Streams = None,
    extra_fields: opt.ExtraFields = None,
    auth_flow: opt.AuthFlow = None,
    token_url: opt.TokenUrl = None,
    client_id: opt.ClientId = None,
    username: opt.Username = None,
    api_version: opt.ApiVersion = None,
    ca_file: opt.CaFile = None,
    page_size: opt.PageSize = None,
    bulk_threshold: opt.BulkThreshold = None,
    bulk_poll_seconds: opt.BulkPollSeconds = None,
    writeback_bulk_threshold: opt.WritebackBulkThreshold = None,
    writeback: opt.Writeback = None,
    base_url: opt.BaseUrl = None,
    portal_id: opt.PortalId = None,
    oauth_base_url: opt.OauthBaseUrl = None,
    search_per_second: opt.SearchPerSecond = None,
    association_sweep_hours: opt.AssociationSweepHours = None,
    deletions_every_minutes: opt.DeletionsEveryMinutes = None,
    custom_properties: opt.CustomProperties = None,
    path: opt.ExportPath = None,
    crm: opt.Crm = None,
    encoding: opt.Encoding = None,
    as_json: JsonOption = False,
) -> None:
    """Add a connection. Secrets are encrypted at rest and never printed.

    Every setting the API takes has an option; a salesforce connection's --auth-flow defaults
    to client_credentials. Secrets missing for the chosen login are asked for (hidden)."""
    from app.services.connections import registry as service
    from app.services.connections.public import connection_public

    options = {key: value for key, value in locals().items() if key in opt.SETTING_OPTIONS}
    settings = {"kind": kind, **opt.given_settings(_model(kind), kind, options)}
    if kind == "salesforce":
        settings.setdefault("auth_flow", "client_credentials")
    private_key = private_key_file.read_text() if private_key_file else None
    given = {
        "client_secret": client_secret,
        "refresh_token": refresh_token,
        "password": password,
        "access_token": access_token,
        "private_key": private_key,
    }
    secrets = _secrets(kind, settings, given, prompt=True)
    database = open_database(writes=True)
    box = secret_box()
    with database.session() as session:
        connection = service.create_connection(
            session,
            box,
            name=name,
            settings=settings,
            secrets=secrets,
            sync_interval_seconds=interval or 300,
        )
        added = connection_public(connection, box)
    if as_json:
        emit_json(added)
    else:
        console.print(
            f"added {kind} connection {name}; check it with `milestones connections test {name}`, "
            f"sync it with `milestones sync {name}`, and give it rules with `milestones mappings "
            f"activate FILE --connection {name}` (each connection has its own)",
            soft_wrap=True,
        )


@app.command("update")
def update(
    name: Annotated[str, typer.Argument(help="The connection to change.")],
    client_secret: ClientSecret = None,
    refresh_token: RefreshToken = None,
    password: Password = None,
    private_key_file: PrivateKeyFile = None,
    access_token: AccessToken = None,
    interval: Interval = None,
    enabled: Annotated[
        bool | None,
        typer.Option("--enable/--disable", help="Scheduled syncs on or off.", show_default=False),
    ] = None,
    lookback_minutes: opt.LookbackMinutes = None,
    quota_share: opt.QuotaShare = None,
    streams: opt.Streams = None,
    extra_fields: opt.ExtraFields = None,
    auth_flow: opt.AuthFlow = None,
    token_url: opt.TokenUrl = None,
    client_id: opt.ClientId = None,
    username: opt.Username = None,
    api_version: opt.ApiVersion = None,
    ca_file: opt.CaFile = None,
    page_size: opt.PageSize = None,
    bulk_threshold: opt.BulkThreshold = None,
    bulk_poll_seconds: opt.BulkPollSeconds = None,
    writeback_bulk_threshold: opt.WritebackBulkThreshold = None,
    writeback: opt.Writeback = None,
    base_url: opt.BaseUrl = None,
    portal_id: opt.PortalId = None,
    oauth_base_url: opt.OauthBaseUrl = None,
    search_per_second: opt.SearchPerSecond = None,
    association_sweep_hours: opt.AssociationSweepHours = None,
    deletions_every_minutes: opt.DeletionsEveryMinutes = None,
    custom_properties: opt.CustomProperties = None,
    path: opt.ExportPath = None,
    crm: opt.Crm = None,
    encoding: opt.Encoding = None,
    as_json: JsonOption = False,
) -> None:
    """Change a connection's settings or secrets; only the options given change.

    --extra-field adds to the fields a stream already reads; a stream that gains fields is read
    whole at its next sync (its stored records lack them)."""
    from app.services.connections import registry as service
    from app.services.connections.changes import update_connection
    from app.services.connections.public import connection_updated

    options = {key: value for key, value in locals().items() if key in opt.SETTING_OPTIONS}
    database = open_database()
    box = secret_box()
    with database.session() as session:
        current = service.get_connection(session, name)
        changes = opt.given_settings(_model(current.kind), current.kind, options)
        if "extra_fields" in changes:  # added to what the streams read already
            merged = {k: list(v) for k, v in (current.settings.get("extra_fields") or {}).items()}
            for stream, names in changes["extra_fields"].items():
                merged[stream] = list(dict.fromkeys([*merged.get(stream, []), *names]))
            changes["extra_fields"] = merged
        given = {
            "client_secret": client_secret,
            "refresh_token": refresh_token,
            "password": password,
            "access_token": access_token,
            "private_key": private_key_file.read_text() if private_key_file else None,
        }
        kept = {**current.settings, **changes}
        secrets = _secrets(current.kind, kept, given, prompt=False)
        change = update_connection(
            session,
            box,
            name,
            settings=changes,
            secrets=secrets,
            sync_interval_seconds=interval,
            enabled=enabled,
        )
        updated = connection_updated(change, box)
    if as_json:
        emit_json(updated)
        return
    console.print(f"updated {name}")
    if updated.reread_streams:
        console.print(_reread_note(name, updated.reread_streams), soft_wrap=True)


@app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """List connections."""
    from app.services.connections import registry as service
    from app.services.connections.public import ConnectionsPublic, connection_public

    database = open_database()
    box = secret_box()
    with database.sessions() as session:
        rows = [connection_public(c, box) for c in service.list_connections(session)]
    if as_json:
        emit_json(ConnectionsPublic(data=rows, count=len(rows)))
        return
    if not rows:
        console.print("no connections yet; add one with `milestones connections add`")
        return
    table = Table("name", "kind", "enabled", "every")
    for row in rows:
        table.add_row(row.name, row.kind, str(row.enabled), f"{row.sync_interval_seconds} s")
    console.print(table)


@app.command("test")
def test(name: str, as_json: JsonOption = False) -> None:
    """Check credentials and every object and field the sync reads."""
    from app.services.connections import registry as service
    from app.services.connections.check import check_connection

    database = open_database()
    with database.sessions() as session:
        connection = service.get_connection(session, name)
    report = check_connection(connection, secret_box(), database=database)
    if as_json:
        emit_json(report)
    else:
        if not report.authenticated:
            fail(f"{name}: cannot log in: {report.error}")
        table = Table("stream", "readable", "missing fields", "error")
        for check in report.streams:
            table.add_row(
                check.stream,
                "yes" if check.readable else "no",
                ", ".join(check.missing_fields),
                check.error or "",
            )
        console.print(table)
        console.print(
            f"{name}: {'ready to sync' if report.ok else 'fix the rows above, then test again'}"
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command("remove")
def remove(
    name: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove a connection and everything synced from it."""
    from app.services.connections import registry as service

    if not yes and sys.stdin.isatty():
        typer.confirm(f"remove {name} and all records synced from it?", abort=True)
    database = open_database()
    with database.session() as session:
        service.remove_connection(session, name)
    console.print(f"removed {name}")
