"""A rep is found the way people name them: by CRM owner id, by name or by e-mail (any case);
a name two reps share is refused with both ids, never answered for one of them."""

from __future__ import annotations

import pytest

from app.core.database import Database
from app.core.errors import InvalidRequestError
from app.models import Connection, CrmOwner
from app.services.state.owners import find_reps, owner_id_of


def _owners(db: Database) -> None:
    with db.session() as session:
        connection = Connection(name="crm", kind="salesforce", credentials_sealed="x")
        session.add(connection)
        session.flush()
        for external_id, name, email in (
            ("005A", "Ann Lee", "ann@brightwave.example"),
            ("005B", "Bo Chen", "bo@brightwave.example"),
            ("005C", "Bo Chen", "bo.chen@brightwave.example"),
        ):
            session.add(
                CrmOwner(
                    connection_id=connection.id, external_id=external_id, name=name, email=email
                )
            )


def test_a_rep_is_found_by_id_name_or_email(db: Database) -> None:
    _owners(db)
    with db.sessions() as session:
        assert owner_id_of(session, "005A") == "005A"
        assert owner_id_of(session, "ann lee") == "005A"
        assert owner_id_of(session, " ANN@brightwave.example ") == "005A"
        assert owner_id_of(session, "bo@brightwave.example") == "005B"
        assert owner_id_of(session, "nobody") == "nobody"  # the caller says "not found"
        assert [r.external_id for r in find_reps(session, "Bo Chen")] == ["005B", "005C"]
        with pytest.raises(InvalidRequestError, match="005B, 005C"):
            owner_id_of(session, "Bo Chen")
