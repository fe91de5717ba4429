"""`milestones forecast`: the months ahead, their P10-P90 band, and where each month's amount
comes from — the deals at each milestone, and pipeline not yet created. The band is
calibrated by the backtest of the latest origins before the forecast's instant (replayed here:
seconds on a small history, minutes at 100,000 deals; the API keeps it instead)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from app.cli.context import kpi_view, open_database
from app.cli.output import console, emit_json

if TYPE_CHECKING:
    from app.services.kpis.answers import ForecastAnswer


def forecast(
    months: Annotated[int, typer.Option(min=1, max=12, help="Months ahead, this one first.")] = 3,
    process: Annotated[str | None, typer.Option(help="Process key.")] = None,
    segment: Annotated[str | None, typer.Option(help="Segment.")] = None,
    team: Annotated[str | None, typer.Option(help="Team name.")] = None,
    owner: Annotated[str | None, typer.Option(help="Rep: CRM owner id, name or e-mail.")] = None,
    connection: Annotated[str | None, typer.Option(help="Connection name.")] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="A past instant or date: what an export taken then would forecast."
        ),
    ] = None,
    new_pipeline: Annotated[
        bool,
        typer.Option("--new-pipeline/--no-new-pipeline", help="Add wins of deals not yet created."),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Expected won amount per month from what customers did (never close dates or stage
    probabilities), with its P10-P90 band, split by the milestone each open deal stands at and
    the pipeline not yet created; the CRM's weighted pipeline beside it."""
    from app.services.kpis.backtest import band_calibration
    from app.services.kpis.filters import Filters
    from app.services.kpis.queries import forecast_kpi

    database = open_database()
    try:
        snapshot = kpi_view(as_of, database)
        if owner is not None:
            owner = _owner_id(owner)
        filters = Filters(
            process=process, segment=segment, owner=owner, team=team, connection=connection
        )
        calibration = band_calibration(database, snapshot, filters)
    finally:
        database.dispose()
    answer = forecast_kpi(snapshot, filters, months, new_pipeline, calibration)
    if as_json:
        emit_json(answer)
        return
    table = Table(
        title=f"forecast as of {answer.as_of.isoformat()[:19]}: {answer.open_opportunities:,} "
        "open opportunities",
        caption="won amount expected per month; the CRM's weighted pipeline beside it",
    )
    for column in ("month", "expected", "P10", "P90", "deals", "not yet created", "weighted"):
        table.add_column(column, justify="right")
    for month in answer.months:
        table.add_row(
            month.month,
            f"{month.expected_amount:,.0f}",
            f"{month.p10_amount:,.0f}",
            f"{month.p90_amount:,.0f}",
            f"{month.expected_count:.1f}",
            f"{month.new_pipeline_amount:,.0f}",
            f"{month.baseline_weighted_pipeline:,.0f}",
        )
    console.print(table)
    console.print(_calibration_line(answer))
    if answer.too_little_history:
        console.print(
            f"[bold]Too little history to forecast well[/bold]: {escape(answer.too_little_history)}"
        )
    for used in answer.half_lives:
        days = (
            "none (every deal alike)"
            if used.half_life_days is None
            else (f"{used.half_life_days:g} days")
        )
        why = {"set": "set by ops", "auto": "chosen by backtest", "default": "the default"}
        console.print(f"recency half-life of {escape(used.process)}: {days} ({why[used.why]})")
    parts = Table(title="from the open deals at each milestone")
    parts.add_column("process")
    parts.add_column("milestone")
    parts.add_column("deals", justify="right")
    for month in answer.months:
        parts.add_column(month.month, justify="right")
    for row in answer.by_milestone:
        parts.add_row(
            escape(row.process),
            escape(row.name),
            str(row.deals),
            *(f"{amount:,.0f}" for amount in row.amounts),
        )
    console.print(parts)


def _calibration_line(answer: ForecastAnswer) -> str:
    """How sure the band is: the correction of each month's band and the past origins it
    rests on."""
    calibration = answer.band_calibration
    if calibration is None or not calibration.corrections:
        note = calibration.note if calibration is not None else "not calibrated"
        return f"band: {escape(note)}"
    found = {
        c.horizon_months: c
        for c in calibration.corrections
        if c.part == "total" and not c.cumulative
    }
    parts = []
    for h, month in enumerate(answer.months, start=1):
        c = found.get(h)
        origins = c.origins if c is not None else 0
        held = (
            f", the model's own band held {c.past_coverage:.0%}"
            if c is not None and c.past_coverage is not None
            else ""
        )
        parts.append(f"{month.month} x{month.band_scale:.2f} ({origins} past origins{held})")
    return "band calibrated by the backtest (width x the model's own): " + "; ".join(parts)


def _owner_id(who: str) -> str:
    """The rep `who` names, as people name them (`app.services.state.owners`)."""
    from app.services.state.owners import owner_id_of

    database = open_database()
    try:
        with database.sessions() as session:
            return owner_id_of(session, who)
    finally:
        database.dispose()
