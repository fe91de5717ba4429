"""Retries: rate limits and transient faults with backoff, an unreachable host once more at
once, nothing else; bounded, honouring Retry-After, and cut short by a stop."""

from __future__ import annotations

import threading

import pytest

from connectors.core import (
    AuthenticationError,
    ConnectorError,
    Interrupted,
    MalformedResponse,
    MissingPermission,
    RateLimited,
    TransientError,
    Unreachable,
)
from connectors.core.retry import PROCESS_STOPPING, RetryPolicy


class Waits(threading.Event):
    """A stop that is never set and records every wait instead of sleeping it."""

    def __init__(self, stop_at: int | None = None) -> None:
        super().__init__()
        self.waited: list[float] = []
        self.stop_at = stop_at

    def wait(self, timeout: float | None = None) -> bool:
        self.waited.append(timeout or 0.0)
        return self.stop_at is not None and len(self.waited) >= self.stop_at


def policy(waits: Waits | None = None, **options: float) -> RetryPolicy:
    return RetryPolicy(**options, stop=waits or Waits())  # type: ignore[arg-type]


class Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0
        self.called = threading.Event()

    def __call__(self) -> str:
        self.calls += 1
        self.called.set()
        if self.failures:
            raise self.failures.pop(0)
        return "page"


def test_transient_faults_and_rate_limits_are_retried_until_success() -> None:
    flaky = Flaky([TransientError("503"), RateLimited("429", retry_after=0.001)])
    assert policy(attempts=4).call(flaky) == "page"
    assert flaky.calls == 3


def test_retries_are_bounded() -> None:
    flaky = Flaky([TransientError("503")] * 10)
    with pytest.raises(TransientError):
        policy(attempts=4).call(flaky)
    assert flaky.calls == 4


@pytest.mark.parametrize(
    "error",
    [
        MalformedResponse("not JSON"),
        AuthenticationError("401"),
        MissingPermission("403"),
        ConnectorError("400"),
        Unreachable("no such name", "crm.invalid", "dns"),
        Unreachable("untrusted certificate", "crm.example", "tls"),
    ],
    ids=lambda error: type(error).__name__ + ":" + str(error),
)
def test_permanent_failures_are_not_retried(error: ConnectorError) -> None:
    flaky = Flaky([error] * 3)
    with pytest.raises(type(error)):
        policy().call(flaky)
    assert flaky.calls == 1


@pytest.mark.parametrize("cause", ["refused", "no answer", "network"])
def test_an_unreachable_host_gets_one_more_quick_attempt(cause: str) -> None:
    waits = Waits()
    flaky = Flaky([Unreachable("down", "crm.example", cause)] * 5)  # type: ignore[arg-type]
    with pytest.raises(Unreachable):
        policy(waits, quick_attempts=2, quick_wait=1.0).call(flaky)
    assert flaky.calls == 2
    assert waits.waited == [1.0]


def test_a_host_back_after_a_restart_is_caught_by_the_quick_attempt() -> None:
    flaky = Flaky([Unreachable("down", "crm.example", "refused")])
    assert policy().call(flaky) == "page"
    assert flaky.calls == 2


def test_retry_after_sets_the_wait() -> None:
    waits = Waits()
    flaky = Flaky([RateLimited("429", retry_after=2.5)])
    assert policy(waits, attempts=2).call(flaky) == "page"
    assert waits.waited == [2.5]


def test_a_stop_during_a_wait_ends_the_retries_without_another_attempt() -> None:
    flaky = Flaky([RateLimited("429", retry_after=60)] * 3)
    with pytest.raises(Interrupted, match="stopped on request"):
        policy(Waits(stop_at=1)).call(flaky)
    assert flaky.calls == 1


def test_a_stop_already_asked_makes_no_call() -> None:
    stop = threading.Event()
    stop.set()
    flaky = Flaky([])
    with pytest.raises(Interrupted):
        RetryPolicy(stop=stop).call(flaky)
    assert flaky.calls == 0


def test_setting_the_stop_wakes_a_waiting_retry_at_once() -> None:
    stop = threading.Event()
    flaky = Flaky([RateLimited("429", retry_after=600)] * 3)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            RetryPolicy(stop=stop).call(flaky)
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert flaky.called.wait(timeout=30)
    stop.set()
    thread.join(timeout=30)  # a hang guard: the wait is ten minutes long
    assert not thread.is_alive()
    assert [type(error) for error in outcome] == [Interrupted]
    assert flaky.calls == 1


def test_a_policy_without_a_stop_wakes_when_the_process_is_stopping() -> None:
    """The API server's SIGTERM sets `PROCESS_STOPPING`: a request waiting out a rate limit
    ends at once instead of holding the shutdown."""
    flaky = Flaky([RateLimited("429", retry_after=600)] * 3)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            RetryPolicy().call(flaky)
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert flaky.called.wait(timeout=30)
    PROCESS_STOPPING.set()
    try:
        thread.join(timeout=30)  # a hang guard: the wait is ten minutes long
        assert not thread.is_alive()
        assert [type(error) for error in outcome] == [Interrupted]
        with pytest.raises(Interrupted):  # and no new call starts
            RetryPolicy().call(Flaky([]))
    finally:
        PROCESS_STOPPING.clear()


def test_with_stop_keeps_the_bounds() -> None:
    stop = threading.Event()
    base = RetryPolicy(attempts=3, quick_attempts=1)
    assert base.with_stop(stop).stop is stop
    assert base.with_stop(stop) == base
