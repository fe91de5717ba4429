"""The text of stored ruleset versions, as ops wrote it: for the editor and for diffs."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlalchemy import select

from app.core.database import Database
from app.core.errors import NotFoundError
from app.models import RulesetVersion
from app.services.mapping.rulesets import connections_for
from app.services.state.active import active_versions

__all__ = ["VersionText", "active_text", "version_diff", "version_text"]


@dataclass(frozen=True, slots=True)
class VersionText:
    version: int
    name: str
    text: str


def version_text(database: Database, number: int) -> VersionText:
    with database.sessions() as session:
        row = session.scalar(select(RulesetVersion).where(RulesetVersion.version == number))
        if row is None:
            raise NotFoundError(f"no ruleset version {number}")
        return VersionText(row.version, row.name, row.source)


def active_text(database: Database, connection: str) -> VersionText | None:
    """The version active on `connection`, or None where none is."""
    with database.sessions() as session:
        (info,) = connections_for(session, connection)
        version_id = active_versions(session).get(info.id)
        row = session.get(RulesetVersion, version_id) if version_id is not None else None
        return VersionText(row.version, row.name, row.source) if row is not None else None


def version_diff(before: VersionText, after: VersionText, context: int = 3) -> list[str]:
    """A unified diff of two versions' texts, line by line."""
    return list(
        difflib.unified_diff(
            before.text.splitlines(),
            after.text.splitlines(),
            fromfile=f"version {before.version}",
            tofile=f"version {after.version}",
            lineterm="",
            n=context,
        )
    )
