"""`milestones mappings ...`: validate, preview and activate rule files; run the active one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from app.cli.context import open_database, secret_box
from app.cli.output import console, emit_json, error_line, fail
from app.core.database import Database
from app.core.errors import DatabaseError

if TYPE_CHECKING:
    from app.services.mapping.activation import ActivationResult, FieldsToAdd
    from app.services.mapping.preview_report import PreviewReport
    from app.services.mapping.rulesets import RulesetRejected
    from mappings.diagnostics import Diagnostic

app = typer.Typer(
    help="Mapping rules: validate, preview and activate rule files.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
FileArgument = Annotated[Path, typer.Argument(help="The rule file (YAML).", show_default=False)]
ConnectionOption = Annotated[
    str | None, typer.Option("--connection", "-c", help="Only this connection (by name).")
]
TargetsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--connection",
        "-c",
        help="Make it active on this connection (repeatable); by default on every connection "
        "whose CRM the processes read. Other connections keep their own active version.",
    ),
]


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{file}: no such file")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{file}: cannot read it ({exc.__class__.__name__}: {exc})")


def _diagnostic_line(diagnostic: Diagnostic) -> str:
    colour = "red" if diagnostic.severity == "error" else "yellow"
    return f"[{colour}]{escape(str(diagnostic))}[/]"


def _rejected(exc: RulesetRejected, as_json: bool) -> None:
    from app.services.mapping.public import ValidationPublic
    from mappings.validate import ValidationReport

    if as_json:
        emit_json(ValidationPublic.of(ValidationReport(None, exc.diagnostics)))
    else:
        for diagnostic in exc.diagnostics:
            console.print(_diagnostic_line(diagnostic), soft_wrap=True)
    error_line(f"{len(exc.diagnostics)} problem(s); nothing was stored or activated")
    raise typer.Exit(1)


def _database_if_ready() -> tuple[Database | None, str]:
    """The database when it is there (never created here) and migrated; otherwise None and why."""
    try:
        return open_database(), ""
    except DatabaseError as exc:
        return None, exc.detail


@app.command("validate")
def validate_command(
    file: FileArgument,
    connection: ConnectionOption = None,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Check against the built-in catalog only, no database."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check a rule file: every error with file, line, column and what was expected.

    With a database, fields are checked against each connection's stored data and milestones
    that no stored record has ever matched are reported.
    """
    from app.services.mapping.preview import validate_file
    from app.services.mapping.public import FileValidation, ValidationPublic

    text = _read(file)
    database, why = (None, "--offline") if offline else _database_if_ready()
    report = validate_file(database, text, str(file), connection)
    against = "stored data" if database is not None else f"built-in catalog ({why})"
    if as_json:
        checked = ValidationPublic.of(report)
        emit_json(FileValidation(**dict(checked), file=str(file), checked_against=against))
    else:
        for diagnostic in report.diagnostics:
            console.print(_diagnostic_line(diagnostic), soft_wrap=True)
        if report.ruleset is not None:
            ruleset = report.ruleset
            console.print(
                f"{escape(str(file))}: valid — {len(ruleset.processes)} processes, "
                f"{ruleset.milestone_count()} milestones, {ruleset.rule_count()} rules "
                f"(checked against the {escape(against)})"
            )
        else:
            console.print(f"{escape(str(file))}: {len(report.errors)} error(s)")
    if not report.ok:
        raise typer.Exit(1)


@app.command("preview")
def preview_command(
    file: FileArgument,
    connection: ConnectionOption = None,
    limit: Annotated[int, typer.Option(min=0, max=100, help="Examples per milestone.")] = 3,
    as_json: JsonOption = False,
) -> None:
    """What each milestone would match in the stored records, and the change from the active
    version (events added, removed, moved). Nothing is written."""
    from app.services.mapping.preview import PreviewOptions, preview_file
    from app.services.mapping.rulesets import RulesetRejected

    text = _read(file)
    database = open_database()
    try:
        result = preview_file(database, text, str(file), PreviewOptions(connection, limit))
    except RulesetRejected as exc:
        _rejected(exc, as_json)
        return
    if as_json:
        emit_json(result)
        return
    _print_preview(result)


def _print_preview(result: PreviewReport) -> None:
    for warning in result.warnings:
        console.print(
            f"[yellow]{escape(warning.file)}:{warning.line}:{warning.column}: warning: "
            f"{escape(warning.message)}[/]",
            soft_wrap=True,
        )
    compared = ", ".join(f"{c} {v}" for c, v in result.active_versions.items())
    table = Table(
        title=f"{result.ruleset} — {result.records_scanned:,} stored records",
        caption=f"difference from the active versions ({escape(compared)})"
        if compared
        else "no active version",
    )
    for column in ("process", "milestone", "kind", "records", "events", "opportunities"):
        table.add_column(column, justify="right" if column in ("records", "events") else "left")
    table.add_column("added / removed / moved", justify="right")
    for process in result.processes:
        for milestone in process.milestones:
            diff = milestone.difference
            table.add_row(
                process.key,
                milestone.key,
                milestone.kind,
                f"{milestone.records_matched:,}",
                f"{milestone.events:,}",
                f"{milestone.opportunities:,}",
                f"{diff.added:,} / {diff.removed:,} / {diff.moved:,}",
            )
    console.print(table)
    for process in result.processes:
        for milestone in process.milestones:
            for example in milestone.examples:
                evidence = example.evidence
                console.print(
                    f"  {process.key}/{milestone.key}: {example.occurred_at.isoformat()} "
                    f"{escape(str(example.opportunity.name))} ← {evidence.stream} "
                    f"{evidence.external_id} {escape(evidence.url)}",
                    soft_wrap=True,
                )


