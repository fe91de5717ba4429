"""How CLI commands speak: rich text for people, one JSON object for scripts, errors on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["console", "emit_json", "error_line", "fail"]

console = Console(stderr=False, highlight=False)
_errors = Console(stderr=True, highlight=False)


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, default=str, sort_keys=True) + "\n")


def error_line(message: str) -> None:
    _errors.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr, then a non-zero exit; never a traceback."""
    error_line(message)
    raise typer.Exit(code)
