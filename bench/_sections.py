"""A benchmark's own section of BENCHMARKS.md, between its markers, written again each run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

__all__ = ["replace_between"]


def replace_between(
    path: Path, start: str, end: str, text: str, missing: Callable[[str, str], str]
) -> None:
    """Replace what lies between `start` and `end` (markers included; `text` holds them) with
    `text`; `missing(document, text)` places it when the markers are not there yet."""
    document = path.read_text()
    if start in document and end in document:
        before, rest = document.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        document = before + text + "\n" + after
    else:
        document = missing(document, text)
    path.write_text(document)
