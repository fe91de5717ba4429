"""Sandbox CRM throughput: records per second served from query and list pages.

    python -m bench sandbox [--opportunities 5000] [--seed 1]

The sandbox runs in its own process (as it does under `milestones sandbox up`), serving a
generated history; this process pages through it over loopback. `raw` cases parse pages with
orjson and show what the server sustains; `client` cases go through simple-salesforce or
hubspot-api-client and include those libraries' own parsing. Target: >= 20,000 records/s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson
import requests

TASK_FIELDS = (
    "Id, Subject, Status, TaskSubtype, WhoId, WhatId, OwnerId, ActivityDate, CallType, "
    "CreatedDate, LastModifiedDate, SystemModstamp, IsDeleted"
)


def _serve(folder: str, pipe: Connection) -> None:
    from sandbox.crm import Sandbox, SandboxConfig, SandboxServer

    config = SandboxConfig(hs_ten_second_max=10**9, hs_search_per_second=None)
    server = SandboxServer(Sandbox.from_export(folder, config)).start()
    pipe.send(
        {
            "sf": server.salesforce_url,
            "hs": server.hubspot_url,
            "ca": str(server.ca_file),
            "token": server.access_token(),
            "hs_token": config.hs_access_token,
        }
    )
    pipe.recv()  # any message stops the server
    server.stop()


def _row(case: str, records: int, pages: int, seconds: float) -> dict[str, Any]:
    return {
        "case": case,
        "records": records,
        "pages": pages,
        "seconds": round(seconds, 3),
        "records_per_s": round(records / seconds) if seconds else 0,
    }


def _sf_raw(info: dict[str, Any], query: str, case: str) -> dict[str, Any]:
    session = requests.Session()
    session.verify, session.trust_env = info["ca"], False
    headers = {"Authorization": f"Bearer {info['token']}"}
    started = time.perf_counter()
    answer = orjson.loads(
        session.get(
            f"{info['sf']}/services/data/v59.0/queryAll", params={"q": query}, headers=headers
        ).content
    )
    records, pages = len(answer["records"]), 1
    while not answer["done"]:
        answer = orjson.loads(
            session.get(info["sf"] + answer["nextRecordsUrl"], headers=headers).content
        )
        records, pages = records + len(answer["records"]), pages + 1
    return _row(case, records, pages, time.perf_counter() - started)


def _sf_client(info: dict[str, Any], query: str) -> dict[str, Any]:
    from simple_salesforce import Salesforce

    session = requests.Session()
    session.verify, session.trust_env = info["ca"], False
    sf = Salesforce(instance_url=info["sf"], session_id=info["token"], session=session)
    started = time.perf_counter()
    records = sum(1 for _ in sf.query_all_iter(query, include_deleted=True))
    return _row(
        "salesforce query_all_iter (simple-salesforce)",
        records,
        -(-records // 2000),
        time.perf_counter() - started,
    )


def _hs_raw(info: dict[str, Any], object_type: str) -> dict[str, Any]:
    session = requests.Session()
    session.trust_env = False
    headers = {"Authorization": f"Bearer {info['hs_token']}"}
    params: dict[str, Any] = {
        "limit": 100,
        "properties": "hs_timestamp,hs_email_direction,hs_email_status,hs_lastmodifieddate",
    }
    started = time.perf_counter()
    records = pages = 0
    while True:
        answer = orjson.loads(
            session.get(
                f"{info['hs']}/crm/v3/objects/{object_type}", params=params, headers=headers
            ).content
        )
        records, pages = records + len(answer["results"]), pages + 1
        after = answer.get("paging", {}).get("next", {}).get("after")
        if after is None:
            break
        params["after"] = after
    return _row(
        f"hubspot list {object_type} (raw, 100/page)", records, pages, time.perf_counter() - started
    )


def _hs_search_raw(info: dict[str, Any], object_type: str) -> dict[str, Any]:
    session = requests.Session()
    session.trust_env = False
    headers = {"Authorization": f"Bearer {info['hs_token']}"}
    body: dict[str, Any] = {
        "filterGroups": [
            {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "0"}]}
        ],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["hs_timestamp", "hs_email_direction", "hs_lastmodifieddate"],
        "limit": 200,
    }
    started = time.perf_counter()
    records = pages = 0
    while True:
        answer = orjson.loads(
            session.post(
                f"{info['hs']}/crm/v3/objects/{object_type}/search", json=body, headers=headers
            ).content
        )
        records, pages = records + len(answer["results"]), pages + 1
        after = answer.get("paging", {}).get("next", {}).get("after")
        if after is None or int(after) + 200 > 10_000:
            break
        body["after"] = after
    return _row(
        f"hubspot search {object_type} (raw, 200/page, <= 10,000)",
        records,
        pages,
        time.perf_counter() - started,
    )


def _hs_client(info: dict[str, Any], object_type: str) -> dict[str, Any]:
    from hubspot import HubSpot

    api = HubSpot(access_token=info["hs_token"], host=info["hs"]).crm.objects.basic_api
    started = time.perf_counter()
    records = pages = 0
    after = None
    while True:
        page = api.get_page(
            object_type, limit=100, after=after, properties=["hs_timestamp", "hs_email_direction"]
        )
        records, pages = records + len(page.results), pages + 1
        if page.paging is None:
            break
        after = page.paging.next.after
    return _row(
        f"hubspot list {object_type} (hubspot-api-client)",
        records,
        pages,
        time.perf_counter() - started,
    )


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench sandbox")
    parser.add_argument("--opportunities", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--from", dest="from_dir", type=Path, default=None)
    options = parser.parse_args(args)
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        folder = options.from_dir
        if folder is None:
            from sandbox.history import build_params, generate

            folder = Path(tmp) / "export"
            generate(build_params(seed=options.seed, opportunities=options.opportunities), folder)
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(str(folder), theirs), daemon=True)
        process.start()
        try:
            info = ours.recv()
            rows = [
                _sf_raw(
                    info,
                    f"SELECT {TASK_FIELDS} FROM Task",
                    "salesforce queryAll Task (raw, 2,000/page)",
                ),
                _sf_raw(
                    info,
                    "SELECT Id, Subject, Who.Name, What.Name, Owner.Name, SystemModstamp FROM Task",
                    "salesforce queryAll Task + 3 parent fields (raw)",
                ),
                _sf_client(info, f"SELECT {TASK_FIELDS} FROM Task"),
                _hs_raw(info, "emails"),
                _hs_search_raw(info, "emails"),
                _hs_client(info, "emails"),
            ]
        finally:
            ours.send("stop")
            process.join(timeout=20)
    return rows
