"""A Salesforce Data Export (zips of per-object CSVs) read as `queryAll` would have answered."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.core import ConfigError, Quarantined, Record
from connectors.exports import open_export, scan
from connectors.exports.salesforce import SalesforceExport

TASK_HEADER = (
    "Id,WhoId,WhatId,Subject,ActivityDate,IsClosed,CallDurationInSeconds,Score__c,Urgent__c,"
    "IsDeleted,CreatedDate,LastModifiedDate,SystemModstamp"
)
TASKS = [
    "00T000000000001AAA,003000000000001AAA,006000000000001AAA,Call,2025-03-04,1,300,4.5,true,0,"
    "2025-03-04T10:00:00.000Z,2025-03-04T10:05:00.000Z,2025-03-04T10:05:00.000Z",
    '00T000000000002AAA,,006000000000001AAA,"Email: ""Hi"", again",2025-03-05,0,,7,false,1,'
    "2025-03-05T09:00:00.000Z,2025-03-05T09:00:00.000Z,2025-03-05 09:30:00",
]


def data_export(path: Path, files: dict[str, str], *, bom: bool = True) -> Path:
    """A weekly-export style zip: `<Object>.csv` at the top, UTF-8 with a byte-order mark."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, ("\ufeff" if bom else "") + text)
    return path


def read(path: Path, stream: str, **options: object) -> list[Record | Quarantined]:
    source = SalesforceExport(scan(path), encoding="utf-8-sig", **options)  # type: ignore[arg-type]
    return list(source.rows(stream))


def test_rows_become_rest_payloads_typed_by_the_standard_fields_and_their_values(
    tmp_path: Path,
) -> None:
    export = data_export(
        tmp_path / "WE_00D_1.ZIP",
        {"Task.csv": "\n".join([TASK_HEADER, *TASKS]) + "\n", "Attachment.csv": "Id,Name\n"},
    )
    first, second = read(export, "Task")
    assert isinstance(first, Record) and isinstance(second, Record)
    assert first.payload == {
        "attributes": {
            "type": "Task",
            "url": "/services/data/v59.0/sobjects/Task/00T000000000001AAA",
        },
        "Id": "00T000000000001AAA",
        "WhoId": "003000000000001AAA",
        "WhatId": "006000000000001AAA",
        "Subject": "Call",
        "ActivityDate": "2025-03-04",
        "IsClosed": True,
        "CallDurationInSeconds": 300,
        "Score__c": 4.5,
        "Urgent__c": True,
        "IsDeleted": False,
        "CreatedDate": "2025-03-04T10:00:00.000+0000",
        "LastModifiedDate": "2025-03-04T10:05:00.000+0000",
        "SystemModstamp": "2025-03-04T10:05:00.000+0000",
    }
    assert first.modified_at == datetime(2025, 3, 4, 10, 5, tzinfo=UTC)
    assert second.payload["Subject"] == 'Email: "Hi", again'
    assert second.payload["WhoId"] is None and second.payload["CallDurationInSeconds"] is None
    assert second.deleted and second.modified_at == datetime(2025, 3, 5, 9, 30, tzinfo=UTC)


def test_a_describe_in_the_export_decides_the_types(tmp_path: Path) -> None:
    root = tmp_path / "export"
    root.mkdir()
    (root / "Task.csv").write_text("\n".join([TASK_HEADER, *TASKS]) + "\n")
    describe = {"name": "Task", "fields": [{"name": "Score__c", "type": "string"}]}
    (root / "describe").mkdir()
    (root / "describe" / "Task.json").write_text(json.dumps(describe))
    first = read(root, "Task")[0]
    assert isinstance(first, Record) and first.payload["Score__c"] == "4.5"


def test_an_object_split_over_several_zips_is_read_whole(tmp_path: Path) -> None:
    data_export(tmp_path / "WE_1.ZIP", {"Task.csv": f"{TASK_HEADER}\n{TASKS[0]}\n"})
    data_export(tmp_path / "WE_2.ZIP", {"Task.csv": f"{TASK_HEADER}\n{TASKS[1]}\n"}, bom=False)
    rows = read(tmp_path, "Task")
    assert [r.external_id for r in rows] == ["00T000000000001AAA", "00T000000000002AAA"]


def test_rows_that_do_not_fit_are_quarantined_with_file_row_and_field(tmp_path: Path) -> None:
    root = tmp_path / "export"
    root.mkdir()
    header = "Id,Amount,IsWon,SystemModstamp"
    (root / "Opportunity.csv").write_text(
        "\n".join(
            [
                header,
                "006A,100,true,2025-03-04T10:00:00.000Z",
                "006B,a lot,true,2025-03-04T10:00:00.000Z",
                ",100,true,2025-03-04T10:00:00.000Z",
                "006D,100,true",
                "006E,100,perhaps,2025-03-04T10:00:00.000Z",
                "006F,100,false,",
            ]
        )
        + "\n"
    )
    rows = read(root, "Opportunity")
    assert isinstance(rows[0], Record) and rows[0].payload["Amount"] == 100.0
    assert [(q.external_id, q.reason) for q in rows[1:] if isinstance(q, Quarantined)] == [
        ("006B", "Opportunity.csv row 2: Amount: 'a lot' is not a number"),
        (None, "Opportunity.csv row 3: missing Id"),
        ("006D", "Opportunity.csv row 4: 3 cells, the header has 4"),
        ("006E", "Opportunity.csv row 5: IsWon: 'perhaps' is not a checkbox value"),
        ("006F", "Opportunity.csv row 6: no SystemModstamp, LastModifiedDate or CreatedDate"),
    ]


def test_only_the_connectors_streams_unless_others_are_named(tmp_path: Path) -> None:
    root = tmp_path / "export"
    root.mkdir()
    (root / "Task.csv").write_text(f"{TASK_HEADER}\n{TASKS[0]}\n")
    (root / "Invoice__c.csv").write_text("Id,SystemModstamp\na01A,2025-03-04T10:00:00.000Z\n")
    (root / "ContentVersion.csv").write_text("Id,SystemModstamp\n")
    reader, specs = open_export(root)
    assert reader.crm == "salesforce" and [s.name for s in specs] == ["Task"]
    _reader, specs = open_export(root, streams=["Task", "Invoice__c"])
    assert [s.name for s in specs] == ["Task", "Invoice__c"]
    with pytest.raises(ConfigError, match="no file for Event; it has: ContentVersion, Invoice__c"):
        open_export(root, streams=["Event"])


def test_an_export_that_is_not_one_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        open_export(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ConfigError, match=r"neither a folder nor a \.zip"):
        open_export(tmp_path / "notes.txt")
    (tmp_path / "Task.csv").write_text("Subject\nHi\n")
    reader, specs = open_export(tmp_path)
    with pytest.raises(ConfigError, match=r"Task\.csv: no Id column"):
        list(reader.source.rows(specs[0].name))
