"""`milestones worker` and `milestones status`: keep connections fresh, and show how fresh."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from app.cli.context import open_database, secret_box, settings
from app.cli.output import console, emit_json, fail

if TYPE_CHECKING:
    from app.services.sync.public import SyncStatus


def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, max=32, help="Jobs this process runs at once.")
    ] = 2,
    poll: Annotated[
        float, typer.Option(min=0.1, max=60, help="Seconds between looks at the queue when idle.")
    ] = 1.0,
    lead: Annotated[
        bool, typer.Option("--lead/--no-lead", help="Bid for the leader's role (the schedule).")
    ] = True,
    name: Annotated[str | None, typer.Option(help="Worker name in jobs and logs.")] = None,
) -> None:
    """Run the schedule and the sync pipeline until SIGTERM (which finishes the current page).

    On PostgreSQL any number of workers share the work; one of them leads the schedule. On
    SQLite one worker process serves the database.
    """
    from app.core.errors import ConflictError
    from app.worker import Worker

    database = open_database(writes=True)  # migrates an embedded database on first use
    runner = Worker(
        database, secret_box(), concurrency=concurrency, poll_seconds=poll, lead=lead, name=name
    )
    runner.install_signal_handlers()
    try:
        runner.run()
    except ConflictError as error:
        fail(error.detail)


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _print(status: SyncStatus) -> None:
    scheduler = status.scheduler
    leader = scheduler.leader or ("running" if scheduler.leader_alive else "none")
    console.print(
        f"scheduler: {leader}  ·  queue: {status.queue.queued} queued, "
        f"{status.queue.running} running"
        + (f"  ·  mapping runs: {scheduler.mapping}" if scheduler.mapping is not None else "")
    )
    console.print(f"data clock (KPIs as of): {status.data_clock.isoformat(' ')[:19]}")
    table = Table("connection", "rules", "last run", "lag", "next run", "running", "errors")
    for row in status.connections:
        last, running, next_run = row.last_run, row.running, row.next_run_at
        table.add_row(
            row.name + ("" if row.enabled else " (disabled)"),
            f"v{row.ruleset_version}" if row.ruleset_version else "none",
            f"{last.status} ({last.trigger})" if last else "—",
            _ago(row.lag_seconds),
            next_run.isoformat(" ")[:19] if next_run else "—",
            (running.worker or "") if running else "",
            (row.errors[0].error or "")[:60] if row.errors else "",
        )
    console.print(table)
    streams = Table("connection", "stream", "status", "new", "changed", "cursor", "error")
    for row in status.connections:
        for stream in row.streams:
            streams.add_row(
                row.name, stream.stream, stream.status, str(stream.new), str(stream.changed),
                stream.cursor.isoformat()[:19] if stream.cursor else "—",
                (stream.error or "")[:50],
            )  # fmt: skip
    if streams.row_count:
        console.print(streams)


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Last run per connection and stream, lag, next run, errors, and whether a leader runs."""
    from app.services.sync.status import sync_status

    report = sync_status(open_database(), settings().kpi_as_of_value)
    if as_json:
        emit_json(report)
    else:
        _print(report)


def trigger_token(
    connection: Annotated[str, typer.Argument(help="A Salesforce connection's name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The token a Salesforce Flow or Outbound Message sends to trigger a sync of CONNECTION."""
    from app.cli.context import settings
    from app.core.crypto import load_keys
    from app.services.connections.registry import get_connection
    from app.services.sync.triggers import trigger_endpoint

    config = settings()
    with open_database().sessions() as session:
        found = get_connection(session, connection)
    if found.kind != "salesforce":
        fail(f"{connection} is a {found.kind} connection; trigger tokens are for Salesforce")
    base = config.public_url or f"http://{config.host}:{config.port}"
    endpoint = trigger_endpoint(load_keys(config), found.name, found.id, base)
    if as_json:
        emit_json(endpoint)
    else:
        url, token = endpoint.url, endpoint.token
        console.print(f"Flow (HTTP callout): POST {url}\n  Authorization: Bearer {token}")
        console.print(f"Outbound Message endpoint URL: {url}?token={token}")
