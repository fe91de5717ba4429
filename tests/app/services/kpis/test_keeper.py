"""The keeper of slow answers: computed once per view generation on its own thread, the newest
kept for every reader, recomputed when the view moves on (no sooner than its refresh time),
and a reader never waits for a recomputation."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.services.kpis.keeper import Keeper
from tests.support.fake_view import FakeView
from tests.support.waiting import wait_for


@dataclass
class Counting:
    """A slow answer: the generation it was computed at; `gate` holds it back until set."""

    calls: int = 0
    gate: threading.Event = field(default_factory=threading.Event)

    def __call__(self, snapshot: Any) -> int:
        self.calls += 1
        self.gate.wait()
        return int(snapshot.generation)


def _keeper(view: FakeView, refresh_seconds: float = 0.0) -> Keeper:
    return Keeper(view, refresh_seconds=refresh_seconds)  # type: ignore[arg-type]


def test_the_first_answer_is_computed_once_off_the_request_and_kept() -> None:
    view, slow = FakeView(), Counting()
    keeper = _keeper(view)
    assert keeper.get("k", slow, wait=False) is None  # a page: "being computed"
    assert keeper.get("k", slow, wait=False) is None
    slow.gate.set()
    kept = keeper.get("k", slow, wait=True)  # the API waits for the first one only
    assert kept is not None and kept.value == 1 and kept.current
    assert kept.as_of == view.snapshot().as_of
    assert keeper.get("k", slow, wait=False) == kept
    assert slow.calls == 1
    keeper.stop()


def test_a_new_generation_is_computed_again_while_readers_keep_the_previous_answer() -> None:
    view, slow = FakeView(), Counting()
    slow.gate.set()
    keeper = _keeper(view)
    assert keeper.get("k", slow, wait=True).value == 1  # type: ignore[union-attr]
    assert keeper.get("k", slow, wait=False).current  # type: ignore[union-attr]  (read: kept fresh)
    slow.gate.clear()
    view.publish()  # a pipeline pass: the keeper starts on generation 2 by itself
    assert wait_for(lambda: slow.calls == 2)
    older = keeper.get("k", slow, wait=True)
    assert older is not None and older.value == 1 and not older.current  # never waits
    slow.gate.set()
    assert wait_for(lambda: keeper.get("k", slow, wait=False).current)  # type: ignore[union-attr]
    assert keeper.get("k", slow, wait=False).value == 2  # type: ignore[union-attr]
    assert slow.calls == 2
    keeper.stop()


def test_a_kept_answer_is_recomputed_no_sooner_than_its_refresh_time() -> None:
    view, slow = FakeView(), Counting()
    slow.gate.set()
    keeper = _keeper(view, refresh_seconds=3600)
    keeper.keep("k", slow)  # at start-up, before anyone asks
    assert wait_for(lambda: slow.calls == 1)
    view.publish()
    kept = keeper.get("k", slow, wait=True)
    assert kept is not None and kept.value == 1 and not kept.current
    assert slow.calls == 1
    keeper.stop()


def test_an_answer_nobody_asked_for_since_waits_for_a_reader_before_it_is_computed_again() -> None:
    view, slow, pinned = FakeView(), Counting(), Counting()
    slow.gate.set()
    pinned.gate.set()
    keeper = _keeper(view)
    keeper.keep("pinned", pinned)  # the answer a first page asks for: always kept fresh
    assert keeper.get("k", slow, wait=True).value == 1  # type: ignore[union-attr]
    assert wait_for(lambda: pinned.calls == 1)
    view.publish()
    assert wait_for(lambda: pinned.calls == 2)
    assert slow.calls == 1  # nobody asked for it since it was computed
    older = keeper.get("k", slow, wait=False)
    assert older is not None and older.value == 1 and not older.current
    assert wait_for(lambda: keeper.get("k", slow, wait=False).current)  # type: ignore[union-attr]
    assert slow.calls == 2
    keeper.stop()


def test_a_failed_computation_is_raised_to_the_reader_and_tried_again() -> None:
    view = FakeView()
    attempts: list[int] = []

    def flaky(snapshot: Any) -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("the model did not fit")
        return 7

    keeper = _keeper(view)
    with pytest.raises(RuntimeError, match="did not fit"):
        keeper.get("k", flaky, wait=True)
    kept = keeper.get("k", flaky, wait=True)
    assert kept is not None and kept.value == 7
    keeper.stop()
