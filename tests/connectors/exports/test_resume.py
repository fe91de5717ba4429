"""The export reader's resume state: stored states load, and round trips are exact."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.exports.resume import ExportResume

NEWEST = datetime(2025, 6, 30, 17, tzinfo=UTC)
STORED: list[dict[str, Any]] = [  # as the reader has always written them
    {"file": "abc", "row": 2000, "newest": "2025-06-30T17:00:00+00:00"},
    {"file": "abc", "row": 2000, "newest": None},
    {"imported": "abc"},
    {},
]


@pytest.mark.parametrize("stored", STORED)
def test_round_trips_are_exact(stored: dict[str, Any]) -> None:
    state = ExportResume.from_json(stored)
    assert state.to_json() == stored
    assert ExportResume.from_json(state.to_json()) == state


def test_a_position_holds_only_for_the_files_it_was_read_from() -> None:
    state = ExportResume.from_json(STORED[0])
    assert state.position_in("abc") == (2000, NEWEST)
    assert state.position_in("a newer export") == (0, None)


def test_unknown_keys_are_ignored_and_unreadable_values_take_their_default() -> None:
    state = ExportResume.from_json({"file": "abc", "row": "12", "newest": "soon", "later": 1})
    assert state == ExportResume(file="abc")
    assert ExportResume.from_json({"file": "abc", "row": -3}).row == 0
