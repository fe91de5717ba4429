"""The sandbox for the peers bench: one history, both CRMs, in a process of its own.

    with SandboxProcess(folder) as sandbox:
        sandbox.info["salesforce"]["instance_url"]
        sandbox.reset_calls(); ...run a tool...; sandbox.calls("salesforce")

The limits are the sandbox's defaults, which are the real APIs' (HubSpot: 190 calls per 10 s,
5 searches per second), so every tool meets the same limits. The server runs in a spawned
process so that its CPU and memory are charged to neither the harness nor the tool; the call
counts are read from its admin endpoint, the counters the other benches and tests trust.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

__all__ = ["SandboxProcess"]


def _serve(folder: str, pipe: Connection) -> None:
    from sandbox.crm import Sandbox, SandboxConfig, SandboxServer

    server = SandboxServer(Sandbox.from_export(folder, SandboxConfig())).start()
    pipe.send(server.connection_info())
    pipe.recv()  # any message stops the server
    server.stop()


class SandboxProcess:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.info: dict[str, Any] = {}
        self._context = multiprocessing.get_context("spawn")
        self._pipe, theirs = self._context.Pipe()
        self._process = self._context.Process(
            target=_serve, args=(str(folder), theirs), daemon=True
        )
        self._http = requests.Session()
        self._http.trust_env = False

    def __enter__(self) -> SandboxProcess:
        self._process.start()
        if not self._pipe.poll(900):
            raise SystemExit("the sandbox did not start within 15 minutes")
        self.info = self._pipe.recv()
        self._http.verify = self.info["salesforce"]["ca_file"]
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._pipe.send("stop")
        self._process.join(timeout=30)

    def reset_calls(self) -> None:
        for url in self.info["admin"].values():
            self._http.delete(f"{url}/calls").raise_for_status()

    def calls(self, api: str) -> dict[str, int]:
        """Calls per endpoint of `api` ("salesforce" | "hubspot") since the last reset."""
        answer = self._http.get(f"{self.info['admin'][api]}/calls")
        answer.raise_for_status()
        counts: dict[str, int] = answer.json()["calls"]
        return {k: n for k, n in counts.items() if k.startswith(api + ".")}
