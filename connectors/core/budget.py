"""API-call accounting: every request a connector makes is counted here, and the CRM's own
quota headers tell when to stop before the daily limit is spent."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ApiBudget"]


@dataclass
class ApiBudget:
    """Calls and bytes spent by one run, and the daily quota as the CRM last reported it.

    `max_share` is the share of the daily quota this product may use up; once the CRM reports
    usage at or above it, `exhausted` turns true and the engine stops after the current page.
    """

    max_share: float = 0.9
    calls: int = 0
    bytes_received: int = 0
    quota_used: int | None = None
    quota_limit: int | None = None

    def record(self, nbytes: int = 0, *, used: int | None = None, limit: int | None = None) -> None:
        self.calls += 1
        self.bytes_received += nbytes
        if used is not None and limit:
            self.quota_used, self.quota_limit = used, limit

    def add_bytes(self, nbytes: int) -> None:
        """Bytes of a streamed answer, counted as they are read (its call is already counted)."""
        self.bytes_received += nbytes

    def record_remaining(self, remaining: int, limit: int) -> None:
        """For CRMs that report what is left (HubSpot's daily headers)."""
        self.quota_used, self.quota_limit = limit - remaining, limit

    @property
    def exhausted(self) -> bool:
        if self.quota_used is None or not self.quota_limit:
            return False
        return self.quota_used >= self.max_share * self.quota_limit

    def describe(self) -> str:
        if self.quota_used is None or not self.quota_limit:
            return f"{self.calls} API calls"
        return (
            f"{self.calls} API calls; daily quota {self.quota_used:,}/{self.quota_limit:,} used "
            f"(stop at {self.max_share:.0%})"
        )
