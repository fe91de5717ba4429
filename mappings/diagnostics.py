"""What validation reports: an error or warning that points at a place in a rule file.

>>> d = Diagnostic("error", "unknown-stream", "unknown stream 'Emails'",
...                Position("rules.yaml", 12, 19), expected="one of EmailMessage, Event, Task")
>>> str(d)
"rules.yaml:12:19: error: unknown stream 'Emails' (expected one of EmailMessage, Event, Task)"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Diagnostic", "Position", "Severity"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A place in a rule file; line and column count from 1, as editors do."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: Severity
    code: str
    message: str
    position: Position
    expected: str | None = None

    def __str__(self) -> str:
        tail = f" (expected {self.expected})" if self.expected else ""
        return f"{self.position}: {self.severity}: {self.message}{tail}"

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "expected": self.expected,
            "file": self.position.file,
            "line": self.position.line,
            "column": self.position.column,
        }
