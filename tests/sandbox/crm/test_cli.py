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
from sandbox.crm.server import _bind, _bind_next_to


def _up(export_dir: Path, cwd: Path, *, sigint_ignored: bool = False) -> subprocess.Popen[str]:
    """`sandbox up --json`; with SIGINT ignored, as a shell starts a background job."""
    command = [
        sys.executable,
        "-c",
        "from app.cli.main import app; app()",
        "sandbox",
        "up",
        "--from",
        str(export_dir),
        "--json",
    ]

    def ignore_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=ignore_sigint if sigint_ignored else None,
    )


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_up_in_the_background_stops_cleanly_on_sigint_and_sigterm(
    export_dir: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    process = _up(export_dir, tmp_path, sigint_ignored=True)
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        process.send_signal(stop)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert f"Sandbox stopped ({stop.name})." in err
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{info['hubspot']['base_url']}/__sandbox/status", timeout=2)


def test_with_a_free_port_hubspot_listens_on_the_next_one(export_dir: Path, tmp_path: Path) -> None:
    process = _up(export_dir, tmp_path)
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    sf_port = int(info["salesforce"]["instance_url"].rsplit(":", 1)[1])
    hs_port = int(info["hubspot"]["base_url"].rsplit(":", 1)[1])
    assert hs_port == sf_port + 1


def test_when_the_next_port_is_taken_hubspot_takes_any_free_one() -> None:
    taken = _bind("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        chosen = _bind_next_to("127.0.0.1", port - 1)
        assert chosen.getsockname()[1] not in (0, port)
        chosen.close()
    finally:
        taken.close()


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
