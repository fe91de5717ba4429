"""`milestones writeback [CONNECTION] [--dry-run]` and `milestones crm setup-fields CONNECTION`:
the KPI fields on every opportunity and deal, and the CRM fields that hold them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from app.cli.context import open_database, secret_box, settings
from app.cli.output import console, emit_json, fail

if TYPE_CHECKING:
    from app.services.writeback.crm_fields import FieldsReport
    from app.services.writeback.runs import WritebackReport

crm = typer.Typer(help="The CRM fields write-back writes into.", no_args_is_help=True)


def _print_run(report: WritebackReport) -> None:
    mode = " (dry run)" if report.dry_run else ""
    console.print(
        f"[bold]{escape(report.connection)}[/]{mode}: {report.status} — "
        f"{report.records_checked:,} checked, {report.records_changed:,} changed, "
        f"{report.records_written:,} written, {report.records_failed:,} failed, "
        f"{report.records_deferred:,} waiting to retry; {report.api_calls} API calls "
        f"({report.write_calls} writes"
        + (f", {report.bulk_jobs} Bulk API jobs" if report.bulk_jobs else "")
        + f") in {report.seconds:.1f} s"
    )
    for failure in report.failures[:10]:
        console.print(
            f"  [yellow]{escape(failure.object)} {escape(failure.id)}[/]: {escape(failure.error)}"
        )
    for change in report.changes[:10]:
        console.print(f"  {escape(change.object)} {escape(change.id)}: {change.values}")
    if report.error:
        console.print(f"[red]{escape(report.error)}[/]")


def writeback(
    connection: Annotated[
        str | None, typer.Argument(help="Connection name; every CRM connection if omitted.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compute and compare; write nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Write the changed KPI fields onto opportunities (deals) and accounts in the CRM."""
    from app.services.writeback.runs import run_writebacks

    as_of = settings().kpi_as_of_value
    reports = run_writebacks(
        open_database(),  # needs a connection: never creates a database
        secret_box(),
        connection,
        dry_run=dry_run,
        as_of_setting=as_of,
    )
    if as_json:
        emit_json({"runs": reports})
    else:
        if not reports:
            console.print("no Salesforce or HubSpot connection to write to")
        for report in reports:
            _print_run(report)
    if any(report.status == "failed" for report in reports):
        raise typer.Exit(1)


def _print_fields(report: FieldsReport) -> None:
    table = Table(
        "object", "field", "type", "status", "problem",
        title=f"{report.connection} ({report.crm}): write-back fields, {report.mode}",
    )  # fmt: skip
    for object_type, fields in report.fields.items():
        for entry in fields:
            table.add_row(
                object_type,
                entry.name,
                entry.kind,
                entry.status,
                entry.problem or "",
            )
    console.print(table)
    if report.created:
        console.print(f"created: {', '.join(report.created)}")
    if report.manual_steps:
        console.print("[bold]To create by hand:[/]")
        for step in report.manual_steps:
            console.print(f"  - {escape(step)}", soft_wrap=True)
    for problem in report.problems:
        console.print(f"[red]{escape(problem)}[/]", soft_wrap=True)
    console.print(f"{report.api_calls} API calls")


@crm.command("setup-fields")
def setup_fields(
    connection: Annotated[str, typer.Argument(help="Connection name.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be created; create nothing.")
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Verify every mapped field exists and is writable."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create the write-back fields that are missing (idempotent), or check them."""
    from app.services.writeback.crm_fields import SetupMode
    from app.services.writeback.crm_fields import setup_fields as run_setup

    if dry_run and check:
        fail("--dry-run and --check exclude each other", 2)
    mode: SetupMode = "check" if check else "dry_run" if dry_run else "create"
    report = run_setup(open_database(), secret_box(), connection, mode)
    if as_json:
        emit_json(report)
    else:
        _print_fields(report)
    if not report.ok:
        raise typer.Exit(1)
