"""`milestones health`: which milestones' conversion or velocity, or which process's new deals a
week, have drifted, by how much and since when (the same answer as `GET /api/v1/health/drift`);
with `--part value`, what each milestone tells about winning (`GET /api/v1/health/value`)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.cli.context import kpi_view
from app.cli.output import console, emit_json, fail

if TYPE_CHECKING:
    from app.services.health.public import (
        CandidatesAnswer,
        DriftAnswer,
        Estimate,
        ValueAnswer,
        VersionsCompared,
    )
    from app.services.kpis.filters import Filters

T = TypeVar("T")
progress_console = Console(stderr=True, highlight=False)
PROGRESS_EVERY = 100_000
"""Without a terminal, a progress line per this many stored records read."""


class Part(StrEnum):
    """What `milestones health` prints."""

    drift = "drift"
    value = "value"
    candidates = "candidates"
    compare = "compare"


def _shown(value: Estimate | None, metric: str) -> str:
    if value is None:
        return "-"
    if metric == "conversion":
        return f"{value.value:.0%} ({value.low:.0%}-{value.high:.0%}) n={value.deals}"
    if metric == "created":
        return f"{value.value:.1f} a week ({value.low:.1f}-{value.high:.1f}) n={value.deals}"
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
        bool,
        typer.Option(
            "--all", help="Every row, not only the notable ones (and every candidate's rule)."
        ),
    ] = False,
    part: Annotated[
        Part,
        typer.Option(
            "--part",
            help="drift: changes of conversion and velocity; value: each milestone's lift in "
            "win probability over comparable deals, the days it adds, out-of-order reaches; "
            "candidates: unmapped customer actions that predict winning, with a rule to paste; "
            "compare: the backtest with the active rules and with --draft, side by side.",
        ),
    ] = Part.drift,
    draft: Annotated[
        Path | None,
        typer.Option("--draft", help="With --part compare: the draft rule file.", dir_okay=False),
    ] = None,
    months: Annotated[
        int, typer.Option("--months", min=1, max=36, help="With --part compare: origins scored.")
    ] = 12,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Process health. Drift (default): conversion to the next milestone and the days to reach
    it, and each process's new deals a week, recent weeks against the half-year before, false
    alarms held at 5 % over every test. `--part value`: which milestones earn their place;
    `--part candidates`: customer actions no rule maps that predict winning; `--part compare
    --draft FILE`: the backtest with the active rules and with the draft, side by side."""
    from app.services.health.drift import drift
    from app.services.health.value import milestone_value
    from app.services.kpis.filters import Filters

    filters = Filters(process=process, segment=segment, team=team, connection=connection)
    if part is Part.compare:
        _compare(draft, months, filters, as_of, as_json)
        return
    snapshot = kpi_view(as_of)
    if part is Part.candidates:
        from app.cli.context import open_database
        from app.services.health.candidates import candidates

        database = open_database()
        found = _with_progress(lambda tell: candidates(database, snapshot, filters, progress=tell))
        if as_json:
            emit_json(found)
        else:
            _print_candidates(found, show_all)
        return
    if part is Part.value:
        valued = milestone_value(snapshot, filters)
        if as_json:
            emit_json(valued)
        else:
            _print_value(valued, show_all)
        return
    answer = drift(snapshot, filters)
    if as_json:
        emit_json(answer)
        return
    _print_drift(answer, show_all)


def _print_drift(answer: DriftAnswer, show_all: bool) -> None:
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


def _print_value(answer: ValueAnswer, show_all: bool) -> None:
    console.print(
        f"milestone value as of {answer.as_of.isoformat()[:19]}: "
        f"{len(answer.no_information)} add(s) no information, "
        f"{len(answer.out_of_order)} often reached out of order"
    )
    for name in answer.no_information:
        console.print(f"  adds no information: [bold]{escape(name)}[/]")
    for name in answer.out_of_order:
        console.print(f"  often reached out of order: [bold]{escape(name)}[/]")
    table = Table(
        caption="chance of winning within a year (open deals censored), 95 % intervals; lift "
        "in points"
    )
    for column in ("process", "step", "reached", "comparable", "lift", "days", "late", "verdict"):
        table.add_column(column)
    for value in answer.milestones:
        if not (show_all or value.verdict != "adds information" or value.often_out_of_order):
            continue
        table.add_row(
            escape(value.process),
            escape(f"{value.previous} → {value.milestone}"),
            _shown(value.reached, "conversion"),
            _shown(value.comparable, "conversion"),
            "-" if value.lift is None else f"{value.lift * 100:+.0f}",
            _shown(value.days_added, "days"),
            "-" if value.out_of_order_share is None else f"{value.out_of_order_share:.0%}",
            value.verdict,
        )
    if table.rows:
        console.print(table)


