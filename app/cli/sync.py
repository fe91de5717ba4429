"""`milestones sync [CONNECTION] [--full]`: pull CRM records now, with progress per stream."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.cli.context import open_database, secret_box
from app.cli.output import console, emit_json

if TYPE_CHECKING:
    from app.services.sync.runs import SyncReport
    from connectors.core import StreamResult


def _print(report: SyncReport) -> None:
    table = Table(
        "stream", "read", "new", "changed", "deleted", "quarantined", "calls", "MB", "s", "note",
        title=f"{report.connection}: {report.status} ({report.api_calls} API calls)",
    )  # fmt: skip
    for row in report.streams:
        note = row.error or ("" if row.stopped == "done" else row.stopped)
        table.add_row(
            row.stream, *(str(n) for n in (row.read, row.new, row.changed, row.deleted)),
            str(row.quarantined), str(row.api_calls),
            f"{row.bytes_received / 1e6:.1f}", f"{row.seconds:.1f}", note,
        )  # fmt: skip
    console.print(table)
    if report.error:
        console.print(f"[yellow]{report.error}[/]")


def sync(
    connection: Annotated[
        str | None, typer.Argument(help="Connection name; all if omitted.")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Re-read everything, not just changes.")
    ] = False,
    stream: Annotated[
        list[str] | None, typer.Option("--stream", help="Only these streams.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Sync one connection, or every enabled one, into the raw layer."""
    from app.services.connections import registry as service
    from app.services.sync.manual import connection_lock
    from app.services.sync.runs import sync_connection

    database = open_database(writes=True)
    box = secret_box()
    with database.sessions() as session:
        chosen = (
            [service.get_connection(session, connection)]
            if connection
            else [c for c in service.list_connections(session) if c.enabled]
        )
        targets = [(c.id, c.name) for c in chosen]
    reports = []
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=console, disable=as_json, transient=True,
    ) as progress:  # fmt: skip
        for connection_id, name in targets:
            task = progress.add_task(f"{name}: starting", total=None)

            def on_page(result: StreamResult, name: str = name, task: TaskID = task) -> None:
                progress.update(
                    task, description=f"{name}: {result.stream} — {result.records_read:,} records"
                )

            with connection_lock(database, connection_id, name):
                reports.append(
                    sync_connection(database, box, name, full=full, streams=stream, on_page=on_page)
                )
            progress.remove_task(task)
    if as_json:
        emit_json({"runs": reports})
    else:
        for report in reports:
            _print(report)
    if any(report.status == "failed" for report in reports):
        raise typer.Exit(1)
