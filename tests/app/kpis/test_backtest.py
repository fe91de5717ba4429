"""The backtest replays history without looking ahead, scores every part and horizon, and
compares the milestone forecast with three baselines."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from app.kpis.backtest import (
    BacktestPoint,
    Band,
    HistoryNeed,
    backtest,
    choose_half_life,
    month_origins,
    summarise,
    week_origins,
)
from app.kpis.forecast import PipelineDeal
from app.kpis.history import DealHistory

T0 = datetime(2023, 1, 1, tzinfo=UTC)
ORIGIN = datetime(2024, 7, 1, tzinfo=UTC)
UNTIL = datetime(2025, 7, 1, tzinfo=UTC)
SMALL_NEED = HistoryNeed(closed=20, won=5, days=60)


def _deals(count: int = 330, every_days: float = 2.0) -> list[DealHistory]:
    """One deal every two days from 2023 on. A third of them reach milestone 1 five days after
    creation and are won 20 days after creation, for about 300; the rest are lost after 21
    days (about 100 each)."""
    deals = []
    for i in range(count):
        created = T0 + timedelta(days=every_days * i, hours=9)
        winner = i % 3 == 0
        deals.append(
            DealHistory(
                i,
                1,
                created,
                ((1, created + timedelta(days=5)),) if winner else (),
                "won" if winner else "lost",
                created + timedelta(days=20 if winner else 21),
                (300.0 if winner else 100.0) + 10 * (i % 5),
                team="North" if i % 2 else "South",
            )
        )
    return deals


def _known_before(deal: DealHistory, origin: datetime) -> DealHistory | None:
    """The deal as a CRM export taken just before `origin` would show it (written out by hand,
    not with `DealHistory.before`)."""
    if deal.created_at >= origin:
        return None
    closed = deal.closed_at is not None and deal.closed_at < origin
    return DealHistory(
        deal.key,
        deal.process,
        deal.created_at,
        tuple((p, at) for p, at in deal.reached if at < origin),
        deal.outcome if closed else "open",
        deal.closed_at if closed else None,
        deal.amount,
        team=deal.team,
    )


def test_origins_every_month_or_week() -> None:
    starts = month_origins(datetime(2024, 11, 15, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
    assert [s.date() for s in starts] == [date(2024, 12, 1), date(2025, 1, 1), date(2025, 2, 1)]
    assert month_origins(ORIGIN, ORIGIN) == [ORIGIN]
    weeks = week_origins(datetime(2024, 7, 1, tzinfo=UTC), datetime(2024, 7, 22, tzinfo=UTC))
    assert [w.day for w in weeks] == [1, 8, 15, 22]


def test_actuals_are_what_was_won_apart_for_open_and_new_deals() -> None:
    deals = _deals()
    replay = backtest(deals, [ORIGIN], until=UNTIL, need=SMALL_NEED)
    assert not replay.skipped
    july = {p.part: p for p in replay.points if p.horizon == 1 and not p.cumulative}
    won = [d for d in deals if d.outcome == "won" and d.closed_at and d.closed_at.month == 7]
    won = [d for d in won if d.closed_at and d.closed_at.year == 2024]
    open_at_origin = sum(d.amount for d in won if d.created_at < ORIGIN)
    created_later = sum(d.amount for d in won if d.created_at >= ORIGIN)
    assert july["open"].actual == open_at_origin > 0
    assert july["new"].actual == created_later > 0
    assert july["total"].actual == open_at_origin + created_later
    assert july["total"].month == date(2024, 7, 1)
    # The deals are regular: the forecast is near what happened, within its band.
    total = july["total"].milestones
    assert total.expected == pytest.approx(july["total"].actual, rel=0.3)
    assert total.p10 <= total.expected <= total.p90
    # Only the weighted pipeline forecasts the open deals alone; the run-rate the total alone.
    assert july["new"].weighted_pipeline is None and july["open"].naive_run_rate is None


def test_horizons_run_to_twelve_months_each_alone_and_cumulative() -> None:
    deals = _deals()
    points = backtest(deals, [ORIGIN], until=UNTIL, need=SMALL_NEED).points
    totals = [p for p in points if p.part == "total"]
    assert sorted({p.horizon for p in totals}) == list(range(1, 13))
    for h in range(1, 13):
        single = [p for p in totals if not p.cumulative and p.horizon <= h]
        (cumulative,) = [p for p in totals if p.cumulative and p.horizon == h]
        assert cumulative.actual == pytest.approx(sum(p.actual for p in single))
        assert cumulative.milestones.expected == pytest.approx(
            sum(p.milestones.expected for p in single)
        )
        assert cumulative.naive_run_rate == pytest.approx(
            sum(p.naive_run_rate or 0 for p in single)
        )
    # a horizon is scored only once its month is over
    early = backtest(deals, [ORIGIN], until=datetime(2024, 9, 15, tzinfo=UTC), need=SMALL_NEED)
    assert {p.horizon for p in early.points} == {1, 2}


def test_nothing_at_or_after_the_origin_is_used() -> None:
    """The forecasts from the whole history equal those from a history cut just before the
    origin, even with a deal created, advanced and won at the origin instant itself (a win
    dated on the origin's day) and every later outcome reversed."""
    deals = _deals()
    at_origin = DealHistory(
        9_000, 1, ORIGIN - timedelta(days=3), ((1, ORIGIN),), "won", ORIGIN, 5_000.0
    )
    created_at_origin = DealHistory(9_001, 1, ORIGIN, ((1, ORIGIN),), "won", ORIGIN, 7_000.0)
    deals += [at_origin, created_at_origin]
    stages = {d.key: [(d.created_at, PipelineDeal(d.amount, 10.0, ORIGIN.date()))] for d in deals}
    stages[at_origin.key].append((ORIGIN, PipelineDeal(9_999.0, 90.0, ORIGIN.date())))

    def pipeline_at(deal: DealHistory, moment: datetime) -> PipelineDeal | None:
        before = [value for at, value in stages[deal.key] if at < moment]
        return before[-1] if before else None

    full = backtest(deals, [ORIGIN], pipeline_at, until=UNTIL, need=SMALL_NEED).points

    def reversed_after_origin(d: DealHistory) -> DealHistory:
        if d.closed_at is None or d.closed_at < ORIGIN:
            return d
        before = tuple(r for r in d.reached if r[1] < ORIGIN)
        later = before or ((1, ORIGIN + timedelta(days=1)),)
        outcome = "lost" if d.outcome == "won" else "won"
        return replace(d, reached=later, outcome=outcome, amount=d.amount * 3)

    reversed_future = [reversed_after_origin(d) for d in deals]
    changed = backtest(reversed_future, [ORIGIN], pipeline_at, until=UNTIL, need=SMALL_NEED)
    cut = [k for k in (_known_before(d, ORIGIN) for d in deals) if k is not None]
    truncated = backtest(cut, [ORIGIN], pipeline_at, until=UNTIL, need=SMALL_NEED).points
    assert len(full) == len(truncated) == len(changed.points)
    for a, b, c in zip(full, truncated, changed.points, strict=True):
        for point in (b, c):
            assert (a.horizon, a.cumulative, a.part) == (
                point.horizon,
                point.cumulative,
                point.part,
            )
            assert a.milestones == pytest.approx(point.milestones)
            assert a.milestone_free == pytest.approx(point.milestone_free)
            assert a.weighted_pipeline == pytest.approx(point.weighted_pipeline)
            assert a.naive_run_rate == pytest.approx(point.naive_run_rate)
    # The deal won at the origin instant is open at the origin: its win is in July's actual,
    # and the pipeline stood as it did before the origin (probability 10 %, not 90 %).
    july = next(p for p in full if p.horizon == 1 and not p.cumulative and p.part == "open")
    assert july.actual >= 5_000.0
    without = backtest(deals[:-2], [ORIGIN], pipeline_at, until=UNTIL, need=SMALL_NEED).points
    july_without = next(
        p for p in without if p.horizon == 1 and not p.cumulative and p.part == "open"
    )
    assert july.weighted_pipeline == pytest.approx(
        (july_without.weighted_pipeline or 0) + 5_000.0 * 0.10
    )


def test_milestones_tell_winners_from_losers_the_age_alone_cannot() -> None:
    """Winners reach milestone 1 within five days: from then on the milestone forecast knows
    which open deal will be won, where deal age alone gives each the same third."""
    deals = _deals()
    origins = month_origins(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC))
    cells = summarise(backtest(deals, origins, until=UNTIL, need=SMALL_NEED).points)
    (open_july,) = [
        c for c in cells if (c.horizon_months, c.cumulative, c.part) == (1, False, "open")
    ]
    assert open_july.milestones.wape is not None and open_july.milestone_free.wape is not None
    assert open_july.milestones.wape < open_july.milestone_free.wape
    assert open_july.improvement("milestone_free") is not None
    assert open_july.weighted_pipeline is not None and open_july.naive_run_rate is None


