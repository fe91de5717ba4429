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
- record_error: not a request fault: single records of a write fail with the CRM's own
  per-record error (`code`, `message`), the rest of the call succeeds. It fails the records
  named in `ids`, or (without `ids`) counts records like requests (`after`, `every`, `times`).
  Salesforce answers it in the record's SaveResult (sObject Collections) or failedResults row
  (Bulk API 2.0 ingest); HubSpot in the `errors` of a 207 batch update answer.

    sandbox.faults.add(Fault("record_error", api="salesforce", ids=["006..."],
                             code="UNABLE_TO_LOCK_ROW"))

- invalid_value: a write carrying one of the records in `ids` is refused as a whole, as when
  a value breaks a property validation rule: HubSpot answers its batch update 400
  VALIDATION_ERROR ("Property values were not valid: ..."), without naming the record.
- job_failed: a Salesforce Bulk API 2.0 ingest job ends Failed when it runs, with `message`
  (default: the daily record allowance) as its errorMessage; none of its rows is processed.
  A query job is matched by `/jobs/query/<its object>` (path="/jobs/query/Contact") and ends
  Failed at its first status poll.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

__all__ = ["FAULT_KINDS", "Fault", "FaultKind", "FaultPlan", "parse_fault"]

FaultKind = Literal[
    "rate_limit",
    "daily_limit",
    "server_error",
    "unavailable",
    "expire_session",
    "slow",
    "reset",
    "record_error",
    "invalid_value",
    "job_failed",
]
FaultApi = Literal["salesforce", "hubspot", "any"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
_RECORD_KINDS = frozenset({"record_error", "invalid_value"})
_NOT_REQUEST_KINDS = _RECORD_KINDS | {"job_failed"}
RECORD_MESSAGES: dict[str, str] = {
    "UNABLE_TO_LOCK_ROW": "unable to obtain exclusive access to this record",
    "INSUFFICIENT_ACCESS_OR_READONLY": "insufficient access rights on object id",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": "The record does not pass a validation rule",
    "ENTITY_IS_DELETED": "entity is deleted",
    "CONFLICT": "The object was modified by another request; try again",
    "VALIDATION_ERROR": "The object does not pass the portal's validation",
    "MISSING_SCOPES": "You do not have permission to edit this object",
}
"""Default messages of per-record errors, in each CRM's words."""


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
    ids: list[str] | None = None
    """record_error: the records that fail (15- or 18-character Salesforce ids match alike)."""
    code: str = "UNABLE_TO_LOCK_ROW"
    """record_error: the Salesforce status code or HubSpot error category."""
    message: str | None = None
    seen: int = field(default=0, compare=False)
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(FAULT_KINDS)}")
        if self.api not in ("salesforce", "hubspot", "any"):
            raise ValueError(f"unknown api {self.api!r}; salesforce, hubspot or any")
        if self.every < 1 or self.after < 0 or (self.times is not None and self.times < 0):
            raise ValueError("every >= 1, after >= 0 and times >= 0 (or None)")
        if self.ids is not None and self.kind not in _RECORD_KINDS:
            raise ValueError("ids name the records of record_error and invalid_value faults only")

    @property
    def record_message(self) -> str:
        return self.message or RECORD_MESSAGES.get(self.code, "The record could not be saved")

    def names(self, record_id: str) -> bool:
        """Whether this record_error fault names the record (no `ids`: every record)."""
        if self.ids is None:
            return True
        return any(record_id == i or record_id[:15] == i[:15] for i in self.ids)

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
            return [
                f
                for f in self._faults
                if f.kind not in _NOT_REQUEST_KINDS and f.matches(api, path) and f.fire()
            ]

    def record_error(self, api: str, path: str, record_id: str) -> Fault | None:
        """The record_error fault that fails this record of a write, if one fires on it."""
        with self._lock:
            for fault in self._faults:
                if (
                    fault.kind == "record_error"
                    and fault.matches(api, path)
                    and fault.names(record_id)
                    and fault.fire()
                ):
                    return fault
        return None

    def invalid_value(self, api: str, path: str, record_ids: list[str]) -> str | None:
        """The first of these records an invalid_value fault refuses the write for, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.kind != "invalid_value" or not fault.matches(api, path):
                    continue
                for record_id in record_ids:
                    if fault.names(record_id) and fault.fire():
                        return record_id
        return None

    def job_failure(self, path: str) -> str | None:
        """The errorMessage a job_failed fault fails this Salesforce Bulk job with, if any."""
        with self._lock:
            for fault in self._faults:
                if (
                    fault.kind == "job_failed"
                    and fault.matches("salesforce", path)
                    and fault.fire()
                ):
                    return fault.message or (
                        "ExceededQuota : Daily limit of records processed by Bulk API exceeded"
                    )
        return None


def parse_fault(spec: str) -> Fault:
    """'kind[:key=value,...]', e.g. 'rate_limit:api=hubspot,every=5,times=none' or
    'record_error:api=salesforce,code=UNABLE_TO_LOCK_ROW,ids=006...|006...'."""
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
        elif key in ("api", "path", "code", "message"):
            values[key] = raw
        elif key == "ids":
            values[key] = [i for i in raw.split("|") if i]
        else:
            raise ValueError(f"unknown fault option {key!r}")
    return Fault(kind.strip(), **values)  # type: ignore[arg-type]
