"""`milestones db ...`: schema migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.context import open_database
from app.cli.output import console, emit_json
from app.core.database import current_revision, downgrade, head_revision, redact_url, upgrade

app = typer.Typer(
    help="Database schema: upgrade, downgrade, show the revision.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


@app.command("upgrade")
def upgrade_command(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    as_json: JsonOption = False,
) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    database = open_database(writes=True, migrate=False)
    before = current_revision(database.engine)
    upgrade(database.engine, revision)
    after = current_revision(database.engine)
    if as_json:
        emit_json({"database": redact_url(database.url), "from": before, "to": after})
    else:
        console.print(f"database {redact_url(database.url)}: {before or 'empty'} -> {after}")


@app.command("downgrade")
def downgrade_command(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")],
    as_json: JsonOption = False,
) -> None:
    """Revert migrations down to REVISION."""
    database = open_database(migrate=False)
    before = current_revision(database.engine)
    downgrade(database.engine, revision)
    after = current_revision(database.engine)
    if as_json:
        emit_json({"database": redact_url(database.url), "from": before, "to": after})
    else:
        console.print(f"database {redact_url(database.url)}: {before} -> {after or 'empty'}")


@app.command("current")
def current_command(as_json: JsonOption = False) -> None:
    """Show the schema revision of the database and the latest one available."""
    database = open_database(migrate=False)
    current, head = current_revision(database.engine), head_revision()
    if as_json:
        emit_json(
            {
                "database": redact_url(database.url),
                "current": current,
                "head": head,
                "at_head": current == head,
            }
        )
    else:
        state = "up to date" if current == head else "run `milestones db upgrade`"
        console.print(
            f"database {redact_url(database.url)}: {current or 'empty'} (latest {head}, {state})"
        )
