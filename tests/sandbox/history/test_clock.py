"""Business time (Mon-Fri 08-18 UTC) and the CRMs' timestamp formats."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox.history.clock import (
    add_business_days,
    business_days_between,
    epoch,
    format_date,
    format_datetime,
    parse_utc,
    weekday,
)


def test_formats_are_millisecond_utc_and_plain_dates() -> None:
    t = parse_utc("2025-03-04T10:15:00Z")
    assert format_datetime(t) == "2025-03-04T10:15:00.000Z"
    assert format_date(t) == "2025-03-04"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        epoch(datetime(2025, 1, 1))
    assert epoch(datetime(1970, 1, 2, tzinfo=UTC)) == 86_400


def test_weekday_is_monday_based() -> None:
    assert weekday(parse_utc("2025-03-03T12:00:00Z")) == 0  # a Monday
    assert weekday(parse_utc("2025-03-09T12:00:00Z")) == 6  # a Sunday


def test_a_gap_skips_nights_and_weekends() -> None:
    friday_late = parse_utc("2025-03-07T17:00:00Z")
    assert format_datetime(add_business_days(friday_late, 0.2)) == "2025-03-10T09:00:00.000Z"
    assert format_datetime(add_business_days(friday_late, 1.0)) == "2025-03-10T17:00:00.000Z"


def test_a_saturday_counts_from_monday_morning() -> None:
    saturday = parse_utc("2025-03-08T11:00:00Z")
    assert format_datetime(add_business_days(saturday, 0.5)) == "2025-03-10T13:00:00.000Z"


@pytest.mark.parametrize("days", [0.1, 1.0, 2.5, 7.0, 33.3])
def test_business_days_between_inverts_adding_them(days: float) -> None:
    start = parse_utc("2025-05-14T09:30:00Z")
    assert business_days_between(start, add_business_days(start, days)) == pytest.approx(
        days, abs=1e-4
    )
