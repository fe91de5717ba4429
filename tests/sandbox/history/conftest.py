"""One small export per session (seed 7, 300 opportunities, 30 future days), read as rows."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.history import build_params, generate
from sandbox.history.params import GeneratorParams

SMALL = {"seed": 7, "opportunities": 300, "future_days": 30}


@dataclass
class Export:
    out: Path
    params: GeneratorParams
    summary: dict[str, Any]

    def rows(self, relative: str) -> list[dict[str, str]]:
        with (self.out / relative).open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    def header(self, relative: str) -> list[str]:
        with (self.out / relative).open(encoding="utf-8", newline="") as handle:
            return next(csv.reader(handle))


def make_export(out: Path, **overrides: Any) -> Export:
    params = build_params(**{**SMALL, **overrides})
    summary = generate(params, out)
    return Export(out, params, summary)


@pytest.fixture(scope="session")
def export(tmp_path_factory: pytest.TempPathFactory) -> Export:
    return make_export(tmp_path_factory.mktemp("export") / "out")


@pytest.fixture
def fresh_dir(tmp_path: Path) -> Callable[[str], Path]:
    return lambda name: tmp_path / name
