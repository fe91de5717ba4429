"""Running HubSpot streams through the real engine into memory, and what the sandbox holds.

store = MemoryStore()
results = store.sync(reader_factory, specs)        # cursors persist between calls
assert store.records("emails") == expected_records(sandbox, "emails", ...)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.core import (
    ApiBudget,
    CursorState,
    Page,
    PageCounts,
    Quarantined,
    Record,
    RetryPolicy,
    StreamResult,
    StreamSpec,
    run_stream,
)
from connectors.hubspot import HubSpotAuth, HubSpotClient, HubSpotReader
from sandbox.crm import Sandbox, SandboxServer

__all__ = [
    "FAST_RETRY",
    "MemoryStore",
    "expected_associations",
    "make_reader",
    "mismatches",
]

FAST_RETRY = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05, jitter=0.01)


def make_reader(
    server: SandboxServer,
    budget: ApiBudget | None = None,
    *,
    token: str | None = None,
    retry: RetryPolicy = FAST_RETRY,
    **options: Any,
) -> HubSpotReader:
    info = server.connection_info()["hubspot"]
    auth = HubSpotAuth(access_token=info["access_token"] if token is None else token)
    client = HubSpotClient(
        info["base_url"], auth, budget or ApiBudget(), retry=retry, search_per_second=1000
    )
    return HubSpotReader(client, **options)


@dataclass
class MemoryStore:
    """The raw layer and cursors in memory, committed page by page like `DatabaseSink`."""

    rows: dict[tuple[str, str], Record] = field(default_factory=dict)
    quarantined: list[Quarantined] = field(default_factory=list)
    cursors: dict[str, tuple[datetime | None, dict[str, Any]]] = field(default_factory=dict)
    pages: int = 0

    def commit_page(self, spec: StreamSpec, page: Page, cursor: CursorState) -> PageCounts:
        new = changed = deleted = 0
        for record in page.records:
            key = (spec.name, record.external_id)
            before = self.rows.get(key)
            if before is not None and record.modified_at < before.modified_at:
                continue
            if before is None:
                new += 1
            elif before.payload != record.payload or before.deleted != record.deleted:
                changed += 1
                deleted += int(record.deleted and not before.deleted)
            self.rows[key] = record
        self.quarantined += page.quarantined
        self.cursors[spec.name] = (cursor.last_value, dict(cursor.resume))
        self.pages += 1
        return PageCounts(new=new, changed=changed, deleted=deleted)

    def sync(
        self,
        reader: HubSpotReader,
        specs: Iterable[StreamSpec],
        *,
        now: datetime | None = None,
        lookback: timedelta = timedelta(minutes=10),
        should_stop: Callable[[], bool] = lambda: False,
    ) -> dict[str, StreamResult]:
        now = now or datetime.now(UTC)
        results = {}
        budget = reader.client.budget
        for spec in specs:
            last, resume = self.cursors.get(spec.name, (None, {}))
            if spec.mode == "full_refresh":
                last, resume = None, {}
            cursor = CursorState.begin(last, lookback=lookback, now=now, resume=resume)
            results[spec.name] = run_stream(
                reader, spec, cursor, self, budget, should_stop=should_stop
            )
            if results[spec.name].stopped != "done":
                break
        return results

    def records(self, stream: str) -> dict[str, Record]:
        return {key[1]: record for key, record in self.rows.items() if key[0] == stream}


def expected_associations(
    sandbox: Sandbox, object_type: str, object_id: str, to_types: Iterable[str]
) -> dict[str, set[str]]:
    """The association ids the sandbox shows now (both ends present, stamps passed)."""
    now_ms = int(sandbox.now().timestamp() * 1000)
    found = {}
    for to_type in to_types:
        ids = set(sandbox.hubspot.associated(object_type, object_id, to_type, now_ms))
        if ids:
            found[to_type] = ids
    return found


def mismatches(
    rows: dict[tuple[str, str], tuple[dict[str, Any], bool]],
    sandbox: Sandbox,
    streams: Iterable[str],
) -> list[str]:
    """How the stored (payload, deleted) rows differ from the sandbox's objects now: ids,
    deletions, every stored property value, associations and dealstage history."""
    from connectors.hubspot.streams import stream_info

    problems: list[str] = []
    hub = sandbox.hubspot
    now_ms = int(sandbox.now().timestamp() * 1000)
    for stream in streams:
        stored = {ident: row for (s, ident), row in rows.items() if s == stream}
        if stream == "owners":
            expected_ids = set(hub.owners)
        elif stream == "pipelines":
            expected_ids = {str(p["id"]) for p in hub.pipelines}
        else:
            expected_ids = set(hub.objects[stream])
        if set(stored) != expected_ids:
            missing = sorted(expected_ids - set(stored))[:5]
            extra = sorted(set(stored) - expected_ids)[:5]
            problems.append(f"{stream}: missing {missing}, unexpected {extra}")
            continue
        if stream in ("owners", "pipelines"):
            continue
        info = stream_info(stream)
        for ident, (payload, deleted) in stored.items():
            obj = hub.objects[stream][ident]
            if deleted != obj.archived:
                problems.append(f"{stream} {ident}: deleted {deleted}, archived {obj.archived}")
            for name, value in payload["properties"].items():
                want = ident if name == "hs_object_id" else obj.properties.get(name)
                if value != want:
                    problems.append(f"{stream} {ident}: {name} {value!r} != {want!r}")
            links = {
                to_type: {item["id"] for item in group["results"]}
                for to_type, group in payload.get("associations", {}).items()
            }
            if links != expected_associations(sandbox, stream, ident, info.associations):
                problems.append(f"{stream} {ident}: associations {links}")
            for name in info.history:
                history = payload["propertiesWithHistory"][name]
                if history != hub.history_of(stream, obj, name, now_ms):
                    problems.append(f"{stream} {ident}: {name} history differs")
    return problems
