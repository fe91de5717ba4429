"""An export as it would have been taken at an instant: the base files plus the future files'
versions stamped up to then, each record at its last version, nothing else.

A generated export holds every record version stamped in (`now`, `future_until`] in its
future files, so it can be cut at any instant in [`now`, `future_until`]: what a CRM export
taken at that instant would hold (docs/export-format.md, "Time"). The cut is an export of its
own with `now` = `future_until` = the instant and no future, truth or summary; the product
imports it like any other.

    cut_export(Path("data/history"), datetime(2025, 7, 5, tzinfo=UTC), Path("/tmp/cut"))
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["CutError", "cut_export"]

_STAMPS = ("SystemModstamp", "updatedAt", "timestamp")
"""The column that stamps a row's version: Salesforce, HubSpot objects, property history."""
_KEYS = ("Id", "id")
_UNKEYED = ("property_history",)
"""Files whose `id` names the object a row is about, not the row: every row up to the
instant is kept (a property's value after each change)."""


class CutError(ValueError):
    """The export cannot be cut at that instant (outside [now, future_until])."""


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.exists():
        return [], []
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return (rows[0], [r for r in rows[1:] if r]) if rows else ([], [])


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _versions(base: Path, future: Path, moment: datetime) -> tuple[list[str], list[list[str]]]:
    """Base rows and future rows stamped up to `moment`; a keyed record at its last version."""
    header, rows = _read(base)
    f_header, f_rows = _read(future)
    header = header or f_header
    if f_rows and f_header != header:
        raise CutError(f"{future}: its columns differ from {base}'s")
    stamp = next((header.index(c) for c in _STAMPS if c in header), None)
    key = next((header.index(c) for c in _KEYS if c in header), None)
    if base.stem in _UNKEYED:
        key = None
    applied = [r for r in f_rows if stamp is not None and _stamp(r[stamp]) <= moment]
    if key is None:
        return header, rows + applied
    latest: dict[str, list[str]] = {}
    for row in rows + applied:  # future rows are oldest first within a record
        found = latest.get(row[key])
        if found is None or stamp is None or _stamp(row[stamp]) >= _stamp(found[stamp]):
            latest[row[key]] = row
    return header, list(latest.values())


def _hubspot_associations(source: Path, out: Path) -> None:
    """Base associations hold; a future one once both its ends are in the cut."""
    header, rows = _read(source / "hubspot" / "associations.csv")
    f_header, f_rows = _read(source / "future" / "hubspot" / "associations.csv")
    header = header or f_header
    present: set[tuple[str, str]] = set()
    for path in (out / "hubspot").glob("*.csv"):
        names, objects = _read(path)
        if "id" in names and path.stem not in ("owners", "property_history", "associations"):
            ident = names.index("id")
            present.update((path.stem, row[ident]) for row in objects)
    at = {name: i for i, name in enumerate(header)}
    for row in f_rows:
        ends = ((row[at["fromType"]], row[at["fromId"]]), (row[at["toType"]], row[at["toId"]]))
        if all(end in present for end in ends):
            rows.append(row)
    _write(out / "hubspot" / "associations.csv", header, rows)


def cut_export(source: Path, moment: datetime, out: Path) -> Path:
    """Write to `out` the export `source` as taken at `moment`; returns `out`."""
    manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    now, until = _stamp(manifest["now"]), _stamp(manifest.get("future_until", manifest["now"]))
    if not now <= moment <= until:
        raise CutError(
            f"{source} holds versions from {manifest['now']} to {manifest.get('future_until')}: "
            f"it cannot be cut at {_iso(moment)}"
        )
    if out.exists():
        shutil.rmtree(out)
    counts: dict[str, dict[str, int]] = {}
    for crm in ("salesforce", "hubspot"):
        folder = source / crm
        if not folder.is_dir():
            continue
        counts[crm] = {}
        for path in sorted(folder.iterdir()):
            if path.suffix != ".csv":
                (out / crm).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, out / crm / path.name)
                continue
            if crm == "hubspot" and path.stem == "associations":
                continue
            header, rows = _versions(path, source / "future" / crm / path.name, moment)
            _write(out / crm / path.name, header, rows)
            counts[crm][path.stem] = len(rows)
        if crm == "hubspot":
            _hubspot_associations(source, out)
    manifest.update(
        now=_iso(moment), future_until=_iso(moment), counts=counts, size="export", seed=0
    )
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out
