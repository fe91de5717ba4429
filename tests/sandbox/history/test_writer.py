"""Streaming tables split each record into its state at `now` and its later versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.history import OutputNotEmpty
from sandbox.history.writer import EXPORT_ENTRIES, Export, prepare_output


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_base_gets_the_last_version_up_to_now_and_future_the_rest(tmp_path: Path) -> None:
    export = Export(tmp_path, now=100, until=200)
    table = export.table("salesforce", "Task", ("Id", "Subject"))
    table.record([50, 90, 150, 180, 250], lambda i: (f"00T{i}", f"v{i}"))
    table.record([120], lambda i: ("new", "created after now"))
    table.record([300], lambda i: ("late", "after the horizon"))
    table.row(100, ("plain", "immutable at now"))
    export.close()
    assert _lines(tmp_path / "salesforce/Task.csv") == [
        "Id,Subject",
        "00T1,v1",
        "plain,immutable at now",
    ]
    assert _lines(tmp_path / "future/salesforce/Task.csv") == [
        "Id,Subject",
        "00T2,v2",
        "00T3,v3",
        "new,created after now",
    ]
    assert export.counts("salesforce") == {"Task": 2}
    assert export.counts("salesforce", future=True) == {"Task": 3}


def test_only_needed_versions_are_rendered(tmp_path: Path) -> None:
    rendered: list[int] = []
    export = Export(tmp_path, now=100, until=100)
    table = export.table("hubspot", "deals", ("id",))

    def render(version: int) -> tuple[str]:
        rendered.append(version)
        return (str(version),)

    table.record([10, 20, 30, 200], render)
    export.close()
    assert rendered == [2]


def test_values_are_quoted_only_when_needed(tmp_path: Path) -> None:
    export = Export(tmp_path, now=10, until=10)
    export.table("hubspot", "notes", ("id", "hs_note_body")).row(1, ("1", 'a, "b"\nc'))
    export.close()
    assert (tmp_path / "hubspot/notes.csv").read_bytes() == b'id,hs_note_body\n1,"a, ""b""\nc"\n'


def test_a_non_empty_directory_is_refused_without_force(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(OutputNotEmpty, match="not empty"):
        prepare_output(tmp_path, force=False)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_force_replaces_only_the_export_entries(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    for name in EXPORT_ENTRIES:
        if name.endswith(".json"):
            (tmp_path / name).write_text("{}")
        else:
            (tmp_path / name).mkdir()
            (tmp_path / name / "old.csv").write_text("x")
    prepare_output(tmp_path, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_a_file_in_place_of_the_directory_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("not a directory")
    with pytest.raises(OutputNotEmpty):
        prepare_output(target, force=True)
    assert target.read_text() == "not a directory"


def test_a_missing_directory_is_created(tmp_path: Path) -> None:
    prepare_output(tmp_path / "a" / "b", force=False)
    assert (tmp_path / "a" / "b").is_dir()
