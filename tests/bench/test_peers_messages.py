"""The peers bench counts a peer's records from its stdout and measures it from outside."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.peers.measure import run_measured
from bench.peers.messages import record_stream


def test_a_singer_record_names_its_stream() -> None:
    line = b'{"type": "RECORD", "stream": "Task", "record": {"Id": "00T1"}, "time_extracted": 1}\n'
    assert record_stream(line) == "Task"


def test_an_airbyte_record_names_its_stream_inside_the_record() -> None:
    line = b'{"type":"RECORD","record":{"stream":"deals","data":{"id":"1"},"emitted_at":1}}\n'
    assert record_stream(line) == "deals"
    spaced = b'{"type": "RECORD", "record": {"namespace": null, "stream": "Lead", "data": {}}}'
    assert record_stream(spaced) == "Lead"


def test_a_record_with_its_keys_in_another_order_still_counts() -> None:
    assert record_stream(b'{"type":"RECORD","time_extracted":"x","stream":"calls"}') == "calls"


def test_other_messages_are_not_records() -> None:
    for line in (
        b'{"type": "STATE", "value": {"stream": "Task"}}',
        b'{"type": "SCHEMA", "stream": "Task", "schema": {}}',
        b'{"type":"LOG","log":{"level":"INFO","message":"\\"type\\": \\"RECORD\\""}}',
        b"",
    ):
        assert record_stream(line) is None


def test_the_harness_counts_records_and_keeps_the_last_other_line(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        'for i in range(3): print(\'{"type": "RECORD", "stream": "a", "record": {}}\')\n'
        'print(\'{"type":"RECORD","record":{"stream":"b","data":{}}}\')\n'
        "print('{\"records\": 4}')\n"
        "sys.stderr.write('done')\n"
    )
    measured = run_measured([sys.executable, "-c", script], stderr_file=tmp_path / "stderr.log")
    assert measured.returncode == 0
    assert dict(measured.per_stream) == {"a": 3, "b": 1}
    assert measured.records == 4
    assert measured.last_line == '{"records": 4}'
    assert measured.stderr_tail == "done"
    assert measured.peak_rss_mib > 0


def test_the_harness_reports_a_failing_tool(tmp_path: Path) -> None:
    measured = run_measured([sys.executable, "-c", "raise SystemExit(3)"])
    assert measured.returncode == 3
    assert measured.records == 0


def test_an_airbyte_trace_error_gives_the_reason_a_source_failed() -> None:
    from bench.peers.messages import trace_error

    line = (
        b'{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":'
        b'"An unexpected error occurred in stream Task: ValueError","internal_message":'
        b'"not enough values to unpack","stack_trace":"..."}}}'
    )
    assert trace_error(line) == (
        "An unexpected error occurred in stream Task: ValueError (not enough values to unpack)"
    )
    status = b'{"type":"TRACE","trace":{"type":"STREAM_STATUS","stream_status":{}}}'
    assert trace_error(status) is None
    assert trace_error(b'{"type": "RECORD", "stream": "ERROR"}') is None
