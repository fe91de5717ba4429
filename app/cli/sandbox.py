"""`milestones sandbox ...`: the local sales history and sandbox CRM."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Generate a sales history and run the local sandbox CRM.", no_args_is_help=True
)
