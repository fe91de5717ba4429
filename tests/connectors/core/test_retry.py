"""Retries: only rate limits and transient faults, bounded, honouring Retry-After."""

from __future__ import annotations

import pytest

from connectors.core import MalformedResponse, RateLimited, TransientError
from connectors.core.retry import RetryPolicy

FAST = RetryPolicy(attempts=4, initial_wait=0.001, max_wait=0.002, jitter=0.001)


class Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "page"


def test_transient_faults_and_rate_limits_are_retried_until_success() -> None:
    flaky = Flaky([TransientError("503"), RateLimited("429", retry_after=0.001)])
    assert FAST.call(flaky) == "page"
    assert flaky.calls == 3


def test_retries_are_bounded() -> None:
    flaky = Flaky([TransientError("503")] * 10)
    with pytest.raises(TransientError):
        FAST.call(flaky)
    assert flaky.calls == 4


def test_other_errors_are_not_retried() -> None:
    flaky = Flaky([MalformedResponse("not JSON")])
    with pytest.raises(MalformedResponse):
        FAST.call(flaky)
    assert flaky.calls == 1


def test_retry_after_sets_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    flaky = Flaky([RateLimited("429", retry_after=2.5)])
    assert RetryPolicy(attempts=2).call(flaky) == "page"
    assert slept == [2.5]
