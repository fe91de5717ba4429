"""`milestones targets set | list | remove | plan`: what must be won per process and period
(optionally per team or rep), and the movement it requires at every milestone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from app.cli.context import kpi_view, open_database
from app.cli.output import console, emit_json, fail

if TYPE_CHECKING:
    from app.services.targets.public import TargetPlan, TargetPublic

app = typer.Typer(
    help="Targets: what must be won per process and period, and the movement they require.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
RepOption = Annotated[
    str | None, typer.Option("--rep", "--owner", help="A rep's target: the rep's CRM owner id.")
]


def _value(target: TargetPublic) -> str:
    return f"{target.value:,.0f}" if target.metric == "amount" else f"{target.value:g} deals"


def _print_targets(targets: list[TargetPublic]) -> None:
    table = Table()
    for column in ("id", "process", "period", "target", "team", "rep"):
        table.add_column(column)
    for t in targets:
        table.add_row(str(t.id), t.process, t.period, _value(t), t.team or "", t.owner or "")
    console.print(table)


@app.command("set")
def set_command(
    process: Annotated[str, typer.Option(help="Process key, e.g. smb_new_business.")],
    period: Annotated[str, typer.Option(help="A month (2026-03) or a quarter (2026-Q1).")],
    amount: Annotated[float | None, typer.Option(help="Won amount to reach.")] = None,
    deals: Annotated[int | None, typer.Option(help="Deals to win (instead of --amount).")] = None,
    team: Annotated[str | None, typer.Option(help="A team's target: the team's name.")] = None,
    rep: RepOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set a target (the same process, period, team and rep again: its value is replaced)."""
    from app.services.targets.public import TargetSet
    from app.services.targets.records import set_target

    try:
        body = TargetSet(
            process=process, period=period, amount=amount, deals=deals, team=team, owner=rep
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        fail(f"{where + ': ' if where else ''}{first['msg'].removeprefix('Value error, ')}")
    with open_database(writes=True).session() as session:
        target, created = set_target(session, body, created_by="cli")
    if as_json:
        emit_json(target)
        return
    verb = "set" if created else "changed"
    console.print(f"target {target.id} {verb}: {target.process} {target.period} {_value(target)}")


@app.command("list")
def list_command(
    process: Annotated[str | None, typer.Option(help="Process key.")] = None,
    period: Annotated[str | None, typer.Option(help="2026-03 or 2026-Q1.")] = None,
    team: Annotated[str | None, typer.Option(help="Team name.")] = None,
    rep: RepOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every target, newest period first."""
    from app.services.targets.periods import Period
    from app.services.targets.public import TargetsPublic
    from app.services.targets.records import list_targets

    with open_database().session() as session:
        found = list_targets(
            session,
            process=process,
            period=Period.parse(period) if period else None,
            team=team,
            owner=rep,
        )
    if as_json:
        emit_json(TargetsPublic(data=found, count=len(found)))
    else:
        _print_targets(found)


@app.command("remove")
def remove_command(
    target_id: Annotated[int, typer.Argument(help="The target's id.")], as_json: JsonOption = False
) -> None:
    """Remove a target."""
    from app.services.targets.records import remove_target

    with open_database().session() as session:
        removed = remove_target(session, target_id)
    if as_json:
        emit_json(removed)
    else:
        console.print(f"target {removed.id} removed: {removed.process} {removed.period}")


def _counts(found: list[int] | None, week: int) -> str:
    return "—" if found is None else f"{found[week] if found else 0} ({sum(found)})"


def _print_plan(plan: TargetPlan) -> None:
    console.print(
        f"[bold]{escape(plan.target.process)} {plan.target.period}[/]: {escape(plan.summary)}"
    )
    console.print(f"[dim]as of {plan.as_of.isoformat()[:19]} (the data clock)[/]")
    if plan.weeks:
        first = plan.weeks[0].week.isoformat()
        table = Table(title=f"deals that must reach each milestone: week of {first} (whole plan)")
        for column in ("milestone", "won if reached now", "for 50 %", "for 80 %", "busiest week"):
            table.add_column(column, justify="left" if column == "milestone" else "right")
        for row in plan.milestones:
            table.add_row(
                row.name,
                f"{row.chances[0]:.0%}" if row.chances else "",
                _counts(row.p50.per_week if row.p50 else None, 0)
                + (" !" if row.p50 and row.p50.beyond_history else ""),
                _counts(row.p80.per_week if row.p80 else None, 0)
                + (" !" if row.p80 and row.p80.beyond_history else ""),
                str(row.busiest_week),
            )
        console.print(table)
        console.print("[dim]! beyond history: more than twice the busiest week of the last 52[/]")
    if plan.track is not None:
        for milestone in plan.track.milestones:
            colour = {"behind": "red", "ahead": "green", "on_track": "green"}.get(
                milestone.status, "yellow"
            )
            console.print(f"  [{colour}]{escape(milestone.message)}[/]")
    for child in plan.breakdown:
        who = f"team {child.team}" if child.team else f"rep {child.owner}"
        console.print(f"  {escape(who)}: {escape(child.summary)}")


@app.command("plan")
def plan_command(
    target_id: Annotated[int, typer.Argument(help="The target's id.")],
    as_json: JsonOption = False,
) -> None:
    """The movement the target requires at every milestone, week by week, for 50 % and 80 %,
    and whether the team is on track."""
    from app.services.targets.plan import target_plan
    from app.services.targets.records import breakdown_of, get_target

    database = open_database()
    with database.session() as session:
        target = get_target(session, target_id)
        children = breakdown_of(session, target)
    snapshot = kpi_view(database=database)
    plan = target_plan(snapshot, target, children)
    if as_json:
        emit_json(plan)
    else:
        _print_plan(plan)
