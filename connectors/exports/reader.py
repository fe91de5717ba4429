"""Export files as a `StreamReader`: the raw layer fills from files with zero API calls.

Rows are handed over in pages of 2,000 with their position in `resume`, so an import stopped
midway resumes at the next row (the position is kept only while the files are unchanged). An
export's rows are not in time order, so the cursor's high-water mark is set once a stream's
files are read to the end, and the files' fingerprint with it: importing the same export again
reads nothing, and a newer export is read whole (the raw layer writes only what changed, and
never lets an older version overwrite a newer one).

    reader, specs = open_export(Path("WE_00D5g000_1.ZIP"))
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from connectors.core import ConfigError, CursorState, Page, Quarantined, Record, StreamSpec
from connectors.exports.files import Crm, ExportFile, scan
from connectors.exports.hubspot import HubSpotExport, object_type_of
from connectors.exports.resume import ExportResume
from connectors.exports.salesforce import SalesforceExport
from connectors.salesforce.streams import SALESFORCE_STREAMS

__all__ = ["ExportReader", "ExportSource", "detect_crm", "open_export"]


class ExportSource(Protocol):
    streams: list[str]

    def specs(self) -> list[StreamSpec]: ...

    def fingerprint(self, stream: str) -> str: ...

    def rows(self, stream: str) -> Iterator[Record | Quarantined]: ...


class ExportReader:
    """`StreamReader` over one export's files."""

    def __init__(self, source: ExportSource, crm: Crm) -> None:
        self.source = source
        self.crm = crm

    def close(self) -> None:
        """Files are opened per stream and closed when read; nothing stays open."""

    def pages(self, spec: StreamSpec, cursor: CursorState) -> Iterator[Page]:
        fingerprint = self.source.fingerprint(spec.name)
        state = ExportResume.from_json(cursor.resume)
        if state.imported == fingerprint and cursor.last_value is not None:
            return  # this very export is in the raw layer already
        skip, newest = state.position_in(fingerprint)
        records: list[Record] = []
        rejected: list[Quarantined] = []
        position = 0
        for position, item in enumerate(self.source.rows(spec.name), start=1):
            if position <= skip:
                continue
            if isinstance(item, Record):
                records.append(item)
                if newest is None or item.modified_at > newest:
                    newest = item.modified_at
            else:
                rejected.append(item)
            if len(records) + len(rejected) >= spec.page_size:
                under_way = ExportResume(file=fingerprint, row=position, newest=newest)
                yield Page(records, rejected, resume=under_way.to_json())
                records, rejected = [], []
        done = ExportResume(imported=fingerprint)
        yield Page(records, rejected, high_water=newest, resume=done.to_json())


def detect_crm(files: Sequence[ExportFile], path: Path) -> Crm:
    marked = {item.crm for item in files if item.crm is not None}
    if len(marked) == 1:
        return marked.pop()
    if len(marked) > 1:
        raise ConfigError(
            f"the export at {path} holds both Salesforce and HubSpot files: set the "
            "connection's `crm` to the one to import"
        )
    stems = {item.stem for item in files if item.suffix == ".csv"}
    if stems & {spec.name for spec in SALESFORCE_STREAMS}:
        return "salesforce"
    if any(object_type_of(stem) for stem in stems):
        return "hubspot"
    raise ConfigError(
        f"the export at {path} has no Salesforce object files (Task.csv, Opportunity.csv, …) "
        "nor HubSpot ones (deals.csv, emails.csv, …)"
    )


def open_export(
    path: Path | str,
    *,
    crm: Crm | None = None,
    streams: Sequence[str] | None = None,
    encoding: str = "utf-8-sig",
) -> tuple[ExportReader, list[StreamSpec]]:
    """The reader and the streams of the export at `path` (folder, zip, or folder of zips)."""
    root = Path(path).expanduser()
    files = scan(root)
    chosen = crm or detect_crm(files, root)
    mine = [item for item in files if item.crm in (None, chosen)]
    source: ExportSource
    if chosen == "salesforce":
        source = SalesforceExport(mine, encoding=encoding, streams=streams)
    else:
        source = HubSpotExport(mine, encoding=encoding, streams=streams)
    return ExportReader(source, chosen), source.specs()
