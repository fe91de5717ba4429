"""Faults a test (or the admin endpoint, or `sandbox up --faults`) switches on.

    sandbox.faults.add(Fault("rate_limit", api="hubspot", times=2))
    sandbox.faults.add(Fault("expire_session", api="salesforce", path="/query/01g", after=1))
    sandbox.faults.add(Fault("reset", path="/crm/v3/objects/deals", every=3, times=None))

A fault matches requests of its api whose path contains `path`; of those it lets `after` pass,
then fires on every `every`-th one, `times` times in all (None: forever). Kinds:

- rate_limit: HubSpot 429 TEN_SECONDLY_ROLLING; Salesforce 403 REQUEST_LIMIT_EXCEEDED
  (ConcurrentPerOrgLongTxn). Both carry Retry-After unless retry_after is None. Note that
  urllib3 inside hubspot-api-client retries a 429/503 that carries Retry-After by itself (three
  times by default); use retry_after=None for the client to see the error at once.
- daily_limit: HubSpot 429 DAILY; Salesforce 403 REQUEST_LIMIT_EXCEEDED (TotalRequests).
- server_error / unavailable: 500 / 503 in each API's error shape.
- expire_session: every Salesforce session is revoked (the request then answers 401
  INVALID_SESSION_ID); HubSpot answers 401 EXPIRED_AUTHENTICATION.
- slow: the response is delayed by `delay` seconds.
- reset: the connection is reset (TCP RST) without a response.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

__all__ = ["FAULT_KINDS", "Fault", "FaultKind", "FaultPlan", "parse_fault"]

FaultKind = Literal[
    "rate_limit", "daily_limit", "server_error", "unavailable", "expire_session", "slow", "reset"
]
FaultApi = Literal["salesforce", "hubspot", "any"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)


@dataclass
class Fault:
    kind: FaultKind
    api: FaultApi = "any"
    path: str | None = None
    after: int = 0
    every: int = 1
    times: int | None = 1
    retry_after: float | None = 1.0
    delay: float = 0.5
    seen: int = field(default=0, compare=False)
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(FAULT_KINDS)}")
        if self.api not in ("salesforce", "hubspot", "any"):
            raise ValueError(f"unknown api {self.api!r}; salesforce, hubspot or any")
        if self.every < 1 or self.after < 0 or (self.times is not None and self.times < 0):
            raise ValueError("every >= 1, after >= 0 and times >= 0 (or None)")

    def matches(self, api: str, path: str) -> bool:
        return self.api in ("any", api) and (self.path is None or self.path in path)

    def fire(self) -> bool:
        """Count one matching request; True when the fault fires on it."""
        self.seen += 1
        position = self.seen - self.after
        if position <= 0 or (position - 1) % self.every:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.fired += 1
        return True

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultPlan:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def fired(self, api: str, path: str) -> list[Fault]:
        """The faults that fire on this request (each matching fault counts it)."""
        with self._lock:
            return [f for f in self._faults if f.matches(api, path) and f.fire()]


def parse_fault(spec: str) -> Fault:
    """'kind[:key=value,...]', e.g. 'rate_limit:api=hubspot,every=5,times=none'."""
    kind, _, rest = spec.partition(":")
    values: dict[str, Any] = {}
    for part in filter(None, rest.split(",")):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"fault option {part!r} is not key=value")
        if key in ("after", "every"):
            values[key] = int(raw)
        elif key == "times":
            values[key] = None if raw.lower() in ("none", "always", "forever") else int(raw)
        elif key == "retry_after":
            values[key] = None if raw.lower() == "none" else float(raw)
        elif key == "delay":
            values[key] = float(raw)
        elif key in ("api", "path"):
            values[key] = raw
        else:
            raise ValueError(f"unknown fault option {key!r}")
    return Fault(kind.strip(), **values)  # type: ignore[arg-type]
