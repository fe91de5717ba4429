"""How CLI commands speak: rich text for people, one JSON object for scripts, errors on stderr.

`--json` prints the same result model the API returns, serialised the same way
(`model_dump(mode="json")`), so a script sees one shape whichever door it uses.
"""

from __future__ import annotations

import json
import sys
from dataclasses import is_dataclass
from typing import Any, NoReturn

import typer
from pydantic import BaseModel, TypeAdapter
from rich.console import Console
from rich.markup import escape

__all__ = ["console", "emit_json", "error_line", "fail"]

console = Console(stderr=False, highlight=False)
_errors = Console(stderr=True, highlight=False)


def _jsonable(value: object) -> Any:
    """A result model or dataclass as JSON data; anything else (a bare datetime) as text."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return TypeAdapter(type(value)).dump_python(value, mode="json")
    return str(value)


def emit_json(payload: object) -> None:
    """One JSON object on stdout: a result model, or a mapping that holds result models."""
    is_result = isinstance(payload, BaseModel) or is_dataclass(payload)
    data = _jsonable(payload) if is_result else payload
    sys.stdout.write(json.dumps(data, default=_jsonable, sort_keys=True) + "\n")


def error_line(message: str) -> None:
    _errors.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr, then a non-zero exit; never a traceback."""
    error_line(message)
    raise typer.Exit(code)
