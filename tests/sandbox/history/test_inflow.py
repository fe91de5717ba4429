"""New deals arrive on business days, more in busy months, growing year on year."""

from __future__ import annotations

from collections import Counter

from sandbox.history.clock import parse_utc, to_datetime, weekday
from sandbox.history.inflow import Inflow
from sandbox.history.params import Seasonality

START = parse_utc("2023-01-01T00:00:00Z")
END = parse_utc("2025-01-01T00:00:00Z")


def test_times_are_sorted_inside_the_window_and_on_business_days() -> None:
    inflow = Inflow(Seasonality(), START, END)
    times = [inflow.time_of(i, 2000, START, END, 0.5) for i in range(2000)]
    assert times == sorted(times)
    assert times[0] >= START and times[-1] <= END
    assert all(weekday(t) < 5 for t in times)
    assert all(8 <= to_datetime(t).hour < 18 for t in times)


def test_monthly_weights_and_growth_shape_the_inflow() -> None:
    flat = Seasonality(monthly=(1.0,) * 12, annual_growth=0.0)
    seasonal = Seasonality(monthly=(1.0,) * 7 + (0.5,) + (1.0,) * 4, annual_growth=0.0)
    for seasonality, ratio in ((flat, 1.0), (seasonal, 0.5)):
        inflow = Inflow(seasonality, START, END)
        months = Counter(
            to_datetime(inflow.time_of(i, 4000, START, END, 0.5)).month for i in range(4000)
        )
        assert abs(months[8] / months[7] - ratio) < 0.15
    growing = Inflow(Seasonality(monthly=(1.0,) * 12, annual_growth=0.5), START, END)
    years = Counter(
        to_datetime(growing.time_of(i, 4000, START, END, 0.5)).year for i in range(4000)
    )
    assert 1.3 < years[2024] / years[2023] < 1.7


def test_expected_count_keeps_the_rate() -> None:
    inflow = Inflow(Seasonality(monthly=(1.0,) * 12, annual_growth=0.0), START, END)
    middle = parse_utc("2024-01-01T00:00:00Z")
    assert inflow.expected_count(1000, (START, middle), (middle, END)) in range(990, 1011)
