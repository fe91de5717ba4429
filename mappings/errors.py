"""The mapping package's exception hierarchy.

MappingsError
 └── RulesetError            a rule file is not a valid ruleset; carries every diagnostic,
                             each with file, line and column
"""

from __future__ import annotations

from mappings.diagnostics import Diagnostic

__all__ = ["MappingsError", "RulesetError"]


class MappingsError(Exception):
    """Base of every error this package raises on purpose."""


class RulesetError(MappingsError):
    """The ruleset has errors; `diagnostics` lists them all (warnings included)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == "error"]
        first = str(errors[0]) if errors else "invalid ruleset"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]
