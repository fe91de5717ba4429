"""How much history the milestone forecast needs, from the history's own win rates, on
cases worked out by hand: n* = n * 2N / B, B what the milestones tell apart, N what
estimating one rate per milestone costs (each rate moved by half a deal)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from app.kpis.sufficiency import closing_median, sufficiency

Deals = tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]


def _deals(*groups: tuple[int, int, int, int]) -> Deals:
    """(process, highest milestone reached, closed, won) per group -> one row per deal."""
    process, reached, won = [], [], []
    for owner, highest, closed, wins in groups:
        process += [owner] * closed
        reached += [[p <= highest for p in range(3)]] * closed
        won += [True] * wins + [False] * (closed - wins)
    return (
        np.array(process, dtype=np.int64),
        np.array(reached, dtype=bool).reshape(-1, 3),
        np.array(won, dtype=bool),
    )


def _noise(wins: float, deals: float) -> float:
    rate = (wins + 0.5) / (deals + 1)
    return rate * (1 - rate) / deals


def test_milestones_that_separate_clearly_need_little_history() -> None:
    # 10 deals never replied (1 won), 10 replied (7 won). Predictions: 20 at creation
    # (rate 0.4), 10 at the reply (0.7): B = 1/3 * 0.3² = 0.03;
    # N = 2/3 * noise(8, 20) + 1/3 * noise(7, 10) - noise(8, 20) = 1/3 (0.02169 - 0.01205).
    found = sufficiency(*_deals((1, 0, 10, 1), (1, 1, 10, 7)))
    cost = (_noise(7, 10) - _noise(8, 20)) / 3
    assert found.spread == pytest.approx(0.03) and found.cost == pytest.approx(cost)
    assert found.needed == math.ceil(20 * 2 * cost / 0.03) == 5
    assert (found.closed, found.won, found.more, found.enough) == (20, 8, 0, True)
    assert found.shortfall() is None


def test_milestones_that_barely_differ_need_more_and_say_how_many() -> None:
    # 4 of 10 won without a reply, 6 of 10 with one: rates 0.5 and 0.6, B = 1/3 * 0.01;
    # N = 1/3 (noise(6, 10) - noise(10, 20)) = 1/3 (0.024174 - 0.0125): n* = 46.7 -> 47.
    found = sufficiency(*_deals((1, 0, 10, 4), (1, 1, 10, 6)))
    assert (found.needed, found.more, found.enough) == (47, 27, False)
    said = found.shortfall()
    assert said is not None and "20 closed opportunities (10 won)" in said
    assert "needs about 27 more closed opportunities" in said
    # The same rates over 100 closed deals: the noise is a fifth, and that is enough.
    more = sufficiency(*_deals((1, 0, 50, 20), (1, 1, 50, 30)))
    assert more.needed == 47 and more.enough


def test_a_process_without_milestones_costs_nothing_but_dilutes_the_spread() -> None:
    # Process 2's 20 deals never reach a milestone: one rate, as the milestone-free model,
    # so it adds no cost, while its 20 predictions take shares from process 1's cells:
    # B = 10/50 * 0.01, N = 10/50 * (noise(6, 10) - noise(10, 20)), n* = 40 * 2N / B.
    found = sufficiency(*_deals((1, 0, 10, 4), (1, 1, 10, 6), (2, 0, 20, 10)))
    cost = (_noise(6, 10) - _noise(10, 20)) / 5
    assert found.needed == math.ceil(40 * 2 * cost / 0.002) == 94
    assert found.more == 54
    alone = sufficiency(*_deals((2, 0, 20, 10)))
    assert (alone.needed, alone.enough) == (0, True)


def test_what_history_cannot_tell_yet() -> None:
    none_won = sufficiency(*_deals((1, 0, 10, 0), (1, 1, 5, 0)))
    assert none_won.needed is None and not none_won.enough
    assert "no won one yet" in (none_won.shortfall() or "")
    none_lost = sufficiency(*_deals((1, 1, 3, 3)))
    assert "no lost one yet" in (none_lost.shortfall() or "")
    alike = sufficiency(*_deals((1, 0, 10, 5), (1, 1, 10, 5)))
    assert alike.needed is None and "do not differ yet" in (alike.shortfall() or "")
    empty = sufficiency(*_deals())
    assert (empty.closed, empty.enough) == (0, False)


def test_closed_deals_stand_for_the_rest_only_once_half_have_closed() -> None:
    # Four deals: closed after 10 and 30 days, two open for 20 and 40 days so far. S drops
    # to 3/4 on day 10, the deal open at 20 leaves the risk set, and to 3/4 * 1/2 on day 30.
    days = np.array([10.0, 30.0, 20.0, 40.0])
    assert closing_median(days, np.array([True, True, False, False])) == 30.0
    # Only the fast one closed: fewer than half known to close, so not enough whatever the
    # rates, and the answer says why.
    assert closing_median(days, np.array([True, False, False, False])) is None
    found = sufficiency(*_deals((1, 0, 10, 1), (1, 1, 10, 7)), None)
    assert found.needed == 5 and not found.enough
    assert "fewer than half the opportunities created have closed" in (found.shortfall() or "")
