"""A small Salesforce org in the raw layer, for the mapping service tests.

Account 001A (Brightwave's prospect) has an SMB new-business opportunity 006A with contact
003A in a contact role; account 001B is an enterprise customer with an expansion 006X.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from app.core.database import Database
from app.models import Connection, MilestoneEvent
from app.services.sync.raw_records import RawRecordWriter
from connectors.core import Record
from mappings import EXAMPLES

SALESFORCE_RULES = (EXAMPLES / "salesforce.yaml").read_text()
HUBSPOT_RULES = (EXAMPLES / "hubspot.yaml").read_text()
T0 = datetime(2025, 3, 1, tzinfo=UTC)
API = "/services/data/v59.0/sobjects"


def sf(stream: str, record_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "attributes": {"type": stream, "url": f"{API}/{stream}/{record_id}"},
        "Id": record_id,
        "IsDeleted": False,
        "CreatedDate": "2025-01-10T09:00:00.000+0000",
        **fields,
    }


def opportunity(record_id: str, **fields: Any) -> dict[str, Any]:
    base = {
        "Name": f"Deal {record_id}",
        "AccountId": "001A",
        "OwnerId": "005A",
        "StageName": "Qualification",
        "Amount": 6500,
        "CloseDate": "2025-06-30",
        "Probability": 10,
        "IsClosed": False,
        "IsWon": False,
        "Type": "New Business",
        "Segment__c": "SMB",
        "LastStageChangeDate": None,
    }
    base.update(fields)
    return sf("Opportunity", record_id, **base)


def email(record_id: str, **fields: Any) -> dict[str, Any]:
    base = {
        "ActivityId": None,
        "RelatedToId": "006A",
        "Subject": "RE: Brightwave",
        "TextBody": "Thanks for reaching out, happy to talk.",
        "FromAddress": "ana@prospect.example",
        "Incoming": True,
        "HasAttachment": False,
        "Status": "1",
        "MessageDate": "2025-03-03T10:00:00.000+0000",
    }
    base.update(fields)
    return sf("EmailMessage", record_id, **base)


def add_connection(database: Database, name: str = "acme", kind: str = "salesforce") -> int:
    with database.session() as session:
        row = Connection(
            name=name,
            kind=kind,
            credentials_sealed="-",
            settings={"instance_url": "https://acme.my.salesforce.com"}
            if kind == "salesforce"
            else {"portal_id": "4242"},
        )
        session.add(row)
        session.flush()
        return row.id


_clock = [0]


def store(
    database: Database,
    connection_id: int,
    stream: str,
    *payloads: dict[str, Any],
    deleted: bool = False,
) -> None:
    """Store records as a sync would: each call is a newer version of what it names."""
    _clock[0] += 1
    modified = T0.replace(microsecond=_clock[0] % 1_000_000)
    key = "Id" if "Id" in payloads[0] else "id"
    with database.engine.begin() as connection:
        RawRecordWriter(connection, connection_id, stream).upsert(
            Record(str(p[key]), modified, p, deleted) for p in payloads
        )


def seed_salesforce(database: Database) -> int:
    connection_id = add_connection(database)
    store(
        database,
        connection_id,
        "User",
        sf(
            "User",
            "005A",
            Name="Jana Schmidt",
            Email="jana@brightwave.example",
            Department="SMB North",
            IsActive=True,
        ),
    )
    store(
        database,
        connection_id,
        "Account",
        sf("Account", "001A", Name="Prospect AG", Segment__c="SMB"),
        sf("Account", "001B", Name="Customer plc", Segment__c="Enterprise"),
    )
    store(
        database,
        connection_id,
        "Contact",
        sf("Contact", "003A", AccountId="001A", Email="ana@prospect.example"),
        sf("Contact", "003B", AccountId="001B", Email="bo@customer.example"),
    )
    store(
        database,
        connection_id,
        "Opportunity",
        opportunity("006A"),
        opportunity(
            "006X",
            AccountId="001B",
            Type="Existing Business",
            Segment__c="Enterprise",
            Amount=15000,
        ),
    )
    store(
        database,
        connection_id,
        "OpportunityContactRole",
        sf("OpportunityContactRole", "00KA", OpportunityId="006A", ContactId="003A"),
        sf("OpportunityContactRole", "00KX", OpportunityId="006X", ContactId="003B"),
    )
    store(
        database,
        connection_id,
        "EmailMessage",
        email("02sREPLY"),
        email("02sOUT", Incoming=False, Status="3", Subject="Following up"),
        email(
            "02sAUTO", Subject="Automatic reply: Following up", TextBody="I am out of the office."
        ),
    )
    return connection_id


def event_rows(
    database: Database, version_id: int | None = None
) -> list[tuple[str, str, str, str, datetime]]:
    """(opportunity external id, milestone key, evidence stream, evidence id, occurred_at)."""
    from app.models import Milestone, Opportunity

    with database.session() as session:
        query = (
            select(
                Opportunity.external_id,
                Milestone.key,
                MilestoneEvent.evidence_stream,
                MilestoneEvent.evidence_external_id,
                MilestoneEvent.occurred_at,
            )
            .join(Opportunity, Opportunity.id == MilestoneEvent.opportunity_id)
            .join(Milestone, Milestone.id == MilestoneEvent.milestone_id)
        )
        if version_id is not None:
            query = query.where(MilestoneEvent.ruleset_version_id == version_id)
        return sorted(tuple(row) for row in session.execute(query))  # type: ignore[misc]


def count_events(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(MilestoneEvent)) or 0


def seed_hubspot(db: Database) -> int:
    """A HubSpot portal (`portal`): deal 12 (SMB) with a completed meeting (41) and a no-show
    (42)."""
    connection_id = add_connection(db, "portal", "hubspot")

    def hs(
        record_id: str, properties: dict[str, str | None], **associations: list[str]
    ) -> dict[str, object]:
        record: dict[str, object] = {
            "id": record_id,
            "properties": properties,
            "createdAt": "2025-01-10T09:00:00.000Z",
            "updatedAt": "2025-01-10T09:00:00.000Z",
            "archived": False,
        }
        if associations:
            record["associations"] = {
                k: {"results": [{"id": i, "type": "x"} for i in v]} for k, v in associations.items()
            }
        return record

    store(
        db,
        connection_id,
        "owners",
        {
            "id": "61",
            "email": "jana@brightwave.example",
            "firstName": "Jana",
            "lastName": "Schmidt",
            "archived": False,
            "teams": [{"id": "1", "name": "SMB North", "primary": True}],
        },
    )
    store(
        db,
        connection_id,
        "deals",
        hs(
            "12",
            {
                "dealname": "Prospect - Starter",
                "dealtype": "newbusiness",
                "segment": "smb",
                "amount": "6500",
                "hubspot_owner_id": "61",
                "hs_is_closed": "false",
                "hs_is_closed_won": "false",
                "createdate": "2025-01-10T09:00:00.000Z",
            },
            contacts=["20"],
            companies=["18"],
        ),
    )
    store(
        db,
        connection_id,
        "meetings",
        hs(
            "41",
            {
                "hs_meeting_title": "Introduction call",
                "hs_meeting_outcome": "COMPLETED",
                "hs_meeting_start_time": "2025-03-04T10:00:00.000Z",
                "hs_timestamp": "2025-03-04T10:00:00.000Z",
            },
            deals=["12"],
        ),
    )
    store(
        db,
        connection_id,
        "meetings",
        hs(
            "42",
            {
                "hs_meeting_title": None,
                "hs_meeting_outcome": "NO_SHOW",
                "hs_meeting_start_time": "2025-03-05T10:00:00.000Z",
            },
            deals=["12"],
        ),
    )
    return connection_id
