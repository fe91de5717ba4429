"""Saving checked updates, shared by every Salesforce write path of the sandbox.

sObject Collections and Bulk API 2.0 ingest jobs save records the same way: each planned
update either carries its errors (from `SalesforceStore.plan_update`) or is applied with the
platform's side effects (SystemModstamp, derived fields, history). A `record_error` fault can
fail single records here, so both paths answer it in their own shape.

    plans = [PlannedUpdate("Opportunity", record_id, *store.plan_update(...)), ...]
    errors = save_updates(sandbox, "/services/data/v59.0/composite/sobjects", plans)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.crm.salesforce.store import RecordError
from sandbox.crm.sandbox import Sandbox

__all__ = ["PlannedUpdate", "save_updates"]

_ROLLED_BACK = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
    [],
)


@dataclass
class PlannedUpdate:
    object_name: str
    record_id: str
    changes: dict[str, Any] | None
    errors: list[RecordError]


def save_updates(
    sandbox: Sandbox, path: str, plans: list[PlannedUpdate], all_or_none: bool = False
) -> list[list[RecordError]]:
    """Apply every plan without errors; one error list per plan, in order (empty: saved).

    The caller holds the store's lock. With `all_or_none`, one failure saves nothing.
    """
    for plan in plans:
        if plan.errors or not plan.record_id:
            continue
        fault = sandbox.faults.record_error("salesforce", path, plan.record_id)
        if fault is not None:
            plan.errors = [RecordError(fault.code, fault.record_message, [])]
    failed = any(plan.errors for plan in plans)
    now = sandbox.now()
    results: list[list[RecordError]] = []
    for plan in plans:
        if plan.errors:
            results.append(plan.errors)
        elif all_or_none and failed:
            results.append([_ROLLED_BACK])
        else:
            assert plan.changes is not None
            sandbox.salesforce.apply_update(plan.object_name, plan.record_id, plan.changes, now)
            results.append([])
    return results
