"""The `milestones` command: one root with a sub-command group per concern."""

from __future__ import annotations

import typer

from app.cli import sandbox

app = typer.Typer(
    name="milestones",
    help="Milestone Sync: customer-action milestones, KPIs and forecasts from your CRM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(sandbox.app, name="sandbox")


def main() -> None:
    app()