def test_an_origin_with_too_little_history_is_skipped_and_says_what_it_needs() -> None:
    deals = _deals()
    early, late = datetime(2023, 3, 1, tzinfo=UTC), ORIGIN
    replay = backtest(deals, [early, late], until=UNTIL)
    (skipped,) = replay.skipped
    assert skipped.origin == early
    assert "the forecast needs at least 100 closed (20 won) over 180 days" in skipped.reason
    assert {p.origin for p in replay.points} == {late}
    # an origin whose first month is not over is skipped too
    assert backtest(deals, [UNTIL], until=UNTIL, need=SMALL_NEED).skipped[0].reason == (
        "its first month is not over yet"
    )


def test_a_selection_is_forecast_and_scored_alone() -> None:
    deals = _deals()
    north = {d.key for d in deals if d.team == "North"}
    everyone = backtest(deals, [ORIGIN], until=UNTIL, need=SMALL_NEED).points
    team = backtest(deals, [ORIGIN], until=UNTIL, need=SMALL_NEED, selected=north).points

    def total(points: list[BacktestPoint]) -> BacktestPoint:
        return next(p for p in points if p.horizon == 3 and p.cumulative and p.part == "total")

    assert 0 < total(team).actual < total(everyone).actual
    assert 0 < total(team).milestones.expected < total(everyone).milestones.expected


