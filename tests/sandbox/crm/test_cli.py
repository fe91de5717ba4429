"""`milestones sandbox up`: starts on loopback and prints what a connection needs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from sandbox.crm.runner import RunOptions, SandboxRunError, start_sandbox


def test_up_prints_one_json_object_and_serves_until_interrupted(
    export_dir: Path, tmp_path: Path
) -> None:
    command = [
        sys.executable,
        "-c",
        "from app.cli.main import app; app()",
        "sandbox",
        "up",
        "--from",
        str(export_dir),
        "--json",
        "--faults",
        "slow:api=hubspot,delay=0.01",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        sf, hs = info["salesforce"], info["hubspot"]
        session = requests.Session()
        session.verify = sf["ca_file"]
        session.trust_env = False
        token = session.post(
            sf["token_url"],
            data={
                "grant_type": "client_credentials",
                "client_id": sf["client_id"],
                "client_secret": sf["client_secret"],
            },
            timeout=5,
        )
        assert token.status_code == 200
        deals = requests.get(
            f"{hs['base_url']}/crm/v3/objects/deals",
            headers={"Authorization": f"Bearer {hs['access_token']}"},
            timeout=5,
        )
        assert deals.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)


@pytest.mark.parametrize("faults", [[], ["meltdown"]])
def test_bad_options_are_refused_before_starting(tmp_path: Path, faults: list[str]) -> None:
    with pytest.raises(SandboxRunError):
        start_sandbox(RunOptions(from_dir=tmp_path, faults=faults))
