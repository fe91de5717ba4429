"""Finding a rep the way people name them: by CRM owner id, by name or by e-mail.

find_reps(session, "ann@brightwave.example")   # [RepRef('005A...', 'Ann Lee', ...)]
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.core.errors import InvalidRequestError
from app.models import CrmOwner

__all__ = ["RepRef", "find_reps", "list_reps", "owner_id_of"]


@dataclass(frozen=True, slots=True)
class RepRef:
    external_id: str
    name: str
    email: str | None
    team: str | None


def find_reps(session: Session, who: str) -> list[RepRef]:
    """The reps `who` names: an exact CRM owner id, else a name or an e-mail address (either
    case); one per owner id, in name order."""
    text = who.strip()
    if not text:
        return []
    lowered = text.lower()
    rows = session.execute(
        select(CrmOwner.external_id, CrmOwner.name, CrmOwner.email, CrmOwner.team)
        .where(
            or_(
                CrmOwner.external_id == text,
                func.lower(CrmOwner.name) == lowered,
                func.lower(CrmOwner.email) == lowered,
            )
        )
        .order_by(CrmOwner.name, CrmOwner.external_id)
    ).all()
    exact = [row for row in rows if row.external_id == text]
    found: dict[str, RepRef] = {}
    for row in exact or rows:
        found.setdefault(row.external_id, RepRef(row.external_id, row.name, row.email, row.team))
    return list(found.values())


def owner_id_of(session: Session, who: str) -> str:
    """The CRM owner id of the rep `who` names (an id, a name or an e-mail); `who` itself when
    nobody matches (the caller's "not found" names it). InvalidRequestError when a name fits
    several reps: only their ids tell them apart."""
    found = find_reps(session, who)
    if len(found) > 1:
        ids = ", ".join(r.external_id for r in found)
        raise InvalidRequestError(f"rep: {who!r} names {len(found)} reps ({ids}): use the CRM id")
    return found[0].external_id if found else who


def list_reps(session: Session) -> list[RepRef]:
    """Every active rep, in name order (one per owner id)."""
    rows = session.execute(
        select(CrmOwner.external_id, CrmOwner.name, CrmOwner.email, CrmOwner.team)
        .where(CrmOwner.active.is_(True))
        .order_by(CrmOwner.name, CrmOwner.external_id)
    ).all()
    found: dict[str, RepRef] = {}
    for row in rows:
        found.setdefault(row.external_id, RepRef(row.external_id, row.name, row.email, row.team))
    return list(found.values())
