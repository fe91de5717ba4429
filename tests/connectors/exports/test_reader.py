"""Export files through the engine: pages, resume, and an unchanged export read once."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.core import ApiBudget, CursorState, Page, PageCounts, StreamSpec, run_stream
from connectors.exports import ExportReader, open_export

HEADER = "Id,Subject,IsDeleted,SystemModstamp"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def task_file(root: Path, rows: int, subject: str = "Call") -> Path:
    root.mkdir(exist_ok=True)
    lines = [HEADER] + [
        f"00T{n:015d},{subject},false,2025-03-04T10:{n % 60:02d}:00.000Z" for n in range(rows)
    ]
    path = root / "Task.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


class Sink:
    def __init__(self) -> None:
        self.pages: list[Page] = []
        self.cursor: tuple[datetime | None, dict[str, Any]] = (None, {})

    def commit_page(self, spec: StreamSpec, page: Page, cursor: CursorState) -> PageCounts:
        self.pages.append(page)
        self.cursor = (cursor.last_value, dict(cursor.resume))
        return PageCounts()


def run(reader: ExportReader, spec: StreamSpec, sink: Sink, **kwargs: Any) -> Any:
    last, resume = sink.cursor
    cursor = CursorState.begin(last, lookback=timedelta(0), now=NOW, resume=resume)
    return run_stream(reader, spec, cursor, sink, ApiBudget(), **kwargs)


def test_pages_of_two_thousand_resume_where_they_stopped(tmp_path: Path) -> None:
    task_file(tmp_path, 4500)
    reader, (spec,) = open_export(tmp_path)
    sink = Sink()
    stopped = run(reader, spec, sink, should_stop=lambda: len(sink.pages) == 1)
    assert stopped.stopped == "stopped" and sink.cursor[1]["row"] == 2000
    assert sink.cursor[0] is None  # an export is not in time order: no mark until its end
    result = run(reader, spec, sink)
    assert result.records_read == 2500 and result.api_calls == 0
    assert [len(p.records) for p in sink.pages] == [2000, 2000, 500]
    assert sink.cursor[0] == datetime(2025, 3, 4, 10, 59, tzinfo=UTC)


def test_the_same_export_is_read_once_and_a_new_one_whole(tmp_path: Path) -> None:
    path = task_file(tmp_path, 10)
    reader, (spec,) = open_export(tmp_path)
    sink = Sink()
    assert run(reader, spec, sink).records_read == 10
    assert run(reader, spec, sink).pages == 0  # nothing to do
    task_file(tmp_path, 12, subject="Email")
    os.utime(path, ns=(1, 1))  # a different file, whatever the clock's resolution
    reader, (spec,) = open_export(tmp_path)
    assert run(reader, spec, sink).records_read == 12
