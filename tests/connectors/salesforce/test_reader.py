"""The Salesforce reader's pure parts: SOQL it sends, pages it builds, rows it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.core import CursorState, StreamSpec
from connectors.salesforce.reader import SalesforceReader, soql_datetime
from connectors.salesforce.streams import salesforce_streams

TASK = StreamSpec("Task", "Task", "SystemModstamp", fields=("Id", "SystemModstamp", "Subject"))
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def reader() -> SalesforceReader:
    return SalesforceReader(client=None)  # type: ignore[arg-type]


def test_soql_literals_are_utc_with_milliseconds() -> None:
    moment = datetime(2025, 3, 4, 10, 15, 0, 123999, tzinfo=UTC)
    assert soql_datetime(moment) == "2025-03-04T10:15:00.123Z"


def test_a_first_read_has_no_filter_and_pages_in_cursor_order() -> None:
    cursor = CursorState.begin(None, lookback=timedelta(minutes=10), now=NOW)
    soql = reader().soql(TASK, ["Id", "SystemModstamp", "Subject"], cursor)
    assert (
        soql == "SELECT Id, SystemModstamp, Subject FROM Task ORDER BY SystemModstamp ASC, Id ASC"
    )


def test_later_reads_filter_from_the_frozen_start() -> None:
    cursor = CursorState.begin(NOW, lookback=timedelta(minutes=10), now=NOW + timedelta(hours=1))
    soql = reader().soql(TASK, ["Id"], cursor)
    assert "WHERE SystemModstamp >= 2026-03-01T11:50:00.000Z ORDER BY" in soql


def test_rows_missing_an_id_or_a_readable_timestamp_are_quarantined() -> None:
    rows = [
        {"Id": "00T1", "SystemModstamp": "2025-03-04T10:15:00.000+0000", "IsDeleted": False},
        {"Id": "00T2", "SystemModstamp": "2025-03-04T10:16:00.000+0000", "IsDeleted": True},
        {"SystemModstamp": "2025-03-04T10:17:00.000+0000"},
        {"Id": "00T4"},
        {"Id": "00T5", "SystemModstamp": "yesterday"},
        "not a record",
    ]
    page = reader()._to_page(TASK, rows)  # type: ignore[arg-type]
    assert [(r.external_id, r.deleted) for r in page.records] == [("00T1", False), ("00T2", True)]
    assert [(q.external_id, q.reason) for q in page.quarantined] == [
        (None, "missing Id"),
        ("00T4", "missing SystemModstamp"),
        ("00T5", "unreadable SystemModstamp 'yesterday'"),
        (None, "record is not a JSON object"),
    ]
    assert page.high_water == datetime(2025, 3, 4, 10, 16, tzinfo=UTC)


def test_custom_fields_extend_the_declared_streams() -> None:
    [task] = salesforce_streams(["Task"], {"Task": ["Sentiment__c"]})
    assert task.fields[-1] == "Sentiment__c"
    assert "TaskSubtype" in task.fields
