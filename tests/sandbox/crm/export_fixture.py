"""A tiny export folder in the milestone-sync-export/1 format, written for the sandbox tests."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox.crm.ids import to18

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TASK_COUNT = 2450


def sfid(prefix: str, n: int) -> str:
    return to18(f"{prefix}5g0000{n:06d}")


def sf_dt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def hs_dt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


USERS = [sfid("005", 1), sfid("005", 2)]
ACCOUNTS = [sfid("001", n) for n in range(1, 4)]
CONTACTS = [sfid("003", n) for n in range(1, 5)]
LEAD = sfid("00Q", 1)
OPPS = [sfid("006", n) for n in range(1, 6)]
STAGES = [
    ("Prospecting", 1, False, False, "Pipeline", 10),
    ("Qualification", 2, False, False, "Pipeline", 20),
    ("Proposal", 3, False, False, "BestCase", 60),
    ("Closed Won", 4, True, True, "Closed", 100),
    ("Closed Lost", 5, True, False, "Omitted", 0),
]


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])


def _system(
    created: datetime, modified: datetime | None = None, deleted: bool = False
) -> list[Any]:
    modified = modified or created
    return [
        sf_dt(created),
        USERS[0],
        sf_dt(modified),
        USERS[0],
        sf_dt(modified),
        "true" if deleted else "false",
    ]


SYSTEM = [
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
    "IsDeleted",
]


def write_export(root: Path) -> Path:
    start = NOW - timedelta(days=60)
    manifest = {
        "format": "milestone-sync-export/1",
        "seed": 7,
        "size": "tiny",
        "now": NOW.isoformat().replace("+00:00", "Z"),
        "history_start": start.isoformat().replace("+00:00", "Z"),
        "future_until": (NOW + timedelta(days=1)).isoformat().replace("+00:00", "Z"),
        "counts": {"Task": TASK_COUNT},
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.json").write_text(json.dumps(manifest))
    sf, fut = root / "salesforce", root / "future" / "salesforce"
    _write(
        sf / "User.csv",
        ["Id", "Username", "FirstName", "LastName", "Name", "Email", "IsActive", *SYSTEM],
        [
            [
                USERS[0],
                "alice@example.com",
                "Alice",
                "Adams",
                "Alice Adams",
                "alice@example.com",
                "true",
                *_system(start),
            ],
            [
                USERS[1],
                "bob@example.com",
                "Bob",
                "Brown",
                "Bob Brown",
                "bob@example.com",
                "true",
                *_system(start),
            ],
        ],
    )
    _write(
        sf / "Account.csv",
        ["Id", "Name", "Industry", "OwnerId", "AnnualRevenue", "ParentId", *SYSTEM],
        [
            [ACCOUNTS[0], "Acme Corp", "Manufacturing", USERS[0], "1000000", None, *_system(start)],
            [
                ACCOUNTS[1],
                "Globex",
                "Energy",
                USERS[1],
                "",
                None,
                *_system(start + timedelta(days=1)),
            ],
            [
                ACCOUNTS[2],
                "Initech's Labs",
                None,
                USERS[1],
                "50000.5",
                ACCOUNTS[0],
                *_system(start + timedelta(days=2)),
            ],
        ],
    )
    _write(
        sf / "Contact.csv",
        ["Id", "AccountId", "FirstName", "LastName", "Name", "Email", "OwnerId", *SYSTEM],
        [
            [
                CONTACTS[i],
                ACCOUNTS[i % 3],
                f"First{i}",
                f"Last{i}",
                f"First{i} Last{i}",
                f"c{i}@example.com",
                USERS[i % 2],
                *_system(start),
            ]
            for i in range(4)
        ],
    )
    _write(
        sf / "Lead.csv",
        [
            "Id",
            "FirstName",
            "LastName",
            "Name",
            "Company",
            "Email",
            "Status",
            "OwnerId",
            "IsConverted",
            *SYSTEM,
        ],
        [
            [
                LEAD,
                "Lena",
                "Lead",
                "Lena Lead",
                "Leadco",
                "lena@leadco.example",
                "Open",
                USERS[0],
                "false",
                *_system(start),
            ]
        ],
    )
    _write(
        sf / "OpportunityStage.csv",
        [
            "Id",
            "MasterLabel",
            "ApiName",
            "SortOrder",
            "IsActive",
            "IsClosed",
            "IsWon",
            "ForecastCategoryName",
            "DefaultProbability",
            *SYSTEM,
        ],
        [
            [
                sfid("01J", n),
                label,
                label,
                n,
                "true",
                str(closed).lower(),
                str(won).lower(),
                cat,
                prob,
                *_system(start),
            ]
            for label, n, closed, won, cat, prob in STAGES
        ],
    )
    opp_rows = []
    for i, (stage, amount, close) in enumerate(
        [
            ("Prospecting", "10000", "2025-04-01"),
            ("Qualification", "25000.5", "2025-04-15"),
            ("Proposal", "5000", "2025-03-20"),
            ("Closed Won", "70000", "2025-02-10"),
            ("Closed Lost", "1200", "2025-02-01"),
        ]
    ):
        _, _, closed, won, cat, prob = next(s for s in STAGES if s[0] == stage)
        modified = start + timedelta(days=10 + i)
        opp_rows.append(
            [
                OPPS[i],
                f"Deal {i}",
                ACCOUNTS[i % 3],
                USERS[i % 2],
                stage,
                amount,
                close,
                prob,
                cat,
                str(closed).lower(),
                str(won).lower(),
                *_system(start, modified, deleted=i == 4),
            ]
        )
    opp_header = [
        "Id",
        "Name",
        "AccountId",
        "OwnerId",
        "StageName",
        "Amount",
        "CloseDate",
        "Probability",
        "ForecastCategoryName",
        "IsClosed",
        "IsWon",
        *SYSTEM,
    ]
    _write(sf / "Opportunity.csv", opp_header, opp_rows)
    _write(
        sf / "OpportunityHistory.csv",
        ["Id", "OpportunityId", "StageName", "Amount", "CloseDate", "Probability", *SYSTEM],
        [
            [
                sfid("008", n + 1),
                OPPS[n],
                "Prospecting",
                "10000",
                "2025-04-01",
                "10",
                *_system(start + timedelta(days=n)),
            ]
            for n in range(4)
        ],
    )
    _write(
        sf / "OpportunityContactRole.csv",
        ["Id", "OpportunityId", "ContactId", "Role", "IsPrimary", *SYSTEM],
        [[sfid("00K", 1), OPPS[0], CONTACTS[0], "Decision Maker", "true", *_system(start)]],
    )
    task_rows = []
    for n in range(TASK_COUNT):
        created = start + timedelta(minutes=20 * n)
        who = CONTACTS[n % 4] if n % 10 else LEAD
        what = OPPS[n % 5] if n % 3 else ACCOUNTS[n % 3]
        subtype = ("Email", "Call", "Task")[n % 3]
        task_rows.append(
            [
                sfid("00T", n + 1),
                f"Task {n}",
                "Completed" if n % 2 else "Not Started",
                subtype,
                who,
                what,
                USERS[n % 2],
                created.date().isoformat(),
                "Inbound" if subtype == "Call" and n % 2 else None,
                *_system(created, deleted=n == 7),
            ]
        )
    task_header = [
        "Id",
        "Subject",
        "Status",
        "TaskSubtype",
        "WhoId",
        "WhatId",
        "OwnerId",
        "ActivityDate",
        "CallType",
        *SYSTEM,
    ]
    _write(sf / "Task.csv", task_header, task_rows)
    _write(
        sf / "Event.csv",
        ["Id", "Subject", "StartDateTime", "EndDateTime", "WhoId", "WhatId", "OwnerId", *SYSTEM],
        [
            [
                sfid("00U", 1),
                "Demo",
                sf_dt(NOW - timedelta(days=3)),
                sf_dt(NOW - timedelta(days=3, hours=-1)),
                CONTACTS[0],
                OPPS[0],
                USERS[0],
                *_system(NOW - timedelta(days=5)),
            ],
        ],
    )
    _write(
        sf / "EmailMessage.csv",
        [
            "Id",
            "Subject",
            "FromAddress",
            "ToAddress",
            "Incoming",
            "MessageDate",
            "RelatedToId",
            "HasAttachment",
            "Status",
            "TextBody",
            *SYSTEM,
        ],
        [
            [
                sfid("02s", 1),
                "Re: proposal",
                "c0@example.com",
                "alice@example.com",
                "true",
                sf_dt(NOW - timedelta(days=2)),
                OPPS[0],
                "false",
                "0",
                "Looks good",
                *_system(NOW - timedelta(days=2)),
            ],
            [
                sfid("02s", 2),
                "Proposal",
                "alice@example.com",
                "c0@example.com",
                "false",
                sf_dt(NOW - timedelta(days=4)),
                OPPS[0],
                "true",
                "3",
                "Here it is",
                *_system(NOW - timedelta(days=4)),
            ],
        ],
    )
    (sf / "describe.json").write_text(
        json.dumps(
            {
                "EmailMessage": {
                    "Status": {"type": "picklist"},
                    "TextBody": {"type": "textarea"},
                    "RelatedToId": {"type": "reference", "referenceTo": ["Opportunity", "Account"]},
                }
            }
        )
    )
    # future Salesforce versions: a new task in an hour, a stage change at +90 minutes
    _write(
        fut / "Task.csv",
        task_header,
        [
            [
                sfid("00T", 9001),
                "Future call",
                "Completed",
                "Call",
                CONTACTS[0],
                OPPS[0],
                USERS[0],
                NOW.date().isoformat(),
                "Inbound",
                *_system(NOW + timedelta(hours=1)),
            ]
        ],
    )
    changed = list(opp_rows[0])
    changed[4], changed[7], changed[8] = "Proposal", "60", "BestCase"
    changed[-4] = sf_dt(NOW + timedelta(minutes=90))
    changed[-2] = sf_dt(NOW + timedelta(minutes=90))
    _write(fut / "Opportunity.csv", opp_header, [changed])
    _write_hubspot(root, start)
    return root


def _write_hubspot(root: Path, start: datetime) -> None:
    hs, fut = root / "hubspot", root / "future" / "hubspot"
    base = ["id", "createdAt", "updatedAt", "archived"]
    _write(
        hs / "owners.csv",
        [
            "id",
            "email",
            "firstName",
            "lastName",
            "userId",
            "createdAt",
            "updatedAt",
            "archived",
            "teams",
        ],
        [
            [
                "101",
                "alice@example.com",
                "Alice",
                "Adams",
                "9001",
                hs_dt(start),
                hs_dt(start),
                "false",
                "Sales EU",
            ],
            [
                "102",
                "bob@example.com",
                "Bob",
                "Brown",
                "9002",
                hs_dt(start),
                hs_dt(start),
                "false",
                "",
            ],
        ],
    )
    (hs / "pipelines.json").write_text(
        json.dumps(
            {
                "results": [
                    {
                        "id": "default",
                        "label": "Sales Pipeline",
                        "displayOrder": 0,
                        "archived": False,
                        "createdAt": hs_dt(start),
                        "updatedAt": hs_dt(start),
                        "stages": [
                            {
                                "id": sid,
                                "label": label,
                                "displayOrder": i,
                                "archived": False,
                                "metadata": {"probability": prob, "isClosed": closed},
                                "createdAt": hs_dt(start),
                                "updatedAt": hs_dt(start),
                                "writeOptions": {},
                            }
                            for i, (sid, label, prob, closed) in enumerate(
                                [
                                    ("appointmentscheduled", "Appointment", "0.2", "false"),
                                    ("qualifiedtobuy", "Qualified", "0.4", "false"),
                                    ("closedwon", "Closed won", "1.0", "true"),
                                    ("closedlost", "Closed lost", "0.0", "true"),
                                ]
                            )
                        ],
                    }
                ]
            }
        )
    )
    _write(
        hs / "companies.csv",
        [*base, "name", "domain", "hs_lastmodifieddate", "hubspot_owner_id"],
        [
            [
                str(200 + i),
                hs_dt(start),
                hs_dt(start + timedelta(days=i)),
                "false",
                f"Company {i}",
                f"c{i}.example",
                hs_dt(start + timedelta(days=i)),
                "101",
            ]
            for i in range(3)
        ],
    )
    _write(
        hs / "contacts.csv",
        [
            *base,
            "email",
            "firstname",
            "lastname",
            "lastmodifieddate",
            "hs_lastmodifieddate",
            "createdate",
        ],
        [
            [
                str(300 + i),
                hs_dt(start),
                hs_dt(start + timedelta(days=i)),
                "false",
                f"p{i}@example.com",
                f"Pat{i}",
                f"Doe{i}",
                hs_dt(start + timedelta(days=i)),
                hs_dt(start + timedelta(days=i)),
                hs_dt(start),
            ]
            for i in range(4)
        ],
    )
    deal_header = [
        *base,
        "dealname",
        "amount",
        "dealstage",
        "pipeline",
        "closedate",
        "createdate",
        "hs_lastmodifieddate",
        "hubspot_owner_id",
        "hs_is_closed_won",
    ]
    deal_rows = []
    for i, (stage, amount) in enumerate(
        [
            ("appointmentscheduled", "1000"),
            ("qualifiedtobuy", "2500.5"),
            ("closedwon", "9000"),
            ("closedlost", "10"),
            ("qualifiedtobuy", ""),
        ]
    ):
        modified = hs_dt(start + timedelta(days=5 + i))
        deal_rows.append(
            [
                str(400 + i),
                hs_dt(start),
                modified,
                "true" if i == 3 else "false",
                f"Deal {i}",
                amount,
                stage,
                "default",
                "2025-04-01T00:00:00.000Z",
                hs_dt(start),
                modified,
                "101" if i % 2 == 0 else "102",
                "true" if stage == "closedwon" else "false",
            ]
        )
    _write(hs / "deals.csv", deal_header, deal_rows)
    email_header = [
        *base,
        "hs_timestamp",
        "hs_email_direction",
        "hs_email_status",
        "hs_email_subject",
        "hs_lastmodifieddate",
        "hs_createdate",
    ]
    _write(
        hs / "emails.csv",
        email_header,
        [
            [
                str(500 + i),
                hs_dt(start + timedelta(hours=i)),
                hs_dt(start + timedelta(hours=i)),
                "false",
                hs_dt(start + timedelta(hours=i)),
                "INCOMING_EMAIL" if i % 2 else "EMAIL",
                "SENT",
                f"Mail {i}",
                hs_dt(start + timedelta(hours=i)),
                hs_dt(start + timedelta(hours=i)),
            ]
            for i in range(30)
        ],
    )
    for name, props in (
        ("meetings", ["hs_meeting_outcome", "hs_meeting_start_time"]),
        ("calls", ["hs_call_direction", "hs_call_duration"]),
        ("notes", ["hs_note_body"]),
        ("tasks", ["hs_task_status"]),
    ):
        values = {
            "hs_meeting_outcome": "COMPLETED",
            "hs_meeting_start_time": hs_dt(NOW - timedelta(days=1)),
            "hs_call_direction": "INBOUND",
            "hs_call_duration": "60000",
            "hs_note_body": "note",
            "hs_task_status": "COMPLETED",
        }
        first = {"meetings": 600, "calls": 700, "notes": 800, "tasks": 900}[name]
        _write(
            hs / f"{name}.csv",
            [*base, "hs_timestamp", "hs_lastmodifieddate", *props],
            [
                [
                    str(first + i),
                    hs_dt(start),
                    hs_dt(start + timedelta(days=i)),
                    "false",
                    hs_dt(start + timedelta(days=i)),
                    hs_dt(start + timedelta(days=i)),
                    *[values[p] for p in props],
                ]
                for i in range(3)
            ],
        )
    _write(
        hs / "property_history.csv",
        ["objectType", "id", "property", "value", "timestamp", "sourceType"],
        [
            ["deals", "401", "dealstage", "appointmentscheduled", hs_dt(start), "CRM_UI"],
            [
                "deals",
                "401",
                "dealstage",
                "qualifiedtobuy",
                hs_dt(start + timedelta(days=6)),
                "CRM_UI",
            ],
        ],
    )
    _write(
        hs / "associations.csv",
        ["fromType", "fromId", "toType", "toId", "typeId"],
        [
            ["deals", "400", "contacts", "300", "3"],
            ["deals", "400", "contacts", "301", "3"],
            ["deals", "400", "companies", "200", "5"],
            ["deals", "401", "companies", "201", "5"],
            ["emails", "501", "contacts", "300", "198"],
            ["emails", "501", "deals", "400", "210"],
        ],
    )
    # the future: an incoming email in an hour, a stage change at +90 minutes
    _write(
        fut / "emails.csv",
        email_header,
        [
            [
                "599",
                hs_dt(NOW + timedelta(hours=1)),
                hs_dt(NOW + timedelta(hours=1)),
                "false",
                hs_dt(NOW + timedelta(hours=1)),
                "INCOMING_EMAIL",
                "SENT",
                "Future mail",
                hs_dt(NOW + timedelta(hours=1)),
                hs_dt(NOW + timedelta(hours=1)),
            ]
        ],
    )
    changed = list(deal_rows[0])
    changed[2] = hs_dt(NOW + timedelta(minutes=90))
    changed[6] = "qualifiedtobuy"
    changed[10] = changed[2]
    _write(fut / "deals.csv", deal_header, [changed])
    _write(
        fut / "associations.csv",
        ["fromType", "fromId", "toType", "toId", "typeId"],
        [["emails", "599", "deals", "400", "210"]],
    )
    _write(
        fut / "property_history.csv",
        ["objectType", "id", "property", "value", "timestamp", "sourceType"],
        [
            [
                "deals",
                "400",
                "dealstage",
                "qualifiedtobuy",
                hs_dt(NOW + timedelta(minutes=90)),
                "CRM_UI",
            ]
        ],
    )
