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
    pooled_scale,
    quantile_level,
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
    assert standardized_error(100.0, 900.0, -1.0) == pytest.approx(
        (-(0.01 ** (1 / 3)) - 0.99) / 0.1
    )


def test_nothing_won_is_no_error_where_every_band_starts_at_0() -> None:
    """Mean 1, variance 900: c = 100, the median's root 1 - c is below 0, so the band's P10
    is 0 at any scale and holds an outcome of 0: its error is 0, not (c - 1) / sqrt(c) =
    9.9. Where the root is above 0 (c = 0.01), 0 is -(1 - c) / sqrt(c) away as before."""
    assert standardized_error(1.0, 900.0, 0.0) == 0.0
    for scale in (0.1, 1.0, 5.0):
        assert band(1.0, 900.0, scale)[0] == 0.0
    assert standardized_error(1.0, 900.0, 50.0) == pytest.approx((50 ** (1 / 3) + 99) / 10)
    assert standardized_error(100.0, 900.0, 0.0) == pytest.approx(-9.9)
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
    """|errors| 0.5, 1, 1.5, 2, 3: five origins read the level (0.8 * 5 - 0.2) / 4 = 0.95 of
    their linear quantile, 2 + 0.8 (3 - 2) = 2.8 (position 0.95 * 4 = 3.8), so the band needed
    2.8 / Z90 = 2.185 times its width; five origins move it 5 / (5 + 8.79) of the way on the
    log scale; two of five (|e| <= Z90) were held."""
    found = correction(CELL, [0.5, -1.0, 2.0, -3.0, 1.5])
    assert found.raw_scale == pytest.approx(2.8 / Z90)
    weight = 5 / (5 + HALF_WEIGHT_ORIGINS)
    assert found.scale == pytest.approx(math.exp(weight * math.log(2.8 / Z90)))
    assert found.scale == pytest.approx(1.3277, abs=1e-4)
    assert (found.origins, found.past_coverage, found.prior_scale) == (5, 0.4, 1.0)
    assert correction(CELL, []) == Correction(1, False, "total", 1.0, None, 0, None)


def test_the_quantile_level_by_hand() -> None:
    """Rank 0.8 (n + 1) of n: (0.8 n - 0.2) / (n - 1) of the linear quantile; the largest
    error where n is below 4."""
    assert [quantile_level(n) for n in (0, 1, 2, 3, 4)] == [1.0, 1.0, 1.0, 1.0, 1.0]
    assert quantile_level(5) == pytest.approx(3.8 / 4)
    assert quantile_level(10) == pytest.approx(7.8 / 9)
    assert quantile_level(30) == pytest.approx(23.8 / 29)
    assert quantile_level(1000) == pytest.approx(0.8, abs=1e-3)


@pytest.mark.parametrize("n", [10, 20])
def test_the_next_error_stays_under_the_quantile_of_the_past_ones_80_percent_of_the_time(
    n: int,
) -> None:
    """Errors drawn alike: the next one falls within the scale read from the n before it
    80 % of the time, where the plain 80th percentile of n holds it only about (0.8 n + 0.2)
    / (n + 1) of the time (74.5 % with 10)."""
    rng = np.random.default_rng(n)
    errors = np.abs(rng.standard_normal((50_000, n + 1)))
    past, following = errors[:, :n], errors[:, n]
    held = np.mean(np.quantile(past, quantile_level(n), axis=1) >= following)
    plain = np.mean(np.quantile(past, 0.8, axis=1) >= following)
    assert held == pytest.approx(0.8, abs=0.01)
    assert plain == pytest.approx((0.8 * n + 0.2) / (n + 1), abs=0.01)
    assert plain < 0.79


