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
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from app.core.crypto import SecretBox
from app.core.database import Database, upgrade
from app.services.connections.registry import create_connection
from app.services.mapping.activation import activate_ruleset
from app.services.sync.runs import sync_connection
from mappings import EXAMPLES

__all__ = ["Databases", "action_instant", "deleted_lives", "imported"]

ACTIVITIES = ("Task", "Event", "EmailMessage")


class Databases(Protocol):
    def url(self, name: str) -> str: ...


def imported(databases: Databases, box: SecretBox, export: Path) -> Database:
    """A new database holding `export` (Salesforce), mapped and with opportunity state."""
    database = Database(databases.url("history"))
    upgrade(database.engine)
    with database.session() as session:
        create_connection(
            session,
            box,
            name="files",
            settings={"kind": "export", "path": str(export), "crm": "salesforce"},
            secrets={},
        )
    sync_connection(database, box, "files")
    activate_ruleset(database, (EXAMPLES / "salesforce.yaml").read_text(), "salesforce.yaml")
    return database


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def action_instant(export: Path, target: datetime) -> datetime:
    """The newest activity record's stamp at or before `target`, in base or future files."""
    best: datetime | None = None
    for name in ACTIVITIES:
        for path in (
            export / "salesforce" / f"{name}.csv",
            export / "future" / "salesforce" / f"{name}.csv",
        ):
            with path.open(newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    at = _stamp(row["SystemModstamp"])
                    if at <= target and (best is None or at > best):
                        best = at
    if best is None:
        raise ValueError(f"{export} has no activity before {target.isoformat()}")
    return best


def deleted_lives(export: Path) -> list[tuple[datetime, datetime]]:
    """(created, deleted) of every opportunity the export deletes, base or future files."""
    versions: dict[str, list[dict[str, str]]] = {}
    for path in (
        export / "salesforce" / "Opportunity.csv",
        export / "future" / "salesforce" / "Opportunity.csv",
    ):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                versions.setdefault(row["Id"], []).append(row)
    lives = []
    for rows in versions.values():
        deleted = [_stamp(r["SystemModstamp"]) for r in rows if r["IsDeleted"] == "true"]
        if deleted:
            lives.append((_stamp(rows[0]["CreatedDate"]), min(deleted)))
    return sorted(lives)
