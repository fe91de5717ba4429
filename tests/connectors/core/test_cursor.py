"""The cursor: frozen start, advancing high-water mark, capped at the run's signpost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.core import CursorState

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LOOKBACK = timedelta(minutes=10)


def test_a_first_run_has_no_start_and_is_initial() -> None:
    cursor = CursorState.begin(None, lookback=LOOKBACK, now=NOW)
    assert cursor.is_initial
    assert cursor.start_value is None and cursor.last_value is None


def test_later_runs_start_a_lookback_before_the_last_high_water_mark() -> None:
    previous = NOW - timedelta(hours=1)
    cursor = CursorState.begin(previous, lookback=LOOKBACK, now=NOW)
    assert cursor.start_value == previous - LOOKBACK
    assert cursor.last_value == previous
    assert not cursor.is_initial


def test_advance_never_moves_backwards() -> None:
    cursor = CursorState.begin(NOW - timedelta(hours=1), lookback=LOOKBACK, now=NOW)
    cursor.advance(NOW - timedelta(minutes=30))
    cursor.advance(NOW - timedelta(hours=5))
    cursor.advance(None)
    assert cursor.last_value == NOW - timedelta(minutes=30)


def test_advance_is_capped_at_the_signpost_so_changes_during_a_run_are_read_again() -> None:
    cursor = CursorState.begin(None, lookback=LOOKBACK, now=NOW)
    cursor.advance(NOW + timedelta(minutes=3))
    assert cursor.last_value == NOW


def test_the_start_value_stays_frozen_while_pages_advance() -> None:
    cursor = CursorState.begin(NOW - timedelta(days=1), lookback=LOOKBACK, now=NOW)
    start = cursor.start_value
    cursor.advance(NOW - timedelta(minutes=1))
    assert cursor.start_value == start
