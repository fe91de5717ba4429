"""The connectors, the export import and the mapping rules read a moment the same way."""

from __future__ import annotations

import pytest

from connectors.exports.values import cell_instant
from crm import instant_or_none, parse_instant
from mappings.values import to_datetime

FORMS = [
    "2025-03-04T10:15:00.000+0000",
    "2025-03-04T10:15:00.000Z",
    "2025-03-04 10:15:00",
    "2025-03-04",
    "1741083300000",
    "1741083300",
]


@pytest.mark.parametrize("text", FORMS)
def test_every_reader_of_crm_text_agrees(text: str) -> None:
    expected = parse_instant(text)
    assert cell_instant(text) == expected
    assert to_datetime(text) == expected
    assert instant_or_none(text) == expected


@pytest.mark.parametrize("text", ["next week", "2025-02-30"])
def test_every_reader_of_crm_text_refuses_the_same_garbage(text: str) -> None:
    assert to_datetime(text) is None
    assert instant_or_none(text) is None
    with pytest.raises(ValueError, match="is not a date and time"):
        cell_instant(text)
