"""Small CRM records for the mapping tests, shaped as the connectors store them."""

from __future__ import annotations

from typing import Any

SF = "/services/data/v59.0/sobjects"


def sf(stream: str, record_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "attributes": {"type": stream, "url": f"{SF}/{stream}/{record_id}"},
        "Id": record_id,
        **fields,
    }


def sf_email(record_id: str, *, incoming: bool = True, **fields: Any) -> dict[str, Any]:
    base = {
        "Incoming": incoming,
        "Status": "1" if incoming else "3",
        "Subject": "RE: hello",
        "TextBody": "Thanks, happy to talk.",
        "FromAddress": "ana@customer.example",
        "HasAttachment": False,
        "MessageDate": "2025-03-04T10:15:00.000+0000",
        "RelatedToId": "006A",
        "ActivityId": None,
        "IsDeleted": False,
    }
    base.update(fields)
    return sf("EmailMessage", record_id, **base)


def sf_opportunity(record_id: str, **fields: Any) -> dict[str, Any]:
    base = {
        "Name": f"Deal {record_id}",
        "AccountId": "001A",
        "OwnerId": "005A",
        "StageName": "Prospecting",
        "Amount": 10000,
        "CloseDate": "2025-06-30",
        "Probability": 10,
        "IsClosed": False,
        "IsWon": False,
        "Type": "New Business",
        "Segment__c": "SMB",
        "CreatedDate": "2025-01-01T09:00:00.000+0000",
        "IsDeleted": False,
    }
    base.update(fields)
    return sf("Opportunity", record_id, **base)


def hs(
    record_id: str,
    properties: dict[str, Any],
    associations: dict[str, list[str]] | None = None,
    archived: bool = False,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": record_id,
        "properties": properties,
        "createdAt": "2025-01-01T09:00:00.000Z",
        "updatedAt": "2025-01-01T09:00:00.000Z",
        "archived": archived,
    }
    if associations:
        record["associations"] = {
            kind: {"results": [{"id": i, "type": f"x_to_{kind}"} for i in ids]}
            for kind, ids in associations.items()
        }
    return record


RULESET_HEAD = """\
name: Test rules
source: {source}
processes:
"""


def one_rule(stream: str, when: str, *, source: str = "salesforce", extra: str = "") -> str:
    """A ruleset with one process, one milestone and one rule on `stream`."""
    indented = "\n".join("              " + line for line in when.strip().splitlines())
    return (
        RULESET_HEAD.format(source=source)
        + f"""  - key: p
    name: P
    milestones:
      - key: m
        name: M
        kind: writes
        guidance: Do the next thing.
        rules:
          - stream: {stream}
            when:
{indented}
{extra}"""
    )
