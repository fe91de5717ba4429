"""Bounded retries with exponential backoff and jitter, honouring Retry-After.

    policy = RetryPolicy(attempts=5)
    page = policy.call(fetch_page)

Only `RateLimited` and `TransientError` are retried; everything else is a real answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from connectors.core.errors import RateLimited, TransientError

__all__ = ["RetryPolicy"]

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    initial_wait: float = 0.5
    max_wait: float = 30.0
    jitter: float = 0.5

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(error.retry_after, self.max_wait * 4)
        backoff = wait_exponential_jitter(
            multiplier=self.initial_wait, max=self.max_wait, jitter=self.jitter
        )
        return float(backoff(state))

    @staticmethod
    def _log(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "retrying after a transient CRM error",
            extra={"attempt": state.attempt_number, "error": str(error)},
        )

    def call(self, fn: Callable[[], T]) -> T:
        retrying = Retrying(
            retry=retry_if_exception_type((RateLimited, TransientError)),
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            before_sleep=self._log,
            reraise=True,
        )
        return retrying(fn)
