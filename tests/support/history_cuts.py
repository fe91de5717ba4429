"""Generated sales histories as the product imports them, whole or cut at an instant.

`imported` fills a fresh, migrated database from an export folder the way the product does:
an export connection, a sync through the connectors' own readers, the shipped example ruleset
activated (mapping and opportunity state). `action_instant` picks an instant a cut's data
clock lands on exactly: the stamp of the newest customer-activity record at or before a
target (the clock of an export is its newest read-only record). `deleted_lives` tells when
each opportunity the history deletes lived (a duplicate a rep created by mistake).

    database = imported(fresh_databases, box, cut_export(history, moment, tmp / "cut"))
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from app.core.crypto import SecretBox
from app.core.database import Database, upgrade
from app.services.connections.registry import create_connection
from app.services.mapping.activation import activate_ruleset
from app.services.sync.runs import sync_connection
from mappings import EXAMPLES

__all__ = ["CRMS", "Databases", "action_instant", "deleted_lives", "imported"]


@dataclass(frozen=True)
class Layout:
    """Where an export of one CRM keeps what the cuts need."""

    activities: tuple[str, ...]
    """Files of customer-activity records: the newest stamps the export's data clock."""
    stamp: str
    deals: str
    key: str
    created: str
    deleted: str
    ruleset: str


CRMS = {
    "salesforce": Layout(
        ("Task", "Event", "EmailMessage"),
        "SystemModstamp",
        "Opportunity",
        "Id",
        "CreatedDate",
        "IsDeleted",
        "salesforce.yaml",
    ),
    "hubspot": Layout(
        ("emails", "meetings", "calls", "notes", "tasks"),
        "updatedAt",
        "deals",
        "id",
        "createdAt",
        "archived",
        "hubspot.yaml",
    ),
}


class Databases(Protocol):
    def url(self, name: str) -> str: ...


def imported(
    databases: Databases, box: SecretBox, export: Path, crm: str = "salesforce"
) -> Database:
    """A new database holding `export` (of `crm`), mapped and with opportunity state."""
    database = Database(databases.url("history"))
    upgrade(database.engine)
    with database.session() as session:
        create_connection(
            session,
            box,
            name="files",
            settings={"kind": "export", "path": str(export), "crm": crm},
            secrets={},
        )
    sync_connection(database, box, "files")
    ruleset = CRMS[crm].ruleset
    activate_ruleset(database, (EXAMPLES / ruleset).read_text(), ruleset)
    return database


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _rows(export: Path, crm: str, name: str) -> Iterator[dict[str, str]]:
    """The rows of one file, base then future."""
    for path in (export / crm / f"{name}.csv", export / "future" / crm / f"{name}.csv"):
        if path.exists():
            with path.open(newline="", encoding="utf-8") as handle:
                yield from csv.DictReader(handle)


def action_instant(export: Path, target: datetime, crm: str = "salesforce") -> datetime:
    """The newest activity record's stamp at or before `target`, in base or future files."""
    layout = CRMS[crm]
    best: datetime | None = None
    for name in layout.activities:
        for row in _rows(export, crm, name):
            at = _stamp(row[layout.stamp])
            if at <= target and (best is None or at > best):
                best = at
    if best is None:
        raise ValueError(f"{export} has no activity before {target.isoformat()}")
    return best


def deleted_lives(export: Path, crm: str = "salesforce") -> list[tuple[datetime, datetime]]:
    """(created, deleted) of every opportunity the export deletes, base or future files."""
    layout = CRMS[crm]
    versions: dict[str, list[dict[str, str]]] = {}
    for row in _rows(export, crm, layout.deals):
        versions.setdefault(row[layout.key], []).append(row)
    lives = []
    for rows in versions.values():
        deleted = [_stamp(r[layout.stamp]) for r in rows if r[layout.deleted] == "true"]
        if deleted:
            lives.append((_stamp(rows[0][layout.created]), min(deleted)))
    return sorted(lives)
