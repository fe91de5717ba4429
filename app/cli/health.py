"""`milestones health`: which milestones' conversion or velocity has drifted, by how much and
since when (the same answer as `GET /api/v1/health/drift`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from app.cli.context import kpi_view
from app.cli.output import console, emit_json
from app.services.health.public import Estimate


def _shown(value: Estimate | None, metric: str) -> str:
    if value is None:
        return "-"
    if metric == "conversion":
        return f"{value.value:.0%} ({value.low:.0%}-{value.high:.0%}) n={value.deals}"
    return f"{value.value:.1f} d ({value.low:.1f}-{value.high:.1f}) n={value.deals}"


def health(
    process: Annotated[str | None, typer.Option(help="Process key.")] = None,
    segment: Annotated[str | None, typer.Option(help="Segment.")] = None,
    team: Annotated[str | None, typer.Option(help="Team name.")] = None,
    connection: Annotated[str | None, typer.Option(help="Connection name.")] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="A past instant or date: the health as it stood then."),
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Every step tested, not only the flagged ones.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Drift of conversion to the next milestone and of the days to reach it, per process and
    milestone: recent weekly cohorts against the half-year before, false alarms held at 5 %
    over every test."""
    from app.services.health.drift import drift
    from app.services.kpis.filters import Filters

    filters = Filters(process=process, segment=segment, team=team, connection=connection)
    snapshot = kpi_view(as_of)
    answer = drift(snapshot, filters)
    if as_json:
        emit_json(answer)
        return
    console.print(
        f"process health as of {answer.as_of.isoformat()[:19]}: {answer.flagged} change(s) "
        f"flagged among {answer.tested} tests"
    )
    for step in answer.steps:
        if step.flagged and step.summary:
            console.print(f"  [bold]{escape(step.process)}[/]: {escape(step.summary)}")
    table = Table(caption="baseline and recent: 95 % intervals; days are medians")
    for column in ("process", "step", "metric", "baseline", "recent", "p", "flagged"):
        table.add_column(column)
    for step in answer.steps:
        if not (show_all or step.flagged):
            continue
        table.add_row(
            escape(step.process),
            escape(f"{step.from_milestone} → {step.to_milestone}"),
            step.metric,
            _shown(step.baseline, step.metric),
            _shown(step.recent, step.metric),
            "-" if step.p_value is None else f"{step.p_value:.3g}",
            "yes" if step.flagged else (step.note or "no"),
        )
    if table.rows:
        console.print(table)
