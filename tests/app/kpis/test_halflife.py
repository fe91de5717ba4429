"""Each process's recency half-life: as ops write it, what it resolves to and why, and a
model fitted with one half-life per process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.kpis.halflife import HalfLife, parse_half_life, resolve
from app.kpis.history import DealHistory
from app.kpis.winmodel import fit_win_model_histories

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_ops_write_days_none_or_auto() -> None:
    assert parse_half_life("180") == 180.0
    assert parse_half_life(" 90.5 ") == 90.5
    assert parse_half_life("None") == "none"
    assert parse_half_life("auto") == "auto"
    for bad in ("0", "-30", "soon", "", "nan", "inf"):
        with pytest.raises(ValueError, match="a number of days above 0"):
            parse_half_life(bad)


def test_a_setting_resolves_to_days_and_says_why() -> None:
    def never() -> float | None:
        raise AssertionError("only auto asks the backtest")

    assert resolve(None, never) == HalfLife(365.0, "default")
    assert resolve(120.0, never) == HalfLife(120.0, "set")
    assert resolve("none", never) == HalfLife(None, "set")
    assert resolve("auto", lambda: 90.0) == HalfLife(90.0, "auto")
    assert resolve("auto", lambda: None) == HalfLife(None, "auto")


def test_each_process_weighs_its_deals_by_its_own_half_life() -> None:
    # Two processes, each with a deal created 90 days before the as-of and one created now.
    as_of = T0 + timedelta(days=90)
    deals = [
        DealHistory(1, 1, T0, (), "won", T0 + timedelta(days=5), 10.0),
        DealHistory(2, 1, as_of, (), "open", None, 10.0),
        DealHistory(3, 2, T0, (), "won", T0 + timedelta(days=5), 10.0),
        DealHistory(4, 2, as_of, (), "open", None, 10.0),
        DealHistory(5, 3, T0, (), "lost", T0 + timedelta(days=5), 10.0),
    ]
    model = fit_win_model_histories(deals, as_of.timestamp(), {1: 90.0, 2: None})
    # Process 1: the old deal counts half; process 2: every deal alike; process 3, not
    # listed: the default year (0.5 ** (90 / 365)).
    assert sorted(model.stays[(1, 0)].weight.tolist()) == pytest.approx([0.5, 1.0])
    assert model.stays[(2, 0)].weight.tolist() == pytest.approx([1.0, 1.0])
    assert model.stays[(3, 0)].weight.tolist() == pytest.approx([0.5 ** (90 / 365)])
    # Every process at a milestone (the parent of thin cells) keeps each stay's own weight.
    assert sorted(model.stays[(None, 0)].weight.tolist()) == pytest.approx(
        sorted([0.5, 1.0, 1.0, 1.0, 0.5 ** (90 / 365)])
    )
