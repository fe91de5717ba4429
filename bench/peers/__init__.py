"""This project's full sync side by side with the open-source tools users would pick instead.

    python -m bench peers [--size medium] [--seed 1] [--crm salesforce,hubspot] [--tools ...]

One generated history (cached under `data/bench/`) is served by the sandbox in a process of its
own, with its default limits (HubSpot: 190 calls per 10 s). Then, one after another, each tool
does a full sync of the same objects: this project's sync into a fresh SQLite database, and each
peer (`tools.PEERS`) from PyPI, pinned in `requirements/`, in a virtualenv of its own under
`data/peers/` (created on first use), its base URL redirected to the sandbox and nothing else.
Per tool: records, API calls (the sandbox's counters), wall s, records/s, CPU s and peak RSS of
the tool's process (`wait4`). Logs, catalogs and per-endpoint calls stay in `data/peers/runs/`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["run"]

CACHE = Path("data") / "bench"
RUNS = Path("data") / "peers" / "runs"


def _history(size: str, seed: int) -> Path:
    folder = CACHE / f"peers-seed{seed}-{size}"
    if not (folder / "manifest.json").exists():
        from sandbox.history import build_params, generate

        print(f"… generating the {size} history", file=sys.stderr, flush=True)
        generate(build_params(seed=seed, size=size), folder, force=True)
    return folder


def _keep(row: dict[str, Any]) -> None:
    """Each row as soon as it is measured: a run cut short keeps what it measured."""
    with open(RUNS / "rows.jsonl", "a") as out:
        out.write(json.dumps(row) + "\n")


def run(args: list[str]) -> list[dict[str, Any]]:
    from bench.peers.runner import run_own, run_peer
    from bench.peers.serve import SandboxProcess
    from bench.peers.tools import PEERS

    parser = argparse.ArgumentParser(prog="python -m bench peers")
    parser.add_argument("--size", default="medium")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--crm", default="salesforce,hubspot")
    parser.add_argument("--tools", default="own," + ",".join(PEERS), help="own and/or peers")
    options = parser.parse_args(args)
    crms = options.crm.split(",")
    tools = options.tools.split(",")
    unknown = sorted(set(tools) - {"own", *PEERS})
    if unknown:
        parser.error(f"unknown tool(s) {', '.join(unknown)}; known: own, {', '.join(PEERS)}")
    folder = _history(options.size, options.seed)
    print("… starting the sandbox", file=sys.stderr, flush=True)
    rows: list[dict[str, Any]] = []
    RUNS.mkdir(parents=True, exist_ok=True)
    (RUNS / "rows.jsonl").unlink(missing_ok=True)
    with SandboxProcess(folder) as sandbox:
        for crm in crms:
            for label in tools:
                if label != "own" and PEERS[label].crm != crm:
                    continue
                load = round(os.getloadavg()[0], 1)
                measured = (
                    run_own(crm, sandbox, RUNS)
                    if label == "own"
                    else run_peer(PEERS[label], sandbox, RUNS)
                )
                rows.append({**measured, "load_1m_at_start": load})
                _keep(rows[-1])
    return rows
