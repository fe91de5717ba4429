"""How CLI commands speak: rich text for people, one JSON object for scripts, errors on stderr.

`--json` prints the same result model the API returns, serialised the same way
(`model_dump(mode="json")`), so a script sees one shape whichever door it uses. Under `--json`
stdout carries results only; an error is one JSON object on stderr,
`{"error": "<what went wrong and what to do>", "exit_code": 1}`, and the exit status is
non-zero. Every error goes through `error_line`, so no command can forget the rule.
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

__all__ = ["console", "emit_json", "error_line", "errors_as_json", "fail", "wants_json"]

console = Console(stderr=False, highlight=False)
_errors = Console(stderr=True, highlight=False)
_as_json = {"errors": False}


def wants_json(argv: list[str]) -> bool:
    """Whether a command line asks for `--json` (options only: not after a `--`)."""
    options = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in options


def errors_as_json(enabled: bool) -> None:
    """Switch errors to JSON objects on stderr (the `--json` contract) or back to text."""
    _as_json["errors"] = enabled


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


def error_line(message: str, code: int = 1) -> None:
    """One error on stderr: a line for people, or under `--json` one JSON object."""
    if _as_json["errors"]:
        sys.stderr.write(json.dumps({"error": message, "exit_code": code}) + "\n")
        sys.stderr.flush()
        return
    _errors.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear error on stderr, then a non-zero exit; never a traceback."""
    error_line(message, code)
    raise typer.Exit(code)
