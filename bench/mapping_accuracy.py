"""Do the shipped example rulesets recover the generator's ground truth?

    python -m bench mapping_accuracy [--seed 7] [--size small|medium] [--export DIR]
                                     [--crms salesforce,hubspot]

Generates a sales history (or reads `--export DIR`), loads its export files into the raw layer
of a fresh SQLite database exactly as the connectors store records (parsed here, from the CSV
files; no connector code), activates `mappings/examples/<crm>.yaml` for that connection, and
compares the milestone events with `truth/deals.csv`.

Per deal and milestone the first event counts. A first event is a true positive when the truth
has that milestone for that deal within `--tolerance-hours` (default 24: Salesforce call tasks
carry only the day, `ActivityDate`); precision = TP / deals with an event, recall = TP / deals
that truly reached the milestone.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "mappings" / "examples"
SF_API = "/services/data/v59.0/sobjects"
_NUMBER_TYPES = {"int", "double", "currency", "percent"}
_SINGULAR = {
    "contacts": "contact",
    "companies": "company",
    "deals": "deal",
    "emails": "email",
    "meetings": "meeting",
    "calls": "call",
    "notes": "note",
    "tasks": "task",
}

# -- reading an export -----------------------------------------------------------------------------


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _sf_datetime(text: str) -> str:
    """Export instants ('...000Z') as the REST API writes them ('...000+0000')."""
    return text[:-1] + "+0000" if text.endswith("Z") else text


def _sf_value(kind: str, text: str) -> Any:
    if text == "":
        return None
    if kind == "boolean":
        return text == "true"
    if kind in _NUMBER_TYPES:
        number = float(text)
        return int(number) if number.is_integer() else number
    if kind == "datetime":
        return _sf_datetime(text)
    return text


def salesforce_records(export: Path) -> Iterator[tuple[str, str, datetime, bool, dict[str, Any]]]:
    """(stream, id, modified_at, deleted, payload) for every Salesforce record of the export."""
    describe = json.loads((export / "salesforce" / "describe.json").read_text())
    for stream, fields in describe.items():
        path = export / "salesforce" / f"{stream}.csv"
        if not path.exists():
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                record_id = row["Id"]
                payload: dict[str, Any] = {
                    "attributes": {"type": stream, "url": f"{SF_API}/{stream}/{record_id}"}
                }
                for name, text in row.items():
                    payload[name] = _sf_value(fields.get(name, {}).get("type", "string"), text)
                modified = row.get("SystemModstamp") or row.get("CreatedDate") or ""
                yield (
                    stream,
                    record_id,
                    _instant(modified),
                    payload.get("IsDeleted") is True,
                    payload,
                )


def hubspot_records(export: Path) -> Iterator[tuple[str, str, datetime, bool, dict[str, Any]]]:
    folder = export / "hubspot"
    associations: dict[tuple[str, str], dict[str, list[dict[str, str]]]] = defaultdict(dict)
    with (folder / "associations.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            source, target = row["fromType"], row["toType"]
            pairs = (
                (source, row["fromId"], target, row["toId"]),
                (target, row["toId"], source, row["fromId"]),
            )
            for from_type, from_id, to_type, to_id in pairs:
                label = (
                    f"{_SINGULAR.get(from_type, from_type)}_to_{_SINGULAR.get(to_type, to_type)}"
                )
                associations[(from_type, from_id)].setdefault(to_type, []).append(
                    {"id": to_id, "type": label}
                )
    yield from _form_submissions(folder)
    for path in sorted(folder.glob("*.csv")):
        stream = path.stem
        if stream in ("associations", "property_history", "form_submissions"):
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                record_id = row["id"]
                archived = row.get("archived") == "true"
                if stream == "owners":
                    payload: dict[str, Any] = {k: (v if v != "" else None) for k, v in row.items()}
                    payload["archived"] = archived
                else:
                    properties = {
                        k: (v if v != "" else None)
                        for k, v in row.items()
                        if k not in ("id", "createdAt", "updatedAt", "archived")
                    }
                    payload = {
                        "id": record_id,
                        "properties": properties,
                        "createdAt": row["createdAt"],
                        "updatedAt": row["updatedAt"],
                        "archived": archived,
                    }
                    linked = associations.get((stream, record_id))
                    if linked:
                        payload["associations"] = {
                            kind: {"results": items} for kind, items in linked.items()
                        }
                yield stream, record_id, _instant(row["updatedAt"]), archived, payload


def _form_submissions(folder: Path) -> Iterator[tuple[str, str, datetime, bool, dict[str, Any]]]:
    """Form submissions as the HubSpot connector stores them: the v1 API's fields, the form's
    id and name, the address, and the contact with that address (`connectors.hubspot.forms`)."""
    path = folder / "form_submissions.csv"
    if not path.exists():
        return
    forms = json.loads((folder / "forms.json").read_text(encoding="utf-8"))
    names = {form["id"]: form["name"] for form in forms}
    contacts: dict[str, str] = {}
    with (folder / "contacts.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["email"] and row["archived"] != "true":
                contacts[row["email"].strip().lower()] = row["id"]
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        for row in reader:
            moment = _instant(row[2])
            values = [
                {"name": name, "value": value}
                for name, value in zip(header[4:], row[4:], strict=True)
                if value
            ]
            email = next((v["value"].lower() for v in values if v["name"] == "email"), None)
            payload: dict[str, Any] = {
                "conversionId": row[0],
                "submittedAt": int(moment.timestamp() * 1000),
                "values": values,
                "pageUrl": row[3],
                "formId": row[1],
                "formName": names.get(row[1]),
                "email": email,
            }
            contact = contacts.get(email) if email else None
            if contact is not None:
                link = {"id": contact, "type": "form_submission_to_contact"}
                payload["associations"] = {"contacts": {"results": [link]}}
            yield "form_submissions", row[0], moment, False, payload


def truth(export: Path, crm: str) -> dict[tuple[str, str], datetime]:
    """(opportunity external id, milestone) -> true time, for every milestone reached."""
    column = "salesforce_opportunity_id" if crm == "salesforce" else "hubspot_deal_id"
    steps = (
        "reply",
        "meeting_held",
        "requirements_sent",
        "proposal_requested",
        "verbal_yes",
        "signed",
    )
    found: dict[tuple[str, str], datetime] = {}
    with (export / "truth" / "deals.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for step in steps:
                if row[step]:
                    found[(row[column], step)] = _instant(row[step])
    return found


# -- scoring ---------------------------------------------------------------------------------------


def score(
    predicted: dict[tuple[str, str], datetime],
    actual: dict[tuple[str, str], datetime],
    tolerance: timedelta,
) -> list[dict[str, Any]]:
    milestones = sorted({m for _, m in actual} | {m for _, m in predicted})
    rows = []
    for milestone in milestones:
        truth_keys = {k for k in actual if k[1] == milestone}
        predicted_keys = {k for k in predicted if k[1] == milestone}
        hits = {
            k for k in predicted_keys & truth_keys if abs(predicted[k] - actual[k]) <= tolerance
        }
        exact = sum(1 for k in hits if predicted[k] == actual[k])
        rows.append(
            {
                "milestone": milestone,
                "truth": len(truth_keys),
                "predicted": len(predicted_keys),
                "true_positive": len(hits),
                "precision": round(len(hits) / len(predicted_keys), 4) if predicted_keys else 1.0,
                "recall": round(len(hits) / len(truth_keys), 4) if truth_keys else 1.0,
                "exact_time_share": round(exact / len(hits), 3) if hits else None,
            }
        )
    return rows


# -- the benchmark ---------------------------------------------------------------------------------


def generate_export(
    seed: int,
    size: str,
    out: Path,
    opportunities: int | None = None,
    scenario: str = "steady",
) -> None:
    """The generator runs in its own process, through its public entry point (`opportunities`
    overrides the size's count; `scenario` names a market change)."""
    params = f"seed={seed}, size={size!r}, opportunities={opportunities!r}, scenario={scenario!r}"
    code = (
        "import sys; from pathlib import Path; "
        "from sandbox.history import build_params, generate; "
        f"generate(build_params({params}), Path(sys.argv[1]), force=True)"
    )
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, cwd=ROOT)


