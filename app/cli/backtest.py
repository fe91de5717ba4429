"""`milestones backtest`: how the forecast would have done, beside three baselines."""

from __future__ import annotations

import csv
import sys
from datetime import date
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.table import Table

from app.cli.context import open_database
from app.cli.output import console, emit_json, fail

if TYPE_CHECKING:
    from app.kpis.backtest import MethodScore

_PARTS = {"open": "deals open at the origin", "new": "deals created later", "total": "total"}


def _day(name: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{name} {text!r} is not a date (YYYY-MM-DD)", code=2)


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _wape(score: MethodScore | None) -> str:
    return "-" if score is None else _f(score.wape)


def _half_life(text: str | None) -> float | Literal["auto", "process"] | None:
    """The option as `run_backtest` takes it: "process" (each process's own) when not given,
    None for `none`."""
    from app.kpis.halflife import parse_half_life

    if text is None:
        return "process"
    try:
        setting = parse_half_life(text)
    except ValueError as error:
        fail(f"--half-life: {error}", code=2)
    return None if setting == "none" else setting


_WHY = {
    "set": "set by ops",
    "auto": "chosen by backtest at each origin",
    "default": "the default",
    "option": "--half-life",
}


def backtest(
    start: Annotated[
        str | None, typer.Option("--from", help="First origin (YYYY-MM-DD), midnight UTC.")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last origin (YYYY-MM-DD).")] = None,
    every: Annotated[
        str, typer.Option(help="month (origins at month starts) or week (every 7 days).")
    ] = "month",
    months: Annotated[
        int, typer.Option(min=1, max=520, help="Without --from: how many of the latest origins.")
    ] = 12,
    horizons: Annotated[int, typer.Option(min=1, max=12, help="Months ahead: 1..N.")] = 12,
    process: Annotated[str | None, typer.Option(help="Process key.")] = None,
    segment: Annotated[str | None, typer.Option(help="Segment.")] = None,
    team: Annotated[str | None, typer.Option(help="Team name.")] = None,
    connection: Annotated[str | None, typer.Option(help="Connection name.")] = None,
    part: Annotated[
        str, typer.Option(help="The table's part of what was won: total, open, new or all.")
    ] = "total",
    half_life: Annotated[
        str | None,
        typer.Option(
            help="Recency weighting of the model for every process: days, none (every deal "
            "alike) or auto (chosen at each origin by a backtest of what was known before "
            "it). By default each process's own: its ruleset's half_life_days, else 365."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print one CSV row per cell.")] = False,
) -> None:
    """Replay history as of past origins, using only what was known strictly before each, and
    score the milestone forecast 1..12 months ahead (each month alone and cumulative) beside
    the milestone-free model, the CRM's weighted pipeline and a naive run-rate."""
    from app.services.kpis.backtest import BacktestReport, csv_rows, run_backtest
    from app.services.kpis.filters import Filters

    if every not in ("month", "week"):
        fail(f"--every {every!r}: choose month or week", code=2)
    if part not in ("total", "open", "new", "all"):
        fail(f"--part {part!r}: choose total, open, new or all", code=2)
    filters = Filters(process=process, segment=segment, team=team, connection=connection)
    result = run_backtest(
        open_database(),
        months,
        start=_day("--from", start),
        end=_day("--to", end),
        every="week" if every == "week" else "month",
        horizons=horizons,
        filters=filters,
        half_life_days=_half_life(half_life),
    )
    if as_json:
        emit_json(result)
        return
    if as_csv:
        header, rows = csv_rows(result)
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return
    if not isinstance(result, BacktestReport):
        console.print(result.note)
        return
    for shown in ("open", "new", "total") if part == "all" else (part,):
        table = Table(
            title=f"backtest, {_PARTS[shown]}: {len(result.origins)} origins (every "
            f"{result.every}), WAPE: lower is better",
            caption="WAPE of each method; bias, coverage and pinball of the milestone forecast",
        )
        for column in (
            "horizon",
            "origins",
            "won",
            "milestones",
            "milestone-free",
            "weighted pipeline",
            "run-rate",
            "bias",
            "P10-P90 cover",
            "pinball",
        ):
            table.add_column(column, justify="right")
        for cell in result.cells:
            if cell.part != shown:
                continue
            h = cell.horizon_months
            label = f"months 1-{h}" if cell.cumulative else f"month {h}"
            ours = cell.milestones
            table.add_row(
                label,
                str(cell.origins),
                f"{cell.actual_won:,.0f}",
                _f(ours.wape),
                _wape(cell.milestone_free),
                _wape(cell.weighted_pipeline),
                _wape(cell.naive_run_rate),
                _f(ours.bias),
                _f(ours.coverage_p10_p90),
                _f(ours.pinball),
            )
        console.print(table)
    for used in result.half_lives:
        days = "none" if used.half_life_days is None else f"{used.half_life_days:g} days"
        console.print(f"recency half-life of {used.process}: {days} ({_WHY[used.why]})")
    console.print(f"baseline values: {result.baseline_values}")
    console.print(result.reading)
    if result.skipped:
        last = result.skipped[-1]
        console.print(
            f"{len(result.skipped)} origin(s) not scored, the last {last.origin}: {last.reason}"
        )
