"""The targets benchmark's tally: verdicts grouped by horizon and by target rule."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.targets import Verdict, _periods, summarise


def test_verdicts_are_tallied_per_horizon_and_rule() -> None:
    verdicts = [
        Verdict("smb", "month", "period before", 2, True, True),
        Verdict("smb", "month", "period before", 2, False, True),
        Verdict("smb", "month", "1.25 x actual", 1, False, False),
        Verdict("smb", "quarter", "period before", 11, True, False),
    ]
    rows = {(r["period"], r["targets"], r["weeks_left"]): r for r in summarise(verdicts)}
    two = rows[("month", "all", "2")]
    assert (two["verdicts"], two["on_track"], two["reached_if_on_track"]) == (2, 0.5, 1.0)
    assert two["missed_if_behind"] == 0.0 and two["hit_rate"] == 0.5 and two["reached"] == 1.0
    every = rows[("month", "all", "all")]
    assert (every["verdicts"], every["hit_rate"]) == (3, round(2 / 3, 3))
    assert rows[("month", "1.25 x actual", "all")]["missed_if_behind"] == 1.0
    assert rows[("quarter", "all", "10-12")]["hit_rate"] == 0.0


def test_periods_are_the_complete_ones_before_the_history_ends() -> None:
    months = _periods("month", datetime(2025, 7, 1, tzinfo=UTC), 2)
    assert [s.date().isoformat() for s, _ in months] == ["2025-04-01", "2025-05-01", "2025-06-01"]
    quarters = _periods("quarter", datetime(2025, 7, 15, tzinfo=UTC), 1)
    assert [(s.month, e.month) for s, e in quarters] == [(1, 4), (4, 7)]