def load_export(database: Any, export: Path, crm: str) -> int:
    """Store the export's records of one CRM as a connection's raw records; returns its id."""
    from app.models import Connection
    from app.services.sync.raw_records import RawRecordWriter
    from connectors.core import Record

    with database.session() as session:
        connection = Connection(name=f"export-{crm}", kind=crm, credentials_sealed="-")
        connection.settings = (
            {"portal_id": "1234567"}
            if crm == "hubspot"
            else {"instance_url": "https://brightwave.my.salesforce.com"}
        )
        session.add(connection)
        session.flush()
        connection_id = connection.id
    reader = salesforce_records if crm == "salesforce" else hubspot_records
    total = 0
    # Streamed: the readers yield one stream's file after another, so the records are stored
    # in the order they are read, `LOAD_CHUNK` at a time, never the whole export in memory.
    with database.engine.begin() as connection:
        chunk: list[Record] = []
        current: str | None = None
        for stream, record_id, modified, deleted, payload in reader(export):
            if stream != current or len(chunk) >= LOAD_CHUNK:
                if current is not None and chunk:
                    RawRecordWriter(connection, connection_id, current).upsert(chunk)
                    total += len(chunk)
                chunk, current = [], stream
            chunk.append(Record(record_id, modified, payload, deleted))
        if current is not None and chunk:
            RawRecordWriter(connection, connection_id, current).upsert(chunk)
            total += len(chunk)
    print(f"… {total:,} {crm} records stored", file=sys.stderr)
    return connection_id


