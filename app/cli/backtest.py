"""`milestones backtest`: forecast error over history, milestone forecast vs. the baseline."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from app.cli.context import open_database
from app.cli.output import console, emit_json


def backtest(
    months: Annotated[int, typer.Option(min=1, max=36, help="How many month origins.")] = 12,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Replay history as of each past month start and report the WAPE, 1 and 3 months ahead,
    of the milestone forecast, the CRM's weighted pipeline and a naive run-rate."""
    from app.services.kpis.backtest import BacktestReport, run_backtest

    result = run_backtest(open_database(), months)
    if as_json:
        emit_json(result)
        return
    table = Table(title=f"backtest over {len(result.origins)} origins")
    for column in ("horizon", "milestone forecast", "weighted pipeline", "run-rate", "band cover"):
        table.add_column(column, justify="right")
    for row in result.horizons:
        table.add_row(
            f"{row.horizon_months} month(s)",
            str(row.wape_milestone_forecast),
            str(row.wape_weighted_pipeline),
            str(row.wape_naive_run_rate),
            str(row.band_coverage_p10_p90),
        )
    console.print(table)
    baseline = result.baseline_values if isinstance(result, BacktestReport) else ""
    console.print(f"baseline values: {baseline}")
