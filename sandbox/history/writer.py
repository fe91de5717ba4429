"""The on-disk export: streaming CSV tables split into the state at `now` and future versions.

A record is handed over as its versions' modification stamps plus a function that renders one
version as a row. The table writes the last version at or before `now` to the base file and
every version in (now, future_until] to the future file, and renders nothing else:

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> export = Export(out, now=100, until=200)
    >>> table = export.table("salesforce", "Task", ("Id", "Subject"))
    >>> table.record([50, 90, 150, 250], lambda i: (f"00T{i}", f"v{i}"))
    >>> export.close()
    >>> (out / "salesforce/Task.csv").read_text()
    'Id,Subject\\n00T1,v1\\n'
    >>> (out / "future/salesforce/Task.csv").read_text()
    'Id,Subject\\n00T2,v2\\n'

Files are UTF-8, comma-separated, minimally quoted, with LF line ends and a header row.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from sandbox.history.errors import OutputNotEmpty

__all__ = ["EXPORT_ENTRIES", "Export", "Table", "prepare_output", "write_json"]

Row = Sequence[str]

EXPORT_ENTRIES = (
    "manifest.json",
    "summary.json",
    "salesforce",
    "hubspot",
    "future",
    "truth",
    ".second-half",
)
"""What the generator writes at the top of OUT; `--force` removes exactly these."""

_BUFFER = 1 << 20


def prepare_output(out: Path, force: bool) -> None:
    """Make `out` ready to receive an export, or refuse without touching anything."""
    if out.exists() and not out.is_dir():
        raise OutputNotEmpty(f"output path {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise OutputNotEmpty(
                f"output directory {out} is not empty; pass --force to replace its export"
            )
        for name in EXPORT_ENTRIES:
            entry = out / name
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            elif entry.exists() or entry.is_symlink():
                entry.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _open_csv(path: Path, header: Sequence[str]) -> tuple[IO[str], Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("w", encoding="utf-8", newline="", buffering=_BUFFER)
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(header)
    return handle, writer


class Table:
    """One object's base file and future file."""

    def __init__(self, base: Path, future: Path, header: Sequence[str], now: int, until: int):
        self.header = tuple(header)
        self._now = now
        self._until = until
        self._base_file, base_writer = _open_csv(base, header)
        self._future_file, future_writer = _open_csv(future, header)
        self._base_row = base_writer.writerow
        self._future_row = future_writer.writerow
        self.base_count = 0
        self.future_count = 0

    def record(self, stamps: Sequence[int], render: Callable[[int], Row]) -> None:
        """A record whose version `i` was stored at `stamps[i]` (ascending)."""
        now, until = self._now, self._until
        if len(stamps) == 1:
            stamp = stamps[0]
            if stamp <= now:
                self._base_row(render(0))
                self.base_count += 1
            elif stamp <= until:
                self._future_row(render(0))
                self.future_count += 1
            return
        latest = -1
        for index, stamp in enumerate(stamps):
            if stamp <= now:
                latest = index
            else:
                break
        if latest >= 0:
            self._base_row(render(latest))
            self.base_count += 1
        for index in range(latest + 1, len(stamps)):
            stamp = stamps[index]
            if stamp > until:
                break
            self._future_row(render(index))
            self.future_count += 1

    def row(self, stamp: int, row: Row) -> None:
        """An immutable record (one version) stored at `stamp`."""
        if stamp <= self._now:
            self._base_row(row)
            self.base_count += 1
        elif stamp <= self._until:
            self._future_row(row)
            self.future_count += 1

    def close(self) -> None:
        self._base_file.close()
        self._future_file.close()


class Export:
    """All tables of one export directory."""

    def __init__(self, out: Path, now: int, until: int) -> None:
        self.out = out
        self.now = now
        self.until = until
        self.tables: dict[tuple[str, str], Table] = {}

    def table(self, crm: str, name: str, header: Sequence[str]) -> Table:
        table = Table(
            self.out / crm / f"{name}.csv",
            self.out / "future" / crm / f"{name}.csv",
            header,
            self.now,
            self.until,
        )
        self.tables[(crm, name)] = table
        return table

    def counts(self, crm: str, future: bool = False) -> dict[str, int]:
        return {
            name: table.future_count if future else table.base_count
            for (owner, name), table in self.tables.items()
            if owner == crm
        }

    def close(self) -> None:
        for table in self.tables.values():
            table.close()


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