def _with_progress(compute: Callable[[Callable[[int], None]], T]) -> T:
    """`compute(tell)` with its progress on stderr (stdout keeps the answer alone, `--json`
    too): a live line on a terminal, else a line every `PROGRESS_EVERY` records."""
    if not progress_console.is_terminal:
        shown = [0]

        def tell(done: int) -> None:
            if done - shown[0] >= PROGRESS_EVERY:
                shown[0] = done
                progress_console.print(f"candidates: {done:,} stored records read")

        return compute(tell)
    columns = (SpinnerColumn(), TextColumn("candidates: {task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=progress_console, transient=True) as bar:
        task = bar.add_task("reading the stored customer records", total=None)
        return compute(lambda done: bar.update(task, description=f"{done:,} stored records read"))


def _print_candidates(answer: CandidatesAnswer, show_all: bool) -> None:
    console.print(
        f"candidate milestones as of {answer.as_of.isoformat()[:19]}: "
        f"{len(answer.candidates)} proposed ({answer.tested} descriptions tested over "
        f"{answer.records_scanned} records)"
    )
    for rank, found in enumerate(answer.candidates, start=1):
        reached, comparable = found.reached, found.comparable
        console.print(
            f"{rank}. [bold]{escape(found.process)}[/] after {escape(found.after)}: "
            f"{escape(found.action)} — {found.deals} deals, "
            f"{_shown(reached, 'conversion')} won against {_shown(comparable, 'conversion')} "
            f"({found.lift * 100:+.0f} points)"
        )
        for seen in found.evidence:
            console.print(
                f"   {seen.occurred_at.isoformat()[:10]} {escape(seen.text)} "
                f"{escape(seen.evidence.url)}"
            )
        if show_all or rank == 1:
            console.print(escape(found.rule_yaml), highlight=False)


def _compare(
    draft: Path | None, months: int, filters: Filters, as_of: str | None, as_json: bool
) -> None:
    from app.cli.context import open_database, settings
    from app.services.health.versions import compare_versions
    from app.services.kpis.store import KpiStore
    from app.services.mapping.rulesets import RulesetRejected

    if draft is None:
        fail("--part compare needs --draft FILE (the rule file to compare)", code=2)
    if as_of is not None:
        fail("--part compare reads the view at the data clock: leave out --as-of", code=2)
    try:
        text = draft.read_text(encoding="utf-8")
    except OSError as error:
        fail(f"cannot read {draft}: {error.strerror}", code=2)
    database = open_database()
    store = KpiStore(database, as_of_setting=settings().kpi_as_of_value)
    try:
        compared = compare_versions(
            database, text, str(draft), store=store, filters=filters, months=months
        )
    except RulesetRejected as rejected:
        fail(rejected.detail)
    if as_json:
        emit_json(compared)
        return
    _print_compared(compared)


def _print_compared(compared: VersionsCompared) -> None:
    console.print(f"rules compared as of {compared.as_of.isoformat()[:19]}: {compared.verdict}")
    table = Table(caption="WAPE: lower is better; coverage of the P10-P90 band: 0.80 nominal")
    for column in ("horizon", "window", "part", "origins", "active", "draft", "better"):
        table.add_column(column)
    for cell in compared.cells:
        table.add_row(
            f"{cell.horizon_months}",
            "cumulative" if cell.cumulative else "month",
            cell.part,
            f"{cell.origins}",
            "-" if cell.active_wape is None else f"{cell.active_wape:.3f}",
            "-" if cell.draft_wape is None else f"{cell.draft_wape:.3f}",
            cell.better or "-",
        )
    if table.rows:
        console.print(table)
