"""The files of an export, wherever they sit: a folder, a zip, or a folder of zips.

A Salesforce Data Export arrives as one or more zips (`WE_00D..._1.ZIP`, `_2.ZIP`, …) with one
`<Object>.csv` per object at the top; the product's own export format keeps CSVs under
`salesforce/` and `hubspot/`. Both are scanned the same way: every CSV and JSON file, with the
CRM its folder names (if any). Generator-only folders (`future/`, `truth/`) are not part of an
export and are skipped.

    files = scan(Path("WE_00D5g000_1.ZIP"))
    with files[0].open_text("utf-8-sig") as handle: ...
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal, TextIO

from connectors.core import ConfigError

__all__ = ["Crm", "ExportFile", "scan"]

Crm = Literal["salesforce", "hubspot"]
_SKIPPED = {"future", "truth", "__macosx"}
_SUFFIXES = {".csv", ".json"}


@dataclass(frozen=True)
class ExportFile:
    """One CSV or JSON file of an export (a plain file, or a member of a zip)."""

    container: Path
    member: str | None
    name: str
    crm: Crm | None
    fingerprint: str

    @property
    def _path(self) -> PurePosixPath:
        return PurePosixPath(self.member) if self.member is not None else PurePosixPath(self.name)

    @property
    def stem(self) -> str:
        return self._path.stem

    @property
    def suffix(self) -> str:
        return self._path.suffix.lower()

    @contextmanager
    def open_text(self, encoding: str) -> Iterator[TextIO]:
        if self.member is None:
            with self.container.open(encoding=encoding, newline="") as handle:
                yield handle
            return
        with zipfile.ZipFile(self.container) as archive, archive.open(self.member) as raw:
            yield io.TextIOWrapper(raw, encoding=encoding, newline="")

    def read_text(self, encoding: str) -> str:
        with self.open_text(encoding) as handle:
            return handle.read()


def _crm_of(parts: tuple[str, ...]) -> Crm | None:
    for part in parts:
        lowered = part.lower()
        if lowered in ("salesforce", "hubspot"):
            return "salesforce" if lowered == "salesforce" else "hubspot"
    return None


def _skipped(parts: tuple[str, ...]) -> bool:
    return any(part.lower() in _SKIPPED for part in parts)


def _zip_members(path: Path, prefix: str, outer: Crm | None = None) -> Iterator[ExportFile]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ConfigError(f"{path}: not a readable zip file ({error})") from None
    stat = path.stat()
    with archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            member = PurePosixPath(info.filename)
            if info.is_dir() or member.suffix.lower() not in _SUFFIXES:
                continue
            if _skipped(member.parts[:-1]):
                continue
            yield ExportFile(
                container=path,
                member=info.filename,
                name=f"{prefix}{info.filename}",
                crm=_crm_of(member.parts[:-1]) or outer,
                fingerprint=f"{stat.st_size}:{stat.st_mtime_ns}:{info.CRC}:{info.file_size}",
            )


def scan(path: Path) -> list[ExportFile]:
    """Every CSV and JSON file of the export at `path` (folder, zip, or folder of zips)."""
    if not path.exists():
        raise ConfigError(f"export path {path} does not exist")
    if path.is_file():
        if path.suffix.lower() != ".zip":
            raise ConfigError(f"export path {path} is neither a folder nor a .zip file")
        return list(_zip_members(path, f"{path.name}:"))
    found: list[ExportFile] = []
    for item in sorted(path.rglob("*")):
        relative = item.relative_to(path)
        if not item.is_file() or _skipped(relative.parts[:-1]):
            continue
        if item.suffix.lower() == ".zip":
            found.extend(_zip_members(item, f"{relative}:", _crm_of(relative.parts[:-1])))
        elif item.suffix.lower() in _SUFFIXES:
            stat = item.stat()
            found.append(
                ExportFile(
                    container=item,
                    member=None,
                    name=str(relative),
                    crm=_crm_of(relative.parts[:-1]),
                    fingerprint=f"{stat.st_size}:{stat.st_mtime_ns}",
                )
            )
    return found
