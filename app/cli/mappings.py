"""`milestones mappings ...`: validate, preview and activate rule files."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Mapping rules: validate, preview and activate rule files.", no_args_is_help=True
)
