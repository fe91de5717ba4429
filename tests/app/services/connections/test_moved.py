"""A connection pointed at another CRM forgets what write-back wrote to the old one, so that
every field is written to the new one; pointed at the same CRM, it keeps that memory."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.core.crypto import SecretBox
from app.core.database import Database
from app.models import WritebackRecord
from app.services.connections.changes import update_connection, upsert_connection

ORG = "https://acme.my.salesforce.com/services/oauth2/token"
OTHER_ORG = "https://acme--uat.sandbox.my.salesforce.com/services/oauth2/token"


def _settings(token_url: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "salesforce", "auth_flow": "client_credentials", "token_url": token_url,
            "client_id": "3MVG9", **extra}  # fmt: skip


def _written(db: Database) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count(WritebackRecord.id))) or 0)


def _connection_that_wrote(db: Database, box: SecretBox) -> None:
    with db.session() as session:
        connection = upsert_connection(
            session, box, name="acme", settings=_settings(ORG), secrets={"client_secret": "s"}
        )
        session.add(
            WritebackRecord(connection_id=connection.id, object_type="Opportunity",
                            external_id="006A", written_values={"x": 1}, values_hash="h")
        )  # fmt: skip


def test_another_org_means_every_field_is_written_again(db: Database, box: SecretBox) -> None:
    _connection_that_wrote(db, box)
    with db.session() as session:  # the same org, another setting: the memory holds
        upsert_connection(session, box, name="acme", settings=_settings(ORG, lookback_minutes=20),
                          secrets={"client_secret": "s"})  # fmt: skip
    assert _written(db) == 1
    with db.session() as session:
        upsert_connection(session, box, name="acme", settings=_settings(OTHER_ORG),
                          secrets={"client_secret": "s"})  # fmt: skip
    assert _written(db) == 0


def test_an_update_to_another_org_forgets_too(db: Database, box: SecretBox) -> None:
    _connection_that_wrote(db, box)
    with db.session() as session:
        update_connection(session, box, "acme", settings={"token_url": OTHER_ORG})
    assert _written(db) == 0
