"""The band is calibrated by the history's own backtest errors: widened where past outcomes
fell outside it too often, narrowed where they never did, by less when few past origins speak,
and never by an outcome not known at the instant of the forecast."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from app.kpis.backtest import BacktestPoint, Band, calibrated, summarise
from app.kpis.band import Z90, band, gamma_quantile, standardized_error
from app.kpis.calibration import (
    HALF_WEIGHT_ORIGINS,
    Correction,
    Outcome,
    correction,
    corrections,
    corrections_at,
    scale_of,
)

CELL = (1, False, "total")
T = datetime(2025, 1, 1, tzinfo=UTC)


def test_the_standardized_error_by_hand() -> None:
    """Mean 100, variance 900: 1/(9 shape) = c = 0.01, so the error is ((x/100)^(1/3) - 0.99)
    / 0.1."""
    assert standardized_error(100.0, 900.0, 100.0) == pytest.approx(0.1)
    assert standardized_error(100.0, 900.0, 0.0) == pytest.approx(-9.9)
    assert standardized_error(100.0, 900.0, 125.0) == pytest.approx((1.25 ** (1 / 3) - 0.99) / 0.1)
    assert standardized_error(0.0, 900.0, 10.0) is None, "no forecast, no band"
    assert standardized_error(100.0, 0.0, 10.0) is None, "a point forecast has no band"


def test_a_scaled_band_by_hand() -> None:
    """Twice as wide on the normal scale: 100 (0.99 ± 2 * Z90 * 0.1)³."""
    low, high = band(100.0, 900.0, 2.0)
    assert low == pytest.approx(100.0 * (0.99 - 2 * Z90 * 0.1) ** 3) == pytest.approx(39.4946, 1e-4)
    assert high == pytest.approx(100.0 * (0.99 + 2 * Z90 * 0.1) ** 3)
    assert band(100.0, 900.0, 1.0) == band(100.0, 900.0)
    assert gamma_quantile(100.0, 900.0, 0.5, 3.0) == gamma_quantile(100.0, 900.0, 0.5)
    with pytest.raises(ValueError, match="positive"):
        band(100.0, 900.0, 0.0)


@pytest.mark.parametrize("scale", [0.5, 1.0, 1.7])
def test_the_band_holds_an_outcome_exactly_when_its_error_is_within_z90_times_the_scale(
    scale: float,
) -> None:
    for mean, variance in ((100.0, 900.0), (50.0, 5_000.0), (10.0, 400.0)):
        low, high = band(mean, variance, scale)
        for actual in np.linspace(0.0, 4 * mean, 97).tolist():
            error = standardized_error(mean, variance, actual)
            assert error is not None
            if abs(abs(error) - Z90 * scale) > 1e-9:
                assert (low <= actual <= high) == (abs(error) <= Z90 * scale), (mean, actual)


def test_the_prior_weight_by_hand() -> None:
    """0.8 * 0.2 / (2 phi(Z90) Z90)² / 0.3² ≈ 0.79 / 0.09."""
    density = 2 * math.exp(-(Z90**2) / 2) / math.sqrt(2 * math.pi)
    weight = HALF_WEIGHT_ORIGINS
    assert weight == pytest.approx(0.16 / (density * Z90) ** 2 / 0.09)
    assert weight == pytest.approx(8.786, abs=1e-3)


def test_a_correction_by_hand() -> None:
    """|errors| 0.5, 1, 1.5, 2, 3: their 80th percentile is 2.2 (linear between the 4th and
    5th), so the band needed 2.2 / Z90 = 1.717 times its width; five origins move it
    5 / (5 + 8.79) of the way on the log scale; two of five (|e| <= Z90) were held."""
    found = correction(CELL, [0.5, -1.0, 2.0, -3.0, 1.5])
    assert found.raw_scale == pytest.approx(2.2 / Z90)
    weight = 5 / (5 + HALF_WEIGHT_ORIGINS)
    assert found.scale == pytest.approx(math.exp(weight * math.log(2.2 / Z90)))
    assert found.scale == pytest.approx(1.2165, abs=1e-4)
    assert (found.origins, found.past_coverage) == (5, 0.4)
    assert correction(CELL, []) == Correction(1, False, "total", 1.0, None, 0, None)


def test_more_origins_move_the_band_further_towards_what_they_ask() -> None:
    few = correction(CELL, [2.0] * 3)
    many = correction(CELL, [2.0] * 60)
    asked = 2.0 / Z90
    assert few.raw_scale == many.raw_scale == pytest.approx(asked)
    assert 1.0 < few.scale < many.scale < asked
    assert math.log(many.scale) / math.log(asked) == pytest.approx(60 / (60 + 8.786), 1e-3)


def _outcome(origin: datetime, known_at: datetime, actual: float) -> Outcome:
    return Outcome(CELL, origin, known_at, 100.0, 900.0, actual)


def test_only_outcomes_known_before_the_forecast_count() -> None:
    """An outcome counts once its window is over (at T itself too: the window ends before
    T), never when it ends after T or was forecast at T or later; a point forecast never."""
    month = timedelta(days=31)
    known = _outcome(T - 2 * month, T - month, 100.0)
    at_t = _outcome(T - month, T, 125.0)
    later = _outcome(T - month, T + month, 10_000.0)
    from_t = _outcome(T, T, 10_000.0)
    point = Outcome(CELL, T - 2 * month, T - month, 100.0, 0.0, 10_000.0)
    found = corrections([known, at_t, later, from_t, point], T)
    assert found[CELL].origins == 2
    errors = (0.1, (1.25 ** (1 / 3) - 0.99) / 0.1)  # 80th percentile of two: 80 % of the way up
    assert found[CELL].raw_scale == pytest.approx((errors[0] + 0.8 * (errors[1] - errors[0])) / Z90)
    assert scale_of(found, (2, False, "total")) == 1.0
    assert corrections([later, from_t], T) == {}
    each = corrections_at([known, at_t, later, from_t, point], [T - month, T, T + month])
    assert each[T] == found
    assert each[T - month][CELL].origins == 1  # `known` alone
    assert each[T + month][CELL].origins == 4  # `later` and `from_t` are known by then


def _synthetic(truth: float, origins: int, seed: int) -> list[BacktestPoint]:
    """Monthly origins whose model says mean 1000, variance 40,000 (sd 200) for the month
    ahead, each part alike, while the outcomes are drawn from a gamma with the same mean and
    `truth` times the variance."""
    rng = np.random.default_rng(seed)
    mean, variance = 1_000.0, 40_000.0
    shape = mean * mean / (variance * truth)
    low, high = band(mean, variance)
    points = []
    for i in range(origins):
        origin = datetime(2020 + i // 12, i % 12 + 1, 1, tzinfo=UTC)
        actual = float(rng.gamma(shape, mean / shape))
        forecast = Band(mean, low, high, variance)
        points.append(
            BacktestPoint(
                origin, 1, False, "total", origin.date(), actual, forecast, forecast, None, None
            )
        )
    return points


def _coverage(points: list[BacktestPoint]) -> float:
    found = summarise(points)[0].milestones.coverage_p10_p90
    assert found is not None
    return found


@pytest.mark.parametrize(("truth", "wider"), [(4.0, True), (0.25, False)])
def test_a_too_narrow_band_is_widened_and_a_too_wide_one_narrowed(
    truth: float, wider: bool
) -> None:
    """A model whose variance is a quarter of the truth's holds about half of the outcomes;
    one with four times the truth's nearly all. Calibrated from the origins before each, the
    band moves towards 80 % coverage, and the later origins' bands are wider (narrower)."""
    raw = _synthetic(truth, 96, seed=7)
    fixed = calibrated(raw)
    before, after = _coverage(raw), _coverage(fixed)
    assert fixed[0] == raw[0], "the first origin has no past: the model's band"
    late = fixed[-1].milestones
    if wider:
        assert before < 0.65
        assert late.scale > 1.5 and late.p90 > raw[-1].milestones.p90
    else:
        assert before > 0.95
        assert late.scale < 0.75 and late.p90 < raw[-1].milestones.p90
    assert abs(after - 0.8) < abs(before - 0.8)
    assert abs(_coverage(fixed[24:]) - 0.8) <= 0.1


def test_a_calibrated_band_uses_nothing_at_or_after_its_origin() -> None:
    """Changing every outcome from an origin on changes no band at that origin or before it:
    a month's outcome enters the calibration only at the origins after its month is over."""
    raw = _synthetic(4.0, 36, seed=3)
    cut = 20
    changed = [p if i < cut else replace(p, actual=p.actual * 5) for i, p in enumerate(raw)]
    a, b = calibrated(raw), calibrated(changed)
    for i in range(cut + 1):  # origin `cut`'s month is not over at its own origin
        assert a[i].milestones == b[i].milestones, i
    assert a[cut + 2].milestones != b[cut + 2].milestones
