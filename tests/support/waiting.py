"""Waiting for a condition, never for a time: tests poll what they expect until it holds."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

__all__ = ["HANG_GUARD", "port_open", "wait_for"]

HANG_GUARD = 120.0
"""Seconds after which a wait gives up: a guard against a hang, not a duration under test."""


def wait_for(predicate: Callable[[], bool], timeout: float = HANG_GUARD, step: float = 0.1) -> bool:
    """Whether `predicate` came true before the hang guard ran out (polled every `step`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on `port` (to wait for a server, or to see a port taken)."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0
