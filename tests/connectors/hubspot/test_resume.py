"""The HubSpot reader's resume state: stored states load, and round trips are exact."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.hubspot.resume import ArchivedTail, DescribedProperties, HubSpotResume, ListWalk

SWEPT = datetime(2026, 3, 1, 12, tzinfo=UTC)
MARK = datetime(2026, 3, 1, 11, 59, 30, 123000, tzinfo=UTC)
KEPT: dict[str, Any] = {
    "swept_at": "2026-03-01T12:00:00+00:00",
    "archived_at": "2026-03-01T12:00:00+00:00",
    "described": {"for": ["hs_timestamp", "-milestone_kpi"], "names": ["hs_timestamp"]},
}
STORED: list[dict[str, Any]] = [  # as the reader has always written them
    KEPT,
    {
        **KEPT,
        "walk": {
            "archived": False,
            "after": "2400",
            "mark": "2026-03-01T11:59:30.123000+00:00",
            "seen": None,
        },
    },
    {**KEPT, "walk": {"archived": True, "after": None, "mark": None, "seen": None}},
    {**KEPT, "tail": {"after": "300"}},
    {},
]


def test_a_stored_walk_loads_typed() -> None:
    state = HubSpotResume.from_json(STORED[1])
    assert state == HubSpotResume(
        swept_at=SWEPT,
        archived_at=SWEPT,
        described=DescribedProperties(("hs_timestamp", "-milestone_kpi"), ("hs_timestamp",)),
        walk=ListWalk(archived=False, after="2400", mark=MARK, seen=None),
    )
    assert state.kept() == HubSpotResume(SWEPT, SWEPT, state.described)
    assert HubSpotResume.from_json(STORED[3]).tail == ArchivedTail("300")


@pytest.mark.parametrize("stored", STORED)
def test_round_trips_are_exact(stored: dict[str, Any]) -> None:
    state = HubSpotResume.from_json(stored)
    assert state.to_json() == stored
    assert HubSpotResume.from_json(state.to_json()) == state


def test_unknown_keys_are_ignored_and_unreadable_values_take_their_default() -> None:
    state = HubSpotResume.from_json(
        {
            "swept_at": 5,
            "described": {"for": "x", "names": []},
            "walk": "broken",
            "tail": {"after": 7},
            "a_later_key": True,
        }
    )
    assert state == HubSpotResume(tail=ArchivedTail(None))
