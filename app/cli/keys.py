"""`milestones keys ...`: create, list and revoke API keys (only a hash is stored)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from app.cli.context import open_database
from app.cli.output import console, emit_json

app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _moment(moment: datetime | None) -> str:
    return moment.isoformat()[:19] if moment is not None else ""


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="What the key is for.")],
    role: Annotated[str, typer.Option(help="admin, ops, manager or rep.")],
    owner: Annotated[str | None, typer.Option(help="For a rep: the rep's CRM owner id.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key and print it once; it cannot be shown again."""
    from app.services.access.api_keys import create_key
    from app.services.access.public import key_created

    database = open_database(writes=True)
    with database.session() as session:
        row, secret = create_key(session, name, role, owner)
        created = key_created(row, secret)
    if as_json:
        emit_json(created)
    else:
        console.print(f"{created.role} key {created.prefix} created; store it now, it is not kept:")
        console.print(secret)


@app.command("list")
def list_command(as_json: JsonOption = False) -> None:
    """Every key (never the key itself)."""
    from app.services.access.api_keys import list_keys

    with open_database().session() as session:
        keys = list_keys(session)
    if as_json:
        emit_json({"keys": keys})
        return
    table = Table()
    for column in ("id", "prefix", "name", "role", "owner", "created", "last used", "revoked"):
        table.add_column(column)
    for k in keys:
        table.add_row(
            str(k.id),
            k.prefix,
            k.name,
            k.role,
            k.owner or "",
            _moment(k.created_at),
            _moment(k.last_used_at),
            _moment(k.revoked_at),
        )
    console.print(table)


@app.command("revoke")
def revoke(
    key: Annotated[str, typer.Argument(help="The key's id or prefix.")],
    as_json: JsonOption = False,
) -> None:
    """Revoke a key: it stops working at once."""
    from app.services.access.api_keys import revoke_key

    with open_database().session() as session:
        revoked = revoke_key(session, key)
    if as_json:
        emit_json(revoked)
    else:
        console.print(f"key {revoked.prefix} ({revoked.name}) revoked")
