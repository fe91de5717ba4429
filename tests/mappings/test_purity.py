"""`mappings/` is pure: records and a ruleset in, events out; no app, no connectors."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mappings"


def test_mappings_imports_nothing_from_app_or_connectors() -> None:
    offending = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offending += [
                f"{path.name}: {name}"
                for name in names
                if name.split(".")[0] in ("app", "connectors")
            ]
    assert offending == []
