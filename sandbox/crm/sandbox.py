"""The sandbox as one object: data, clock, sessions, faults and accounting, shared by both APIs.

sandbox = Sandbox.from_export("data/export")
sandbox.advance(hours=2)                     # future record versions appear
sandbox.faults.add(Fault("rate_limit", api="hubspot"))
sandbox.calls["salesforce.query"]            # how often a connector asked
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox.crm.accounting import CallCounter, RollingWindow
from sandbox.crm.clock import SandboxClock
from sandbox.crm.config import SandboxConfig
from sandbox.crm.faults import FaultPlan
from sandbox.crm.hubspot.auth import HubSpotTokens
from sandbox.crm.hubspot.store import HubSpotStore
from sandbox.crm.hubspot.webhooks import WebhookDispatcher
from sandbox.crm.loader import Manifest, load_export
from sandbox.crm.salesforce.auth import SessionRegistry
from sandbox.crm.salesforce.store import Record, SalesforceStore, ValidationRule

__all__ = ["Sandbox"]


class Sandbox:
    def __init__(
        self,
        salesforce: SalesforceStore,
        hubspot: HubSpotStore,
        now: datetime,
        config: SandboxConfig | None = None,
        *,
        speed: float = 0.0,
        manifest: Manifest | None = None,
    ) -> None:
        self.config = config or SandboxConfig()
        self.manifest = manifest
        self.salesforce = salesforce
        self.hubspot = hubspot
        self.salesforce.user_id = self.config.sf_user_id
        self.clock = SandboxClock(now, speed)
        self.sessions = SessionRegistry(self.config)
        self.hs_tokens = HubSpotTokens(self.config, self.clock.now)
        self.faults = FaultPlan()
        self.calls = CallCounter()
        self._usage_lock = threading.Lock()
        self.sf_api_used = 0
        self.sf_bulk_jobs_used = 0
        self.hs_daily_used = 0
        self.hs_window = RollingWindow(
            self.config.hs_ten_second_max, self.config.hs_ten_second_window
        )
        per_second = self.config.hs_search_per_second
        self.hs_search_window = RollingWindow(per_second, 1.0) if per_second else None
        self.webhooks = WebhookDispatcher(self.hubspot, self.config)
        self.clock.on_change(lambda _moment: self.catch_up())
        self.catch_up()

    @classmethod
    def from_export(
        cls,
        directory: Path | str,
        config: SandboxConfig | None = None,
        *,
        speed: float = 0.0,
        crms: tuple[str, ...] = ("salesforce", "hubspot"),
    ) -> Sandbox:
        loaded = load_export(directory, crms)
        return cls(
            loaded.salesforce,
            loaded.hubspot,
            loaded.manifest.now,
            config,
            speed=speed,
            manifest=loaded.manifest,
        )

    # time -----------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def catch_up(self) -> None:
        """Apply the future versions the clock has passed (cheap when there are none)."""
        now = self.clock.now()
        self.salesforce.apply_due(now)
        self.hubspot.apply_due(now)

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move sandbox time on: `advance(timedelta(hours=1))` or `advance(days=2)`."""
        return self.clock.advance(delta if delta is not None else timedelta(**parts))

    # sessions, rules, accounting ------------------------------------------------------
    def expire_sessions(self) -> int:
        return self.sessions.revoke_all()

    def add_validation_rule(
        self,
        object_name: str,
        message: str,
        condition: Callable[[Record], bool],
        *,
        error_field: str | None = None,
        name: str = "SandboxRule",
    ) -> ValidationRule:
        rule = ValidationRule(object_name, name, message, condition, error_field)
        with self.salesforce.lock:
            self.salesforce.validation_rules.append(rule)
        return rule

    def use_salesforce_call(self) -> int | None:
        """Count one call against the daily allowance; None once it is spent."""
        with self._usage_lock:
            if self.sf_api_used >= self.config.sf_daily_api_max:
                return None
            self.sf_api_used += 1
            return self.sf_api_used

    def use_bulk_job(self) -> bool:
        with self._usage_lock:
            if self.sf_bulk_jobs_used >= self.config.sf_daily_bulk_query_jobs_max:
                return False
            self.sf_bulk_jobs_used += 1
            return True

    def use_hubspot_daily(self) -> bool:
        with self._usage_lock:
            if self.hs_daily_used >= self.config.hs_daily_max:
                return False
            self.hs_daily_used += 1
            return True

    def reset_accounting(self) -> None:
        self.calls.reset()
        with self._usage_lock:
            self.sf_api_used = 0
            self.sf_bulk_jobs_used = 0
            self.hs_daily_used = 0
        self.hs_window.reset()
        if self.hs_search_window is not None:
            self.hs_search_window.reset()

    def status(self) -> dict[str, Any]:
        return {
            "now": self.clock.now().isoformat().replace("+00:00", "Z"),
            "speed": self.clock.speed,
            "salesforce": {
                name: len(rows) for name, rows in sorted(self.salesforce.tables.items())
            },
            "hubspot": {name: len(rows) for name, rows in sorted(self.hubspot.objects.items())},
            "pending": {
                "salesforce": self.salesforce.pending_count,
                "hubspot": self.hubspot.pending_count,
            },
            "calls": self.calls.snapshot(),
            "salesforce_api_used": self.sf_api_used,
        }
