"""An export cut at an instant holds what an export taken then holds: each record at its last
version by then, and every immutable row by then (a property's whole history, not its last
change)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sandbox.history.cut import CutError, cut_export
from tests.sandbox.history.conftest import Export


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _middle(export: Export) -> datetime:
    """An instant halfway between the export's `now` and the end of its future files."""
    manifest = json.loads((export.out / "manifest.json").read_text())
    now, until = _stamp(manifest["now"]), _stamp(manifest["future_until"])
    return now + (until - now) / 2


def test_a_cut_keeps_every_property_change_by_its_instant(export: Export, tmp_path: Path) -> None:
    moment = _middle(export)
    cut = cut_export(export.out, moment, tmp_path / "cut")

    every = _rows(export.out / "hubspot" / "property_history.csv")
    every += _rows(export.out / "future" / "hubspot" / "property_history.csv")
    expected = Counter(
        (r["objectType"], r["id"], r["property"]) for r in every if _stamp(r["timestamp"]) <= moment
    )
    kept = Counter(
        (r["objectType"], r["id"], r["property"])
        for r in _rows(cut / "hubspot" / "property_history.csv")
    )
    assert kept == expected
    assert max(expected.values()) > 1, "some property changed more than once"

    deals = _rows(cut / "hubspot" / "deals.csv")
    assert len({d["id"] for d in deals}) == len(deals), "one row per deal: its last version"
    assert all(_stamp(d["updatedAt"]) <= moment for d in deals)


def test_an_instant_outside_the_history_cannot_be_cut(export: Export, tmp_path: Path) -> None:
    with pytest.raises(CutError, match="cannot be cut"):
        cut_export(export.out, datetime(2000, 1, 1, tzinfo=UTC), tmp_path / "cut")