def test_the_pooled_scale_by_hand() -> None:
    """Six errors from three origins: the level of three origins is the largest, 3 / Z90 =
    2.341, moved 3 / (3 + 8.79) of the way from 1 on the log scale; none, 1."""
    found = pooled_scale([0.5, -1.0, 2.0, -3.0, 1.5, 0.2], 3)
    assert found == pytest.approx(math.exp(3 / (3 + HALF_WEIGHT_ORIGINS) * math.log(3 / Z90)))
    assert found == pytest.approx(1.2417, abs=1e-4)
    assert pooled_scale([], 0) == 1.0


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
    errors = (0.1, (1.25 ** (1 / 3) - 0.99) / 0.1)  # two origins: the larger error
    assert found[CELL].raw_scale == pytest.approx(errors[1] / Z90)
    pooled = pooled_scale(errors, 2)
    assert found[CELL].prior_scale == pytest.approx(pooled)
    assert scale_of(found, (2, False, "total")) == pytest.approx(pooled), "borrowed: unknown yet"
    assert scale_of(found, (2, False, "open")) == 1.0, "no error of that part"
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


def _month_outcomes(
    origins: int, shared_sd: float, own_sd: float, seed: int
) -> tuple[list[Outcome], datetime]:
    """Monthly origins forecasting three months of mean 100 and variance 400 each, and their
    sum as if the months were independent (variance 1,200); the outcomes share a shock of the
    origin (a market that moved) besides each month's own noise."""
    rng = np.random.default_rng(seed)
    found = []
    for i in range(origins):
        origin = datetime(2020 + i // 12, i % 12 + 1, 1, tzinfo=UTC)
        shock = rng.normal(0.0, shared_sd)
        months = [100.0 + shock + rng.normal(0.0, own_sd) for _ in range(3)]
        found.append(Outcome((3, False, "total"), origin, origin, 100.0, 400.0, months[2]))
        found.append(Outcome((3, True, "total"), origin, origin, 300.0, 1_200.0, sum(months)))
    return found, datetime(2020 + origins // 12, origins % 12 + 1, 1, tzinfo=UTC)


def test_a_cumulative_window_is_widened_by_its_own_errors_when_months_go_the_same_way() -> None:
    """Months sharing a shock (sd 16) besides their own noise (sd 12): each month's band (sd
    20) is about right, while the sum's spread is sqrt(9 * 256 + 3 * 144) = 52, not the
    sqrt(1,200) = 35 of independent months: the cumulative band is widened by its own errors
    by about that ratio, the single month's hardly."""
    outcomes, end = _month_outcomes(120, 16.0, 12.0, seed=11)
    found = corrections(outcomes, end)
    month, cumulative = found[(3, False, "total")], found[(3, True, "total")]
    assert month.raw_scale is not None and cumulative.raw_scale is not None
    assert 0.85 < month.raw_scale < 1.2
    assert 1.3 < cumulative.raw_scale < 1.8
    assert cumulative.scale > 1.3 > 1.15 > month.scale


def test_a_cell_with_few_origins_starts_from_what_the_part_asks_at_every_horizon() -> None:
    """The first month's errors (30 origins) ask twice the model's band; the third month,
    known two months later, has two origins that ask a narrower band: shrunk towards what the
    part asks at every horizon, it starts wider than the model's own; another part's prior
    comes from that part's errors alone."""
    month = timedelta(days=31)
    outcomes = [
        Outcome(CELL, T - (i + 2) * month, T - (i + 1) * month, 100.0, 900.0, actual)
        for i in range(30)
        for actual in [100.0 * (0.99 + 0.1 * 2.0 * Z90 * (1 if i % 2 else -1)) ** 3]
    ]
    third = (3, False, "total")
    outcomes += [Outcome(third, T - 4 * month, T - month, 100.0, 900.0, 100.0)] * 2
    outcomes.append(Outcome((1, False, "open"), T - 2 * month, T - month, 100.0, 900.0, 100.0))
    found = corrections(outcomes, T)
    alone = correction(third, [0.1, 0.1])
    assert found[CELL].raw_scale == pytest.approx(2.0)
    assert alone.scale < 1.0 < found[third].prior_scale
    assert found[third].scale > 1.0
    assert found[third].scale == pytest.approx(
        math.exp(
            math.log(alone.raw_scale or 0.0) * 2 / (2 + HALF_WEIGHT_ORIGINS)
            + math.log(found[third].prior_scale) * HALF_WEIGHT_ORIGINS / (2 + HALF_WEIGHT_ORIGINS)
        )
    )
    assert found[(1, False, "open")].prior_scale < 1.0
