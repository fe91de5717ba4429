"""Which ruleset version serves which connection: the one lookup every reader shares.

Each connection has its own active version (a `RulesetActivation` without an end); mapping
runs, opportunity state, the KPI view and write-back all read it here.

    active_versions(db)              # {connection_id: version_id}
    active_version_of(db, 3)         # version id, or None
    version_numbers(db, {7, 9})      # {version_id: version number}, as people name them
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection as DbConnection
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import RulesetActivation, RulesetVersion

__all__ = ["active_version_of", "active_versions", "version_numbers"]

_ACTIVE = select(RulesetActivation.connection_id, RulesetActivation.ruleset_version_id).where(
    RulesetActivation.ended_at.is_(None)
)


def active_versions(db: Session | DbConnection) -> dict[int, int]:
    """Every connection that has an active ruleset version, with that version's id."""
    return {cid: vid for cid, vid in db.execute(_ACTIVE.order_by(RulesetActivation.connection_id))}


def active_version_of(db: Session | DbConnection, connection_id: int) -> int | None:
    return db.execute(
        _ACTIVE.with_only_columns(RulesetActivation.ruleset_version_id).where(
            RulesetActivation.connection_id == connection_id
        )
    ).scalar()


def version_numbers(db: Session | DbConnection, version_ids: Iterable[int]) -> dict[int, int]:
    """The number of each of these versions (1, 2, ...), by version id."""
    wanted = set(version_ids)
    if not wanted:
        return {}
    rows = db.execute(
        select(RulesetVersion.id, RulesetVersion.version).where(RulesetVersion.id.in_(wanted))
    )
    return {version_id: number for version_id, number in rows}
