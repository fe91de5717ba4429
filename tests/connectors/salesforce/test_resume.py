"""The Salesforce reader's resume state: stored states load, and round trips are exact."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.core import ResumeState
from connectors.salesforce.resume import DescribedFields, SalesforceResume

CHECKED = datetime(2026, 3, 1, 12, tzinfo=UTC)
DESCRIBED = datetime(2026, 3, 1, 11, tzinfo=UTC)
STORED: dict[str, Any] = {  # as the reader has always written it
    "deletions_checked_at": "2026-03-01T12:00:00+00:00",
    "describe": {
        "fields": ["Id", "SystemModstamp", "Subject"],
        "wanted": ["Id", "SystemModstamp", "Subject", "Custom__c"],
        "described_at": "2026-03-01T11:00:00+00:00",
    },
    "bulk": True,
}


def test_a_stored_state_loads_typed() -> None:
    state = SalesforceResume.from_json(STORED)
    assert state == SalesforceResume(
        deletions_checked_at=CHECKED,
        describe=DescribedFields(
            ("Id", "SystemModstamp", "Subject"),
            ("Id", "SystemModstamp", "Subject", "Custom__c"),
            DESCRIBED,
        ),
        bulk=True,
    )


def test_round_trips_are_exact() -> None:
    state: ResumeState = SalesforceResume.from_json(STORED)
    assert state.to_json() == STORED
    assert SalesforceResume.from_json(state.to_json()) == state
    assert SalesforceResume().to_json() == {}
    assert SalesforceResume.from_json({}) == SalesforceResume()


def test_unknown_keys_are_ignored_and_unreadable_values_take_their_default() -> None:
    state = SalesforceResume.from_json(
        {
            "deletions_checked_at": "yesterday",
            "describe": {"fields": "Id", "wanted": [], "described_at": "2026-03-01"},
            "bulk": "yes",
            "a_later_key": {"any": "thing"},
        }
    )
    assert state == SalesforceResume()
