"""Values read back from a stored resume state: what is there, or the default."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from connectors.core.resume import (
    stored_flag,
    stored_int,
    stored_names,
    stored_text,
    stored_time,
    time_text,
)


def test_a_stored_moment_reads_back_or_is_none() -> None:
    assert stored_time("2025-12-31T23:00:00+00:00") == datetime(2025, 12, 31, 23, tzinfo=UTC)
    assert stored_time("yesterday") is None
    assert stored_time(None) is None
    assert stored_time("") is None
    assert stored_time(12) is None


def test_moments_are_kept_as_utc_iso_text_and_read_back_equal() -> None:
    moment = datetime(2026, 3, 1, 13, 30, tzinfo=timezone(timedelta(hours=1)))
    text = time_text(moment)
    assert text == "2026-03-01T12:30:00+00:00"
    assert stored_time(text) == moment
    assert time_text(None) is None


def test_other_values_of_the_wrong_kind_take_their_default() -> None:
    assert stored_text("abc") == "abc" and stored_text("") is None and stored_text(3) is None
    assert stored_int(4) == 4 and stored_int("4") == 0 and stored_int(True) == 0
    assert stored_flag(True) and not stored_flag("true") and not stored_flag(None)
    assert stored_names(["a", 1]) == ("a", "1") and stored_names("a") is None
