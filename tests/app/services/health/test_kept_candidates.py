"""The candidates are computed by the KPI keeper, off the request: a reader is told they are
being computed (with the previous generation's answer once there is one) until the answer for
the view's current generation is ready, and never waits for it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from app.services.health import candidates as module
from app.services.health.candidates import candidates_now
from app.services.health.public import CandidatesAnswer, CandidatesPending
from app.services.kpis.filters import Filters
from app.services.kpis.keeper import Keeper
from tests.support.fake_view import START, FakeView
from tests.support.waiting import wait_for


@dataclass
class Held:
    """The candidates of a snapshot, held back until `gate` is set; counts its computations."""

    gate: threading.Event = field(default_factory=threading.Event)
    calls: int = 0

    def __call__(self, database: Any, snapshot: Any, filters: Filters) -> CandidatesAnswer:
        self.calls += 1
        self.gate.wait()
        return CandidatesAnswer(
            filters=filters,
            as_of=snapshot.as_of,
            method="held",
            records_scanned=snapshot.generation,
            tested=0,
            candidates=[],
        )


def test_being_computed_until_the_current_generation_is_ready(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view, held = FakeView(), Held()
    monkeypatch.setattr(module, "candidates", held)
    keeper = Keeper(view, refresh_seconds=0.0)  # type: ignore[arg-type]
    filters = Filters(process="smb")
    try:
        first = candidates_now(keeper, None, filters)  # type: ignore[arg-type]
        assert isinstance(first, CandidatesPending)
        assert first.status == "being computed" and first.previous is None
        assert first.as_of == START + timedelta(minutes=1) and first.filters == filters
        assert first.retry_after_seconds == module.RETRY_SECONDS  # what Retry-After says
        held.gate.set()

        def status() -> str:
            return candidates_now(keeper, None, filters).status  # type: ignore[arg-type]

        assert wait_for(lambda: status() == "ready")
        ready = candidates_now(keeper, None, filters)  # type: ignore[arg-type]
        assert isinstance(ready, CandidatesAnswer) and ready.records_scanned == 1
        assert held.calls == 1  # one computation answers every reader of the generation

        held.gate.clear()
        view.publish()  # a pipeline pass: generation 2 is computed, readers are told so
        again = candidates_now(keeper, None, filters)  # type: ignore[arg-type]
        assert isinstance(again, CandidatesPending)
        assert again.as_of == START + timedelta(minutes=2)
        assert again.previous == ready  # the newest finished answer meanwhile
        held.gate.set()
        assert wait_for(lambda: status() == "ready")
        newer = candidates_now(keeper, None, filters)  # type: ignore[arg-type]
        assert isinstance(newer, CandidatesAnswer) and newer.records_scanned == 2
        assert newer.as_of == START + timedelta(minutes=2) and held.calls == 2
    finally:
        held.gate.set()
        keeper.stop()


def test_a_failed_computation_is_raised_to_the_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(database: Any, snapshot: Any, filters: Filters) -> CandidatesAnswer:
        raise RuntimeError("the records could not be read")

    monkeypatch.setattr(module, "candidates", broken)
    keeper = Keeper(FakeView(), refresh_seconds=0.0)  # type: ignore[arg-type]
    try:
        assert isinstance(candidates_now(keeper, None, Filters()), CandidatesPending)  # type: ignore[arg-type]

        def raised() -> bool:
            try:
                candidates_now(keeper, None, Filters())  # type: ignore[arg-type]
            except RuntimeError:
                return True
            return False

        assert wait_for(raised)
    finally:
        keeper.stop()
