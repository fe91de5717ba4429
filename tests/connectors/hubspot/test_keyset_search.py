"""Incremental reads: every record changed since the cursor, once, whatever the volume.

The search is driven against a fake that behaves like HubSpot's: one sort, `after` as an offset
that may not pass 10,000 results, and data that can change between calls.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.core import StreamSpec
from connectors.hubspot.reader import HubSpotReader, epoch_ms
from connectors.hubspot.streams import hubspot_streams

EMAILS = hubspot_streams(["emails"])[0]
T0 = epoch_ms(datetime(2025, 3, 1, tzinfo=UTC))


def stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


class FakeSearch:
    """HubSpot search over (id, modified ms) pairs."""

    def __init__(self, rows: dict[int, int], cap: int = 10_000) -> None:
        self.rows = rows
        self.cap = cap
        self.requests: list[dict[str, Any]] = []
        self.before_call: Callable[[int], None] = lambda _n: None

    def search(self, object_type: str, request: dict[str, Any]) -> dict[str, Any]:
        self.before_call(len(self.requests))
        self.requests.append(request)
        after, limit = int(request.get("after", 0)), request["limit"]
        if after + limit > self.cap:
            raise AssertionError(f"paged past the {self.cap}-result cap")
        tests = {
            "GTE": lambda a, b: a >= b,
            "GT": lambda a, b: a > b,
            "EQ": lambda a, b: a == b,
        }

        def keep(ident: int, ms: int) -> bool:
            for flt in request["filterGroups"][0]["filters"]:
                value = ms if flt["propertyName"] == EMAILS.cursor_field else ident
                if not tests[flt["operator"]](value, int(flt["value"])):
                    return False
            return True

        chosen = sorted((ms, ident) for ident, ms in self.rows.items() if keep(ident, ms))
        if request["sorts"][0]["propertyName"] == "hs_object_id":
            chosen.sort(key=lambda pair: pair[1])
        page = chosen[after : after + limit]
        body: dict[str, Any] = {
            "total": len(chosen),
            "results": [
                {"id": str(ident), "properties": {EMAILS.cursor_field: stamp(ms)}}
                for ms, ident in page
            ],
        }
        if after + limit < len(chosen):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return body


def read_all(fake: FakeSearch, spec: StreamSpec = EMAILS, start: int = T0) -> list[str]:
    reader = HubSpotReader(fake)  # type: ignore[arg-type]
    start_at = datetime.fromtimestamp(start / 1000, UTC)
    ids = []
    for found, rejected in reader._found(spec, [spec.cursor_field], start_at):
        assert rejected == []
        ids += [obj["id"] for _ms, obj in found]
    return ids


def test_more_than_ten_thousand_changes_are_read_without_paging_past_the_cap() -> None:
    fake = FakeSearch({n: T0 + n * 1000 for n in range(1, 10_501)})
    ids = read_all(fake)
    assert ids == [str(n) for n in range(1, 10_501)]
    assert all("after" not in request for request in fake.requests)
    # each window re-reads only the record at its boundary: 10,500 / 199 windows, plus the last
    assert len(fake.requests) == 53


def test_a_bulk_update_at_one_timestamp_is_read_in_id_order_then_passed() -> None:
    rows = {n: T0 + 1000 for n in range(1, 101)}
    rows |= {n: T0 + 2000 for n in range(101, 10_601)}  # 10,500 records at one millisecond
    rows |= {n: T0 + 3000 for n in range(10_601, 10_651)}
    fake = FakeSearch(rows)
    ids = read_all(fake)
    assert sorted(ids, key=int) == [str(n) for n in range(1, 10_651)]
    assert len(ids) == len(set(ids))
    operators = [[f["operator"] for f in r["filterGroups"][0]["filters"]] for r in fake.requests]
    assert ["EQ", "GT"] in operators and ["GT"] in operators


def test_records_modified_during_the_read_move_to_the_end_and_nothing_is_skipped() -> None:
    fake = FakeSearch({n: T0 + n * 1000 for n in range(1, 1001)})

    def modify(call: int) -> None:
        if call == 2:  # after two pages: one record already read, one not yet, both change
            fake.rows[5] = T0 + 5_000_000
            fake.rows[700] = T0 + 5_000_001

    fake.before_call = modify
    ids = read_all(fake)
    assert set(ids) == {str(n) for n in range(1, 1001)}
    assert ids[-2:] == ["5", "700"]  # read again at their new place


@pytest.mark.parametrize("start", [T0, T0 + 500_500])
def test_the_window_starts_at_the_cursor_inclusive(start: int) -> None:
    fake = FakeSearch({n: T0 + n * 1000 for n in range(1, 1001)})
    ids = read_all(fake, start=start)
    first = -(-(start - T0) // 1000) or 1
    assert ids == [str(n) for n in range(first, 1001)]
    assert fake.requests[0]["filterGroups"][0]["filters"][0] == {
        "propertyName": "hs_lastmodifieddate",
        "operator": "GTE",
        "value": str(start),
    }
