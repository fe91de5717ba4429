"""A KPI view without data, for tests of what reads it through the keeper: its snapshot
(generation and instant) and the hook that tells the keeper a new one is published."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

__all__ = ["START", "FakeView"]

START = datetime(2025, 7, 1, tzinfo=UTC)


@dataclass
class FakeView:
    """Generation n stands at `START` + n minutes; `publish` moves it on, as a pipeline pass."""

    generation: int = 1
    warmers: list[Callable[[Any], None]] = field(default_factory=list)

    def snapshot(self) -> Any:
        return SimpleNamespace(
            generation=self.generation, as_of=START + timedelta(minutes=self.generation)
        )

    def on_snapshot(self, warm: Callable[[Any], None]) -> None:
        self.warmers.append(warm)

    def publish(self) -> None:
        self.generation += 1
        for warm in self.warmers:
            warm(self.snapshot())
