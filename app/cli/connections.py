"""`milestones connections ...`: add, list, test and remove CRM connections.

Services are imported inside the commands, so `milestones --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from app.cli.context import open_database, secret_box
from app.cli.output import console, emit_json, fail

app = typer.Typer(help="CRM connections: add, list, test, remove.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _secret(value: str | None, label: str, needed: bool) -> str | None:
    if value or not needed:
        return value
    if not sys.stdin.isatty():
        fail(f"{label} is required: pass it as an option or in its environment variable")
    secret: str = typer.prompt(label, hide_input=True)
    return secret


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A short name, e.g. acme-salesforce.")],
    kind: Annotated[str, typer.Option(help="salesforce, hubspot or export.")] = "salesforce",
    token_url: Annotated[
        str | None, typer.Option(help="Salesforce OAuth token URL (My Domain or login host).")
    ] = None,
    client_id: Annotated[
        str | None, typer.Option(help="Connected app consumer key; HubSpot: the OAuth app's id.")
    ] = None,
    auth_flow: Annotated[
        str, typer.Option(help="client_credentials, refresh_token, jwt or password.")
    ] = "client_credentials",
    username: Annotated[str, typer.Option(help="Integration user (jwt, password).")] = "",
    client_secret: Annotated[
        str | None, typer.Option(envvar="MILESTONES_CRM_CLIENT_SECRET", help="Client secret.")
    ] = None,
    refresh_token: Annotated[
        str | None, typer.Option(envvar="MILESTONES_CRM_REFRESH_TOKEN", help="Refresh token.")
    ] = None,
    password: Annotated[
        str | None, typer.Option(envvar="MILESTONES_CRM_PASSWORD", help="Password (+ token).")
    ] = None,
    private_key_file: Annotated[
        Path | None, typer.Option(help="PEM private key for the JWT bearer flow.")
    ] = None,
    access_token: Annotated[
        str | None,
        typer.Option(envvar="MILESTONES_CRM_ACCESS_TOKEN", help="HubSpot private-app token."),
    ] = None,
    base_url: Annotated[str | None, typer.Option(help="HubSpot API base URL.")] = None,
    path: Annotated[Path | None, typer.Option(help="Export folder or zip (kind export).")] = None,
    ca_file: Annotated[Path | None, typer.Option(help="Extra CA bundle to trust.")] = None,
    lookback_minutes: Annotated[int, typer.Option(help="Incremental overlap.")] = 10,
    quota_share: Annotated[
        float, typer.Option(help="Stop at this share of the daily API quota.")
    ] = 0.8,
    page_size: Annotated[int, typer.Option(help="Salesforce query batch size.")] = 2000,
    interval: Annotated[int, typer.Option(help="Seconds between scheduled syncs.")] = 300,
    as_json: JsonOption = False,
) -> None:
    """Add a connection. Secrets are encrypted at rest and never printed."""
    from app.services.connections import registry as service
    from app.services.connections.public import connection_public

    settings: dict[str, Any] = {
        "kind": kind,
        "lookback_minutes": lookback_minutes,
        "quota_share": quota_share,
    }
    secrets: dict[str, str | None] = {}
    if kind == "salesforce":
        settings |= {
            "auth_flow": auth_flow,
            "token_url": token_url,
            "client_id": client_id,
            "username": username,
            "ca_file": str(ca_file) if ca_file else None,
            "page_size": page_size,
        }
        secrets["client_secret"] = _secret(client_secret, "client secret", auth_flow != "jwt")
        secrets["refresh_token"] = _secret(
            refresh_token, "refresh token", auth_flow == "refresh_token"
        )
        secrets["password"] = _secret(password, "password", auth_flow == "password")
        if auth_flow == "jwt":
            if private_key_file is None:
                fail("--private-key-file is required for the jwt flow")
            secrets["private_key"] = private_key_file.read_text()
    elif kind == "hubspot" and client_id:  # an OAuth app: tokens come from its refresh token
        settings |= {"base_url": base_url or "https://api.hubapi.com", "client_id": client_id}
        secrets["client_secret"] = _secret(client_secret, "client secret", True)
        secrets["refresh_token"] = _secret(refresh_token, "refresh token", True)
    elif kind == "hubspot":
        settings["base_url"] = base_url or "https://api.hubapi.com"
        secrets["access_token"] = _secret(access_token, "access token", True)
    elif kind == "export":
        settings = {"kind": "export", "path": str(path) if path else None}
    database = open_database(writes=True)
    box = secret_box()
    with database.session() as session:
        connection = service.create_connection(
            session,
            box,
            name=name,
            settings=settings,
            secrets={key: value for key, value in secrets.items() if value},
            sync_interval_seconds=interval,
        )
        added = connection_public(connection, box)
    if as_json:
        emit_json(added)
    else:
        console.print(
            f"added {kind} connection {name}; check it with `milestones connections test {name}`"
        )


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
