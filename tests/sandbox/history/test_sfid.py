"""Salesforce ids: key prefix, 15 case-sensitive characters, case-safe 3-character suffix."""

from __future__ import annotations

import pytest

from sandbox.history.sfid import KEY_PREFIXES, checksum, is_valid_id, salesforce_id


def test_checksum_of_a_hand_computed_id() -> None:
    # "001A0" has an upper-case letter at position 3 -> bit 8 -> 'I'; "00000" -> 'A';
    # "6Vm9r" has one at position 1 -> bit 2 -> 'C'.
    assert checksum("001A0000006Vm9r") == "IAC"


def test_checksum_of_an_all_digit_id_is_aaa() -> None:
    assert checksum("003000000000001") == "AAA"


@pytest.mark.parametrize("name", sorted(KEY_PREFIXES))
@pytest.mark.parametrize("number", [0, 1, 61, 62, 3843, 238_327, 123_456_789, 916_132_831])
def test_every_generated_id_has_its_prefix_and_a_correct_suffix(name: str, number: int) -> None:
    value = salesforce_id(KEY_PREFIXES[name], number)
    assert len(value) == 18
    assert value.startswith(KEY_PREFIXES[name])
    assert value[15:] == checksum(value[:15])
    assert is_valid_id(value)


def test_ids_are_unique_even_ignoring_case() -> None:
    ids = {salesforce_id("00T", n).lower() for n in range(20_000)}
    assert len(ids) == 20_000


def test_prefixes_are_the_real_key_prefixes() -> None:
    assert KEY_PREFIXES == {
        "User": "005",
        "Account": "001",
        "Contact": "003",
        "Lead": "00Q",
        "Opportunity": "006",
        "OpportunityStage": "01J",
        "OpportunityHistory": "008",
        "OpportunityContactRole": "00K",
        "Task": "00T",
        "Event": "00U",
        "EmailMessage": "02s",
    }


def test_a_tampered_suffix_is_invalid() -> None:
    value = salesforce_id("006", 42)
    assert not is_valid_id(value[:15] + "ZZZ")
