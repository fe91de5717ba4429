"""Every form a CRM writes a moment in reads as the same aware UTC datetime."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm import InstantError, parse_instant

MOMENT = datetime(2025, 3, 4, 10, 15, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2025-03-04T10:15:00.123+0000",  # Salesforce REST
        "2025-03-04T12:15:00.123+0200",  # Salesforce REST, an org with another zone
        "2025-03-04T10:15:00.123Z",  # Salesforce Bulk, HubSpot v3
        "2025-03-04T10:15:00.123z",
        "2025-03-04T12:15:00.123+02:00",
        "2025-03-04 10:15:00.123",  # exports: a space, no zone (UTC)
        " 2025-03-04T10:15:00.123Z ",
        "1741083300123",  # HubSpot epoch milliseconds as text
        1741083300123,  # ... and as a number
        1741083300.123,  # epoch seconds
        datetime(2025, 3, 4, 10, 15, 0, 123000),  # naive: UTC
        MOMENT,
    ],
)
def test_every_crm_form_reads_as_the_same_utc_moment(value: object) -> None:
    parsed = parse_instant(value)  # type: ignore[arg-type]
    assert parsed == MOMENT
    assert parsed.tzinfo is UTC


def test_dates_are_midnight_utc() -> None:
    midnight = datetime(2025, 3, 4, tzinfo=UTC)
    assert parse_instant("2025-03-04") == midnight
    assert parse_instant("20250304") == midnight  # eight digits are a date, not an epoch
    assert parse_instant(date(2025, 3, 4)) == midnight


def test_small_epoch_numbers_are_seconds() -> None:
    assert parse_instant(1741083300) == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)
    assert parse_instant("1741083300") == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)
    assert parse_instant(0) == datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", ["", "   ", "next week", "2025-13-01", "12:00", True, None, []])
def test_anything_else_is_a_clear_error(value: object) -> None:
    with pytest.raises(InstantError, match="is not a date and time"):
        parse_instant(value)  # type: ignore[arg-type]


def test_an_epoch_beyond_the_calendar_is_a_clear_error() -> None:
    with pytest.raises(InstantError, match="out of range"):
        parse_instant(10**20)


def test_the_error_is_a_value_error_for_callers_that_catch_those() -> None:
    assert issubclass(InstantError, ValueError)


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_an_instant_beyond_the_range_of_utc_is_a_clear_error(text: str) -> None:
    with pytest.raises(InstantError, match="out of range"):
        parse_instant(text)