def _point(actual: float, band: Band, pipeline: float, naive: float) -> BacktestPoint:
    return BacktestPoint(
        ORIGIN, 1, False, "total", date(2024, 7, 1), actual, band, band, pipeline, naive
    )


def test_scores_by_hand() -> None:
    points = [
        _point(100.0, Band(90.0, 60.0, 120.0), 50.0, 80.0),
        _point(50.0, Band(70.0, 55.0, 85.0), 50.0, 80.0),
    ]
    (cell,) = summarise(points)
    ours = cell.milestones
    assert ours.wape == pytest.approx(0.2)  # (10 + 20) / 150
    assert ours.bias == pytest.approx(10 / 150, abs=1e-4)  # (-10 + 20) / 150
    assert ours.coverage_p10_p90 == 0.5  # 100 in [60, 120]; 50 below [55, 85]
    first = 0.1 * (100 - 60) + 0.5 * (100 - 90) + (1 - 0.9) * (120 - 100)
    second = (1 - 0.1) * (55 - 50) + (1 - 0.5) * (70 - 50) + (1 - 0.9) * (85 - 50)
    assert ours.pinball == pytest.approx((first + second) / (3 * 150), abs=1e-4)
    pipeline = cell.weighted_pipeline
    assert pipeline is not None and pipeline.wape == pytest.approx(50 / 150, abs=1e-4)
    assert pipeline.coverage_p10_p90 is None
    assert pipeline.pinball == pytest.approx(pipeline.wape / 2, abs=1e-4)
    naive = cell.naive_run_rate
    assert naive is not None and naive.wape == pytest.approx(50 / 150, abs=1e-4)
    assert cell.improvement("weighted_pipeline") == pytest.approx(0.4, abs=1e-3)


def test_the_history_chooses_a_short_half_life_when_the_market_changed() -> None:
    # A deal a day for two years, each closed 10 days after creation: the first year every
    # deal is won; from then on one in two. Forecasting the last months, a model that weighs
    # recent deals more (90 days) is right where one that weighs all alike expects 3 in 4.
    deals = [
        DealHistory(
            i,
            1,
            T0 + timedelta(days=i, hours=9),
            (),
            "won" if i < 365 or i % 2 else "lost",
            T0 + timedelta(days=i + 10, hours=9),
            100.0,
        )
        for i in range(730)
    ]
    as_of = T0 + timedelta(days=740)
    assert choose_half_life(deals, as_of, candidates=(None, 90.0), origins=3) == 90.0
    # The choice uses nothing known at or after its as-of: a later boom changes nothing.
    boom = [
        DealHistory(
            1000 + i, 1, as_of + timedelta(days=i), (), "won", as_of + timedelta(days=i + 1)
        )
        for i in range(60)
    ]
    assert choose_half_life(deals + boom, as_of, candidates=(None, 90.0), origins=3) == 90.0


def test_each_process_gets_the_half_life_its_own_history_prefers() -> None:
    # Process 1's market changed a year ago (every deal won, then one in two); process 2's
    # did not (every deal won). Scored on its own deals, each process chooses apart.
    changed = [
        DealHistory(
            i,
            1,
            T0 + timedelta(days=i, hours=9),
            (),
            "won" if i < 365 or i % 2 else "lost",
            T0 + timedelta(days=i + 10, hours=9),
            100.0,
        )
        for i in range(730)
    ]
    steady = [
        DealHistory(
            5000 + i,
            2,
            T0 + timedelta(days=i, hours=10),
            (),
            "won",
            T0 + timedelta(days=i + 10, hours=10),
            100.0,
        )
        for i in range(730)
    ]
    deals = changed + steady
    as_of = T0 + timedelta(days=740)
    mine = {d.key for d in changed}
    theirs = {d.key for d in steady}
    assert choose_half_life(deals, as_of, (None, 90.0), 3, selected=mine) == 90.0
    assert choose_half_life(deals, as_of, (None, 90.0), 3, selected=theirs) is None
    # The backtest takes one setting per process: "auto" is chosen at each origin on what
    # was known before it, a number is used as it is, and the replay says what was used.
    origin = T0 + timedelta(days=700)
    replay = backtest(deals, [origin], None, 1, until=as_of, half_life_days={1: "auto", 2: 200.0})
    known = [cut for d in deals if (cut := d.before(origin)) is not None]
    assert replay.half_lives[origin] == {
        1: choose_half_life(known, origin, selected=mine),
        2: 200.0,
    }
