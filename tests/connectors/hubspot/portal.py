"""A small HubSpot portal written as an export folder (milestone-sync-export/1), for the tests.

Every case a HubSpot sync must handle is in it, at known ids and times:

- 3 companies, 4 contacts, 3 deals (one archived, dealstage history), `emails` emails (one
  archived), 1 meeting, 2 owners (one archived), 1 pipeline;
- associations stamped when they were made, one of them (email 2 → deal 2) an hour after
  `NOW` and without touching the email: the case a search cannot see;
- future versions: `future_changes` emails modified one second apart after `NOW`, a new email,
  and deal 1 moving to `contractsent` two hours after `NOW`.

    root = write_portal(tmp_path, emails=30, future_changes=5)
    sandbox = Sandbox.from_export(root, SandboxConfig(hs_search_per_second=None))
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = [
    "ARCHIVED_DEAL",
    "ARCHIVED_EMAIL",
    "LATE_LINK",
    "NOW",
    "company",
    "contact",
    "deal",
    "email",
    "hs_time",
    "write_portal",
]

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
START = NOW - timedelta(days=60)


def hs_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def company(n: int) -> str:
    return str(18_000_000_000 + n)


def contact(n: int) -> str:
    return str(20_000_000_000 + n)


def deal(n: int) -> str:
    return str(12_000_000_000 + n)


def email(n: int) -> str:
    return str(40_000_000_000 + n)


ARCHIVED_DEAL = deal(3)
ARCHIVED_EMAIL = email(3)
LATE_LINK = (email(20), deal(2))  # associated an hour after NOW, the email untouched


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])


def _email_row(n: int, created: datetime, modified: datetime, subject: str) -> list[Any]:
    archived = email(n) == ARCHIVED_EMAIL
    direction = "INCOMING_EMAIL" if n % 2 else "EMAIL"
    stamp = hs_time(modified)
    return [
        email(n),
        hs_time(created),
        stamp,
        "true" if archived else "false",
        hs_time(created),
        hs_time(created),
        stamp,
        "61000001",
        direction,
        "" if direction == "INCOMING_EMAIL" else "SENT",
        subject,
        f"Body of email {n}",
        email(n),
    ]


EMAIL_HEADER = [
    "id",
    "createdAt",
    "updatedAt",
    "archived",
    "hs_timestamp",
    "hs_createdate",
    "hs_lastmodifieddate",
    "hubspot_owner_id",
    "hs_email_direction",
    "hs_email_status",
    "hs_email_subject",
    "hs_email_text",
    "hs_object_id",
]
DEAL_HEADER = [
    "id",
    "createdAt",
    "updatedAt",
    "archived",
    "dealname",
    "amount",
    "dealstage",
    "pipeline",
    "closedate",
    "hubspot_owner_id",
    "dealtype",
    "segment",
    "createdate",
    "hs_lastmodifieddate",
    "hs_object_id",
]


def _deal_row(n: int, stage: str, modified: datetime) -> list[Any]:
    created = START + timedelta(days=n)
    return [
        deal(n),
        hs_time(created),
        hs_time(modified),
        "true" if deal(n) == ARCHIVED_DEAL else "false",
        f"Deal {n}",
        str(1000 * n),
        stage,
        "default",
        hs_time(NOW + timedelta(days=30)),
        "61000001",
        "newbusiness",
        "enterprise" if n % 2 else "smb",
        hs_time(created),
        hs_time(modified),
        deal(n),
    ]


def write_portal(root: Path, *, emails: int = 30, future_changes: int = 5) -> Path:
    """Write the portal under `root` and return `root`."""
    root.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": "milestone-sync-export/1",
        "seed": 0,
        "size": "export",
        "now": hs_time(NOW),
        "history_start": hs_time(START),
        "future_until": hs_time(NOW + timedelta(days=30)),
        "counts": {},
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    hs, future = root / "hubspot", root / "future" / "hubspot"
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
                "61000001",
                "ada@example.com",
                "Ada",
                "Ames",
                "9100001",
                hs_time(START),
                hs_time(START),
                "false",
                "Enterprise",
            ],
            [
                "61000002",
                "bo@example.com",
                "Bo",
                "Berg",
                "9100002",
                hs_time(START),
                hs_time(START + timedelta(days=5)),
                "true",
                "SMB;Enterprise",
            ],
        ],
    )
    stages = [("appointmentscheduled", "0.2"), ("contractsent", "0.9"), ("closedwon", "1.0")]
    pipelines = [
        {
            "label": "Sales Pipeline",
            "displayOrder": 0,
            "id": "default",
            "createdAt": hs_time(START),
            "updatedAt": hs_time(START),
            "archived": False,
            "stages": [
                {
                    "label": stage,
                    "displayOrder": i,
                    "metadata": {"isClosed": str(stage == "closedwon").lower(), "probability": p},
                    "id": stage,
                    "createdAt": hs_time(START),
                    "updatedAt": hs_time(START),
                    "archived": False,
                }
                for i, (stage, p) in enumerate(stages)
            ],
        }
    ]
    (hs / "pipelines.json").write_text(json.dumps(pipelines, indent=2))
    _write(
        hs / "companies.csv",
        [
            "id",
            "createdAt",
            "updatedAt",
            "archived",
            "name",
            "domain",
            "segment",
            "createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
        ],
        [
            [
                company(n),
                hs_time(START),
                hs_time(START + timedelta(hours=n)),
                "false",
                f"Company {n}",
                f"c{n}.example",
                "enterprise",
                hs_time(START),
                hs_time(START + timedelta(hours=n)),
                company(n),
            ]
            for n in range(1, 4)
        ],
    )
    _write(
        hs / "contacts.csv",
        [
            "id",
            "createdAt",
            "updatedAt",
            "archived",
            "firstname",
            "lastname",
            "email",
            "associatedcompanyid",
            "createdate",
            "lastmodifieddate",
            "hs_lastmodifieddate",
            "hs_object_id",
        ],
        [
            [
                contact(n),
                hs_time(START),
                hs_time(START + timedelta(hours=n)),
                "false",
                f"First{n}",
                f"Last{n}",
                f"p{n}@c.example",
                company(1 + n % 3),
                hs_time(START),
                hs_time(START + timedelta(hours=n)),
                hs_time(START + timedelta(hours=n)),
                contact(n),
            ]
            for n in range(1, 5)
        ],
    )
    deal_modified = {1: START + timedelta(days=10), 2: START + timedelta(days=11)}
    deal_modified[3] = START + timedelta(days=12)
    _write(
        hs / "deals.csv",
        DEAL_HEADER,
        [
            _deal_row(1, "appointmentscheduled", deal_modified[1]),
            _deal_row(2, "contractsent", deal_modified[2]),
            _deal_row(3, "appointmentscheduled", deal_modified[3]),
        ],
    )
    _write(
        future / "deals.csv",
        DEAL_HEADER,
        [_deal_row(1, "contractsent", NOW + timedelta(hours=2))],
    )
    history_header = ["objectType", "id", "property", "value", "timestamp", "sourceType"]
    _write(
        hs / "property_history.csv",
        history_header,
        [
            [
                "deals",
                deal(1),
                "dealstage",
                "appointmentscheduled",
                hs_time(START + timedelta(1)),
                "CRM_UI",
            ],
            [
                "deals",
                deal(2),
                "dealstage",
                "appointmentscheduled",
                hs_time(START + timedelta(2)),
                "CRM_UI",
            ],
            ["deals", deal(2), "dealstage", "contractsent", hs_time(deal_modified[2]), "CRM_UI"],
        ],
    )
    _write(
        future / "property_history.csv",
        history_header,
        [["deals", deal(1), "dealstage", "contractsent", hs_time(NOW + timedelta(hours=2)), "UI"]],
    )
    email_rows = []
    for n in range(1, emails + 1):
        created = START + timedelta(days=1, minutes=n)
        email_rows.append(_email_row(n, created, created, f"Subject {n}"))
    _write(hs / "emails.csv", EMAIL_HEADER, email_rows)
    future_rows = [
        _email_row(n, START + timedelta(days=1, minutes=n), NOW + timedelta(seconds=n), "Re: new")
        for n in range(1, future_changes + 1)
    ]
    new_email = emails + 1
    future_rows.append(
        _email_row(new_email, NOW + timedelta(hours=3), NOW + timedelta(hours=3), "Brand new")
    )
    _write(future / "emails.csv", EMAIL_HEADER, future_rows)
    _write(
        hs / "meetings.csv",
        [
            "id",
            "createdAt",
            "updatedAt",
            "archived",
            "hs_timestamp",
            "hs_lastmodifieddate",
            "hs_meeting_title",
            "hs_meeting_outcome",
            "hs_meeting_start_time",
            "hs_object_id",
        ],
        [
            [
                "40900000001",
                hs_time(START),
                hs_time(START),
                "false",
                hs_time(START),
                hs_time(START),
                "Intro",
                "COMPLETED",
                hs_time(START),
                "40900000001",
            ]
        ],
    )
    link_header = ["fromType", "fromId", "toType", "toId", "typeId", "timestamp"]
    links: list[list[Any]] = [
        ["contacts", contact(n), "companies", company(1 + n % 3), 1, hs_time(START)]
        for n in range(1, 5)
    ]
    links += [["deals", deal(n), "contacts", contact(n), 3, hs_time(START)] for n in range(1, 4)]
    links += [["deals", deal(n), "companies", company(n), 5, hs_time(START)] for n in range(1, 4)]
    for n in range(1, emails + 1):
        if email(n) != LATE_LINK[0]:
            links.append(["emails", email(n), "deals", deal(1 + n % 3), 210, hs_time(START)])
        links.append(["emails", email(n), "contacts", contact(1 + n % 4), 198, hs_time(START)])
    links.append(
        ["emails", LATE_LINK[0], "deals", LATE_LINK[1], 210, hs_time(NOW + timedelta(hours=1))]
    )
    links.append(["meetings", "40900000001", "deals", deal(1), 212, hs_time(START)])
    _write(hs / "associations.csv", link_header, links)
    _write(
        future / "associations.csv",
        link_header,
        [["emails", email(new_email), "deals", deal(1), 210, hs_time(NOW + timedelta(hours=3))]],
    )
    (root / "salesforce").mkdir(exist_ok=True)
    return root
