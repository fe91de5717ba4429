"""How much history the milestone forecast needs, from the history's own win rates, on
cases worked out by hand (n* = 2 V / B: V what estimating a rate per milestone costs, B the
spread of the rates between milestones)."""

from __future__ import annotations

import numpy as np

from app.kpis.sufficiency import sufficiency


def _cells(*cells: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(process, position, closed, won) per cell -> one entry per closed deal."""
    process, position, won = [], [], []
    for owner, at, closed, wins in cells:
        process += [owner] * closed
        position += [at] * closed
        won += [True] * wins + [False] * (closed - wins)
    return (
        np.array(process, dtype=np.int64),
        np.array(position, dtype=np.int64),
        np.array(won, dtype=bool),
    )


def test_milestones_that_separate_clearly_need_little_history() -> None:
    # 2 of 10 won at milestone 1, 8 of 10 at milestone 2: process rate 0.5.
    # B = 0.5 * 0.3² * 2 = 0.09; V = 0.16 + 0.16 - 0.25 = 0.07; n* = 0.14 / 0.09 -> 2.
    found = sufficiency(*_cells((1, 1, 10, 2), (1, 2, 10, 8)))
    assert (found.closed, found.won, found.needed, found.more) == (20, 10, 2, 0)
    assert abs(found.spread - 0.09) < 1e-12 and abs(found.cost - 0.07) < 1e-12
    assert found.enough and found.shortfall() is None


def test_milestones_that_barely_differ_need_more_and_say_how_many() -> None:
    # 4 of 10 and 6 of 10: B = 0.01, V = 0.24 + 0.24 - 0.25 = 0.23, n* = 46: 26 more.
    found = sufficiency(*_cells((1, 1, 10, 4), (1, 2, 10, 6)))
    assert (found.needed, found.more, found.enough) == (46, 26, False)
    said = found.shortfall()
    assert said is not None and "20 closed opportunities (10 won)" in said
    assert "needs about 26 more closed opportunities" in said
    # The same rates over 50 closed deals are enough.
    assert sufficiency(*_cells((1, 1, 25, 10), (1, 2, 25, 15))).enough


def test_a_process_without_milestones_costs_nothing_but_dilutes_the_spread() -> None:
    # Process 2 has every deal at creation (one rate, as the milestone-free model): V adds
    # 0.25 - 0.25 = 0 from it, while its deals halve the shares of process 1's cells:
    # B = 0.25 * 0.01 * 2 = 0.005, V = 0.23, n* = 92.
    found = sufficiency(*_cells((1, 1, 10, 4), (1, 2, 10, 6), (2, 0, 20, 10)))
    assert (found.closed, found.needed, found.more) == (40, 92, 52)
    alone = sufficiency(*_cells((2, 0, 20, 10)))
    assert (alone.needed, alone.enough) == (0, True)


def test_what_history_cannot_tell_yet() -> None:
    none_won = sufficiency(*_cells((1, 1, 10, 0), (1, 2, 5, 0)))
    assert none_won.needed is None and not none_won.enough
    assert "no won one yet" in (none_won.shortfall() or "")
    none_lost = sufficiency(*_cells((1, 1, 3, 3)))
    assert "no lost one yet" in (none_lost.shortfall() or "")
    alike = sufficiency(*_cells((1, 1, 10, 5), (1, 2, 10, 5)))
    assert alike.needed is None and "do not differ yet" in (alike.shortfall() or "")
    empty = sufficiency(*_cells())
    assert (empty.closed, empty.enough) == (0, False)