LOAD_CHUNK = 20_000
"""Records of one stream stored per round of `load_export`."""


def run_crm(export: Path, crm: str, workdir: Path, tolerance: timedelta) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from app.core.database import Database, upgrade
    from app.models import Milestone, MilestoneEvent, Opportunity
    from app.services.mapping.activation import activate_ruleset

    database = Database(f"sqlite:///{workdir / f'{crm}.db'}")
    upgrade(database.engine)
    started = time.perf_counter()
    connection_id = load_export(database, export, crm)
    loaded = time.perf_counter() - started
    path = EXAMPLES / f"{crm}.yaml"
    started = time.perf_counter()
    result = activate_ruleset(database, path.read_text(), str(path))
    derive_seconds = time.perf_counter() - started
    predicted: dict[tuple[str, str], datetime] = {}
    with database.session() as session:
        rows = session.execute(
            select(Opportunity.external_id, Milestone.key, MilestoneEvent.occurred_at)
            .join(Opportunity, Opportunity.id == MilestoneEvent.opportunity_id)
            .join(Milestone, Milestone.id == MilestoneEvent.milestone_id)
            .where(
                MilestoneEvent.ruleset_version_id == result.version_id,
                Opportunity.connection_id == connection_id,
            )
        )
        for external_id, key, occurred_at in rows:
            current = predicted.get((external_id, key))
            if current is None or occurred_at < current:
                predicted[(external_id, key)] = occurred_at
    database.dispose()
    rows_out = score(predicted, truth(export, crm), tolerance)
    for row in rows_out:
        row["crm"] = crm
        row["load_s"] = round(loaded, 1)
        row["derive_s"] = round(derive_seconds, 1)
    return rows_out


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench mapping_accuracy")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", default="medium")
    parser.add_argument("--export", type=Path, default=None)
    parser.add_argument("--crms", default="salesforce,hubspot")
    parser.add_argument("--tolerance-hours", type=float, default=24.0)
    options = parser.parse_args(args)
    tolerance = timedelta(hours=options.tolerance_hours)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        export = options.export
        if export is None:
            export = workdir / "export"
            print(f"… generating seed {options.seed}, size {options.size}", file=sys.stderr)
            generate_export(options.seed, options.size, export)
        for crm in options.crms.split(","):
            print(f"… {crm}", file=sys.stderr, flush=True)
            rows.extend(run_crm(export, crm, workdir, tolerance))
    return [{k: row[k] for k in ("crm", *[k for k in row if k != "crm"])} for row in rows]


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1:]), indent=2, default=str))
