"""One tool's run against the sandbox: discover, choose streams, read; one row of figures.

Every run starts from the sandbox's call counters at zero and ends with them read, so
`api_calls` is what the sandbox answered to that tool's read (its discovery is counted apart,
`discover_calls`: a peer discovers once per configuration, not per sync). A peer that fails
gives a row with its status and the reason, from its stderr; no figure is made up for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.peers.catalogs import airbyte_configure, singer_select
from bench.peers.measure import Measured, run_measured
from bench.peers.messages import trace_error
from bench.peers.serve import SandboxProcess
from bench.peers.tools import Peer
from bench.peers.venvs import ensure_venv, pinned_version

__all__ = ["failure_reason", "row", "run_own", "run_peer"]

REDIRECT = Path(__file__).resolve().parent / "redirect.py"
PROJECT = Path(__file__).resolve().parents[2]


def _peer_env(info: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["REQUESTS_CA_BUNDLE"] = info["salesforce"]["ca_file"]  # the sandbox's own CA, as a
    env["NO_PROXY"] = "127.0.0.1,localhost"  # user would trust their org's proxy CA
    return env


def failure_reason(stderr_tail: str, messages: Path | None = None) -> str:
    """Why a tool failed: its last Airbyte TRACE error, else the last line of its stderr that
    says something (an error, else the last)."""
    if messages is not None and messages.exists():
        found = None
        with open(messages, "rb") as handle:
            for message in handle:
                found = trace_error(message) or found
        if found:
            return found[:300]
    lines = [line.strip() for line in stderr_tail.splitlines() if line.strip()]
    for line in reversed(lines):
        if any(word in line for word in ("Error", "error", "CRITICAL", "Exception", "FATAL")):
            return line[-300:]
    return lines[-1][-300:] if lines else "no output"


def row(
    tool: str, crm: str, measured: Measured, calls: int, messages: Path | None = None, **extra: Any
) -> dict[str, Any]:
    ok = measured.returncode == 0
    return {
        "crm": crm,
        "tool": tool,
        "status": "ok" if ok else f"failed (exit {measured.returncode})",
        "records": measured.records,
        "api_calls": calls,
        **extra,
        "wall_s": round(measured.wall_s, 1),
        "records_per_s": round(measured.records / measured.wall_s) if measured.wall_s else 0,
        "cpu_s": round(measured.cpu_s, 1),
        "peak_rss_mib": round(measured.peak_rss_mib, 1),
        "reason": "" if ok else failure_reason(measured.stderr_tail, messages),
    }


def _redirect(peer: Peer, info: dict[str, Any]) -> list[str]:
    """redirect.py and its `--map` arguments for this peer's CRM."""
    return [str(REDIRECT), *[arg for m in peer.origins(info) for arg in ("--map", m)]]


def _discover(peer: Peer, python: Path, config: Path, info: dict[str, Any], logs: Path) -> Any:
    command = [str(python), *_redirect(peer, info), "--script", peer.script, "--",
               *peer.discover_args(str(config))]  # fmt: skip
    with open(logs / "discover.stderr", "wb") as stderr:
        done = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=stderr, env=_peer_env(info), cwd=logs
        )
    (logs / "discover.messages").write_bytes(done.stdout)
    if done.returncode != 0:
        tail = (logs / "discover.stderr").read_text(errors="replace")[-3000:]
        reason = failure_reason(tail, logs / "discover.messages")
        raise RuntimeError(f"discover failed: {reason}")
    if peer.protocol == "singer":
        return json.loads(done.stdout)
    for line in done.stdout.splitlines():
        if line.startswith(b"{") and b'"CATALOG"' in line[:40]:
            return json.loads(line)["catalog"]
    raise RuntimeError("discover wrote no CATALOG message")


def run_peer(peer: Peer, sandbox: SandboxProcess, workdir: Path) -> dict[str, Any]:
    label = f"{peer.label.replace(peer.package, f'{peer.package} {pinned_version(peer.package)}')}"
    # absolute, and the peer's working directory: scratch files a peer leaves (Airbyte's Bulk
    # CSV downloads when a read fails) stay in its run folder
    folder = (workdir / peer.label.replace(" ", "_").replace("(", "").replace(")", "")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    python = ensure_venv(peer.package).absolute()  # not resolve(): a venv python is a link
    config = folder / "config.json"
    config.write_text(json.dumps(peer.config(sandbox.info), indent=2))
    sandbox.reset_calls()
    try:
        catalog = _discover(peer, python, config, sandbox.info, folder)
        chosen = (
            singer_select(catalog, peer.streams)
            if peer.protocol == "singer"
            else airbyte_configure(catalog, peer.streams)
        )
    except (RuntimeError, ValueError, json.JSONDecodeError) as error:
        return {"crm": peer.crm, "tool": label, "status": "failed", "reason": str(error)[-300:]}
    discover_calls = sum(sandbox.calls(peer.crm).values())
    (folder / "catalog.json").write_text(json.dumps(chosen))
    sandbox.reset_calls()
    print(f"… {label}: reading {len(peer.streams)} streams", file=sys.stderr, flush=True)
    measured = run_measured(
        [str(python), *_redirect(peer, sandbox.info), "--script", peer.script, "--",
         *peer.read_args(str(config), str(folder / "catalog.json"))],
        env=_peer_env(sandbox.info), stderr_file=folder / "read.stderr",
        messages_file=folder / "read.messages", cwd=folder,
    )  # fmt: skip
    calls = sandbox.calls(peer.crm)
    (folder / "calls.json").write_text(json.dumps(calls, indent=2))
    (folder / "records.json").write_text(json.dumps(measured.per_stream, indent=2))
    return row(label, peer.crm, measured, sum(calls.values()), folder / "read.messages",
               discover_calls=discover_calls)  # fmt: skip


def run_own(crm: str, sandbox: SandboxProcess, workdir: Path) -> dict[str, Any]:
    """This project's full sync (fresh SQLite database), measured like a peer."""
    folder = workdir / f"own-{crm}"
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "sync.db"
    database.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    sandbox.reset_calls()
    print(f"… this project: full {crm} sync", file=sys.stderr, flush=True)
    measured = run_measured(
        [sys.executable, "-m", "bench.peers.own", crm, f"sqlite:///{database}"],
        env=env, stdin=json.dumps(sandbox.info[crm]), stderr_file=folder / "sync.stderr",
    )  # fmt: skip
    calls = sandbox.calls(crm)
    (folder / "calls.json").write_text(json.dumps(calls, indent=2))
    if measured.returncode == 0:
        report = json.loads(measured.last_line)
        measured.per_stream.update(report["per_stream"])
        if report["status"] != "succeeded":
            measured.returncode = 1
            measured.stderr_tail = f"sync {report['status']}"
    return row("this project", crm, measured, sum(calls.values()), discover_calls=0)
