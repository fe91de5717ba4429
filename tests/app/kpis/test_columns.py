"""The columnar KPI math equals the pure-Python reference on random histories."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from app.kpis.columns import (
    DealColumns,
    aj_arrays,
    conversion_columns,
    conversion_presorted,
    epoch,
    fit_model_columns,
    presort_conversion,
)
from app.kpis.conversion import WON_TARGET, conversion
from app.kpis.history import DealHistory
from app.kpis.incidence import aalen_johansen
from app.kpis.model import fit_model

T0 = datetime(2024, 1, 1, tzinfo=UTC)
AS_OF = datetime(2025, 1, 1, tzinfo=UTC)


def random_deals(n: int, seed: int) -> list[DealHistory]:
    rng = random.Random(seed)
    deals = []
    for i in range(n):
        created = T0 + timedelta(hours=rng.randrange(0, 24 * 420))
        reached = []
        at = created
        for position in range(1, 5):
            if rng.random() < 0.3:
                continue  # skipped milestone
            at = at + timedelta(hours=rng.randrange(-30, 24 * 40))
            reached.append((position, at))
        if rng.random() < 0.2 and reached:  # a lower milestone reached late: not an advance
            reached.append((1, at + timedelta(days=3)))
        reached.sort(key=lambda r: r[1])
        first: dict[int, datetime] = {}
        for position, when in reached:
            first.setdefault(position, when)
        steps = tuple(sorted(first.items(), key=lambda r: r[1]))
        roll = rng.random()
        closed = at + timedelta(days=rng.randrange(0, 60)) if roll < 0.7 else None
        outcome = "open" if closed is None else ("won" if roll < 0.3 else "lost")
        deals.append(
            DealHistory(
                key=i + 1,
                process=None if rng.random() < 0.05 else 1 + i % 2,
                created_at=created,
                reached=steps,
                outcome=outcome,
                closed_at=closed,
                amount=float(rng.randrange(1000, 9000)),
                owner=i % 3,
                team="North" if i % 3 else "South",
            )
        )
    return deals


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stays_equal_the_reference(seed: int) -> None:
    deals = random_deals(300, seed)
    cols = DealColumns.from_histories(deals, 5)
    stays = cols.stays(epoch(AS_OF))
    got = sorted(
        zip(
            stays.row.tolist(),
            stays.position.tolist(),
            np.round(stays.start).tolist(),
            np.round(stays.end).tolist(),
            stays.ending.tolist(),
            strict=True,
        )
    )
    endings = {"open": 0, "won": 1, "lost": 2, "advanced": 3}
    want = sorted(
        (i, s.position, round(epoch(s.start)), round(epoch(s.end)), endings[s.ending])
        for i, d in enumerate(deals)
        for s in d.stays(AS_OF)
    )
    assert got == want


@pytest.mark.parametrize("seed", [1, 2])
def test_positions_equal_the_reference(seed: int) -> None:
    deals = random_deals(300, seed)
    cols = DealColumns.from_histories(deals, 5)
    moment = AS_OF - timedelta(days=100)
    position, since = cols.position_at(epoch(moment))
    for i, deal in enumerate(deals):
        want_position, want_since = deal.position_at(moment)
        assert (position[i], since[i]) == (want_position, epoch(want_since))


@pytest.mark.parametrize("seed", [1, 2])
def test_fitted_model_equals_the_reference(seed: int) -> None:
    deals = random_deals(400, seed)
    cols = DealColumns.from_histories(deals, 5)
    want = fit_model(deals, AS_OF, min_sample=10)
    got = fit_model_columns(cols, epoch(AS_OF), min_sample=10)
    assert got.leave_counts == want.leave_counts


@pytest.mark.parametrize("target", [2, 3, WON_TARGET])
def test_conversion_equals_the_reference(target: int) -> None:
    deals = random_deals(400, 5)
    cols = DealColumns.from_histories(deals, 5)
    mask = cols.team == cols.team[0]
    chosen = [d for d, m in zip(deals, mask.tolist(), strict=True) if m]
    for position in (0, 1, 2):
        want = conversion(chosen, position, target, AS_OF)
        got = conversion_columns(cols, mask, position, target, epoch(AS_OF))
        assert (got.reached, got.converted, got.failed, got.censored) == (
            want.reached,
            want.converted,
            want.failed,
            want.censored,
        )
        assert got.estimate == pytest.approx(want.estimate, abs=1e-12)
        table = presort_conversion(cols, position, target, epoch(AS_OF))
        fast = conversion_presorted(table, mask)
        assert (fast.reached, fast.converted, fast.failed, fast.censored) == (
            want.reached,
            want.converted,
            want.failed,
            want.censored,
        )
        assert fast.estimate == pytest.approx(want.estimate, abs=1e-12)


def test_aalen_johansen_over_arrays_equals_the_reference() -> None:
    rng = random.Random(9)
    data = [(float(rng.randrange(0, 30)), rng.choice((0, 1, 2))) for _ in range(500)]
    want = aalen_johansen(data)
    got = aj_arrays(np.array([d for d, _ in data]), np.array([c for _, c in data]))
    assert got.times.tolist() == list(want.times)
    assert got.survival.tolist() == pytest.approx(list(want.survival), abs=1e-12)
    assert got.eventual(1) == pytest.approx(want.eventual(1), abs=1e-12)
    assert got.quantile(1, 0.5, among_cause=True) == want.quantile(1, 0.5, among_cause=True)


def test_rows_are_taken_assigned_joined_and_widened_column_by_column() -> None:
    deals = random_deals(6, 9)
    cols = DealColumns.from_histories(deals, 5)
    picked = cols.take(np.array([4, 1], dtype=np.int64))
    assert picked.key.tolist() == [5, 2]
    assert np.array_equal(picked.reach, cols.reach[[4, 1]], equal_nan=True)
    copy = cols.take(np.arange(len(cols)))
    copy.assign(np.array([0], dtype=np.int64), picked, np.array([1], dtype=np.int64))
    assert copy.key.tolist() == [2, 2, 3, 4, 5, 6] and cols.key[0] == 1
    assert copy.amount[0] == cols.amount[1]
    joined = DealColumns.concatenate([cols, picked])
    assert joined.key.tolist() == [1, 2, 3, 4, 5, 6, 5, 2]
    wide = picked.widened(7)
    assert wide.positions == 7 and np.isnan(wide.reach[:, 5:]).all()
    assert np.array_equal(wide.reach[:, :5], picked.reach, equal_nan=True)
    assert picked.widened(3) is picked


@pytest.mark.parametrize("days", [30, 90, 200, 365])
def test_a_cut_equals_the_reference_histories_as_they_were_known_then(days: int) -> None:
    deals = random_deals(400, 7)
    cols = DealColumns.from_histories(deals, 5)
    moment = T0 + timedelta(days=days)
    known = [cut for d in deals if (cut := d.as_of(moment)) is not None]
    want = DealColumns.from_histories(known, 5)
    got, rows = cols.as_of(epoch(moment))
    assert got.key.tolist() == want.key.tolist() == [d.key for d in known]
    for name in ("process", "created", "closed", "outcome", "amount", "reach"):
        assert np.array_equal(getattr(got, name), getattr(want, name), equal_nan=True), name
    for name in ("owner", "team", "segment", "connection"):
        assert np.array_equal(getattr(got, name), getattr(cols, name)[rows]), name
    fitted = fit_model_columns(got, epoch(moment), min_sample=10)
    reference = fit_model(known, moment, min_sample=10)
    assert fitted.leave_counts == reference.leave_counts