def _added_lines(added: list[FieldsToAdd]) -> list[str]:
    lines = []
    for item in added:
        names = ", ".join(f"{s}.{n}" for s, names in item.fields.items() for n in names)
        flags = " ".join(f"--stream {stream}" for stream in item.reread)
        lines.append(
            f"{item.connection}: now pulls {names}; a sync must follow to bring them in — run "
            f"`milestones sync {item.connection} {flags}` (it reads those streams whole), then "
            "`milestones mappings run`; the worker does both on its next pass"
        )
    return lines


@app.command("activate")
def activate_command(
    file: Annotated[Path | None, typer.Argument(help="The rule file (YAML).")] = None,
    version: Annotated[
        int | None, typer.Option("--version", help="Re-activate an earlier version instead.")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Why, kept with the version.")] = None,
    add_fields_too: Annotated[
        bool,
        typer.Option(
            "--add-fields",
            help="Add the fields the file declares (`fields:`) to each connection that does "
            "not pull them yet; their streams are read whole at the next sync.",
        ),
    ] = False,
    connections: TargetsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store the file as a new version, re-derive its connections' events from stored records
    (no CRM call) and make it their active version in one step. Each connection has its own
    active version. A file with errors is never activated, nor one whose declared fields a
    connection does not pull (see --add-fields)."""
    from app.services.mapping.activation import activate_file, activate_version, find_version
    from app.services.mapping.rulesets import RulesetRejected

    if (file is None) == (version is None):
        fail("give either a rule FILE or --version N")
    database = open_database(writes=True)
    added: list[FieldsToAdd] = []
    try:
        if file is not None:
            result, added = activate_file(
                database,
                secret_box,
                _read(file),
                str(file),
                add_missing_fields=add_fields_too,
                how_to_add="Run again with --add-fields",
                note=note,
                connections=connections or None,
            )
        else:
            assert version is not None
            result = activate_version(
                database, find_version(database, version), connections or None
            )
    except RulesetRejected as exc:
        _rejected(exc, as_json)
        return
    _print_activation(result, added, as_json)


def _print_activation(result: ActivationResult, added: list[FieldsToAdd], as_json: bool) -> None:
    summary = result.summary()
    if as_json:
        emit_json({**summary.model_dump(mode="json"), "fields_added": added})
        return
    for warning in result.warnings:
        console.print(_diagnostic_line(warning), soft_wrap=True)
    where = ", ".join(
        escape(c.connection)
        + (f" (was version {c.previous_version})" if c.previous_version else " (was none)")
        for c in summary.connections
    )
    console.print(
        f'version {summary.version} "{escape(summary.name)}" is active on {where}: '
        f"{summary.events:,} events from "
        f"{sum(r.records_read for r in summary.runs):,} records in {summary.seconds} s",
        soft_wrap=True,
    )
    for line in _added_lines(added):
        console.print(escape(line), soft_wrap=True)


@app.command("rollback")
def rollback_command(
    connection: Annotated[str, typer.Argument(help="The connection (by name).")],
    as_json: JsonOption = False,
) -> None:
    """Make the version the connection had before its active one active on it again (its
    events re-derived from stored records); other connections are untouched."""
    from app.services.mapping.activation import rollback

    _print_activation(rollback(open_database(writes=True), connection), [], as_json)


@app.command("run")
def run_command(
    connection_id: Annotated[
        int | None, typer.Option("--connection-id", help="Only this connection (by id).")
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="Derive everything again.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Map the records stored since the last run with the active version (or all, --full)."""
    from app.services.mapping.runs import derive_active

    database = open_database(writes=True)
    reports = [report.summary() for report in derive_active(database, connection_id, full)]
    if as_json:
        emit_json({"runs": reports})
        return
    if not reports:
        console.print(
            "no ruleset version is active on any connection: run "
            "`milestones mappings activate FILE`"
        )
    for report in reports:
        console.print(
            f"connection {report.connection_id}: {report.records_read:,} records, "
            f"+{report.events_added} -{report.events_removed} ~{report.events_moved} "
            f"events in {report.seconds} s{' (full)' if report.full else ''}"
        )


@app.command("versions")
def versions_command(
    connection: Annotated[
        str | None,
        typer.Option("--connection", "-c", help="Only the versions ever active on it."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Every stored ruleset version and the connections it is active on."""
    from app.services.mapping.activation import list_versions

    versions = list_versions(open_database(), connection)
    if as_json:
        emit_json({"versions": versions})
        return
    table = Table()
    for column in ("version", "name", "active on", "created", "activated", "note"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            str(v.version),
            escape(v.name),
            escape(", ".join(v.active_on)),
            v.created_at.isoformat()[:19],
            v.activated_at.isoformat()[:19] if v.activated_at else "",
            escape(v.note or ""),
        )
    console.print(table)
