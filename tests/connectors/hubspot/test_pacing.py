"""The pacer keeps a sync inside the rolling window instead of bouncing off it."""

from __future__ import annotations

from connectors.hubspot.pacing import Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_calls_within_the_allowance_do_not_wait_and_the_next_waits_for_the_window() -> None:
    time = FakeTime()
    pacer = Pacer(10, 1.0, margin=0.0, clock=time.clock, sleep=time.sleep)
    for _ in range(10):
        pacer.wait()
        time.now += 0.01
    assert time.slept == []
    pacer.wait()  # the 11th call within a second waits until the first one leaves the window
    assert time.slept == [0.91]


def test_the_limit_reported_by_headers_is_adopted_with_a_margin() -> None:
    time = FakeTime()
    pacer = Pacer(100, 10.0, clock=time.clock, sleep=time.sleep)
    pacer.learn(max_calls=20, interval_ms=2000, remaining=15)
    assert (pacer.limit, pacer.seconds, pacer.allowance) == (20, 2.0, 18)
    for _ in range(18):
        pacer.wait()
    assert time.slept == []
    pacer.wait()
    assert time.slept == [2.01]


def test_an_empty_window_shared_with_others_slows_down_by_one_slot() -> None:
    time = FakeTime()
    pacer = Pacer(100, 10.0, clock=time.clock, sleep=time.sleep)
    pacer.learn(max_calls=100, interval_ms=10_000, remaining=0)
    pacer.wait()
    assert time.slept == [0.1]
