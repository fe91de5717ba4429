"""When new deals are created: a steady, growing, seasonal inflow over business hours.

The intensity is piecewise constant per day (monthly weight x yearly growth, zero at weekends;
a market change can scale or reshape it from its date on), spread evenly over business hours.
Exactly `count` creation times fall in a window: deal `i` gets the quantile `(i + u) / count`
of the window's cumulative intensity (`u` uniform in [0, 1)), so the times come out sorted,
the count is exact, and each deal's time can be computed on its own.
"""

from __future__ import annotations

from bisect import bisect_right

from sandbox.history.clock import BUSINESS_DAY, DAY, OPEN, month_of, weekday
from sandbox.history.params import Seasonality
from sandbox.history.scenarios import STEADY, Market

__all__ = ["Inflow"]


class Inflow:
    def __init__(
        self, seasonality: Seasonality, start: int, end: int, market: Market | None = None
    ) -> None:
        market = market or Market(STEADY, end + DAY)
        self._first_day = start // DAY
        last_day = end // DAY + 1
        self._cum = [0.0]
        self._weights: list[float] = []
        for day in range(self._first_day, last_day + 1):
            t = day * DAY
            if weekday(t) >= 5:
                weight = 0.0
            else:
                years = (t - start) / (365.0 * DAY)
                weight = market.inflow(t, seasonality.monthly, month_of(t)) * (
                    (1.0 + seasonality.annual_growth) ** years
                )
            self._weights.append(weight)
            self._cum.append(self._cum[-1] + weight)

    def cumulative(self, t: int) -> float:
        index = t // DAY - self._first_day
        second = t % DAY
        fraction = min(max(second - OPEN, 0), BUSINESS_DAY) / BUSINESS_DAY
        return self._cum[index] + self._weights[index] * fraction

    def _at(self, c: float) -> int:
        index = bisect_right(self._cum, c) - 1
        index = min(max(index, 0), len(self._weights) - 1)
        while self._weights[index] == 0.0 and index > 0:
            index -= 1
        fraction = (c - self._cum[index]) / self._weights[index]
        fraction = min(max(fraction, 0.0), 0.999999)
        return (self._first_day + index) * DAY + OPEN + int(fraction * BUSINESS_DAY)

    def time_of(self, index: int, count: int, start: int, end: int, u: float) -> int:
        """Creation time of deal `index` of `count` in [start, end]; `u` in [0, 1) jitters it."""
        low, high = self.cumulative(start), self.cumulative(end)
        t = self._at(low + (high - low) * (index + u) / count)
        return min(max(t, start), end)

    def expected_count(
        self, per_window: int, window: tuple[int, int], other: tuple[int, int]
    ) -> int:
        """How many deals fall in `other` at the rate that puts `per_window` in `window`."""
        base = self.cumulative(window[1]) - self.cumulative(window[0])
        extra = self.cumulative(other[1]) - self.cumulative(other[0])
        return round(per_window * extra / base) if base > 0 else 0
