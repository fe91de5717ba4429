"""Runs the sandbox on loopback: Salesforce over HTTPS on one port, HubSpot over HTTP on another.

    with SandboxServer(sandbox) as server:        # random free ports
                                                  # (hubspot_port=None: Salesforce's + 1)
        server.salesforce_url                     # https://127.0.0.1:PORT (instance_url)
        server.hubspot_url                        # http://127.0.0.1:PORT
        server.ca_file                            # trust this for the Salesforce listener

Both uvicorn servers run on one event loop in a background thread; the admin endpoints
(/__sandbox/...) are on both listeners.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import requests
import uvicorn

from sandbox.crm.hubspot.app import build_hubspot_app
from sandbox.crm.salesforce.app import build_salesforce_app
from sandbox.crm.sandbox import Sandbox
from sandbox.crm.tls import TlsFiles, make_tls_files

__all__ = ["SandboxServer"]


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


def _bind_next_to(host: str, port: int) -> socket.socket:
    """The port after `port` when it is free (where users look for HubSpot), else any free one."""
    try:
        return _bind(host, port + 1)
    except OSError:
        return _bind(host, 0)


class SandboxServer:
    def __init__(
        self,
        sandbox: Sandbox,
        *,
        host: str = "127.0.0.1",
        salesforce_port: int = 0,
        hubspot_port: int | None = 0,
        tls_dir: Path | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.host = host
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if tls_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="milestones-sandbox-")
            tls_dir = Path(self._tmp.name)
        self.tls: TlsFiles = make_tls_files(tls_dir)
        self._sf_sock = _bind(host, salesforce_port)
        if hubspot_port is None:
            self._hs_sock = _bind_next_to(host, self._sf_sock.getsockname()[1])
        else:
            self._hs_sock = _bind(host, hubspot_port)
        self.salesforce_port: int = self._sf_sock.getsockname()[1]
        self.hubspot_port: int = self._hs_sock.getsockname()[1]
        common: dict[str, Any] = {
            "log_level": "warning",
            "access_log": False,
            "lifespan": "off",
            "timeout_graceful_shutdown": 1,
        }
        self.salesforce_app = build_salesforce_app(sandbox)
        self.hubspot_app = build_hubspot_app(sandbox)
        self._sf = uvicorn.Server(
            uvicorn.Config(
                self.salesforce_app,
                ssl_certfile=str(self.tls.cert_file),
                ssl_keyfile=str(self.tls.key_file),
                http="h11",  # writes header names as given: Salesforce's `Content-Type` case
                **common,
            )
        )
        self._hs = uvicorn.Server(uvicorn.Config(self.hubspot_app, **common))
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._received: list[str] = []
        self._previous_handlers: dict[signal.Signals, Any] = {}

    # urls and credentials -----------------------------------------------------------------
    @property
    def salesforce_url(self) -> str:
        return f"https://{self.host}:{self.salesforce_port}"

    @property
    def token_url(self) -> str:
        return f"{self.salesforce_url}/services/oauth2/token"

    @property
    def hubspot_url(self) -> str:
        return f"http://{self.host}:{self.hubspot_port}"

    @property
    def ca_file(self) -> Path:
        return self.tls.ca_file

    def connection_info(self) -> dict[str, Any]:
        cfg = self.sandbox.config
        return {
            "salesforce": {
                "instance_url": self.salesforce_url,
                "token_url": self.token_url,
                "client_id": cfg.sf_client_id,
                "client_secret": cfg.sf_client_secret,
                "username": cfg.sf_username,
                "password": cfg.sf_password,
                "refresh_token": cfg.sf_refresh_token,
                "api_version": "59.0",
                "ca_file": str(self.ca_file),
            },
            "hubspot": {
                "base_url": self.hubspot_url,
                "access_token": cfg.hs_access_token,
                "client_secret": cfg.hs_client_secret,
                "client_id": cfg.hs_client_id,
                "refresh_token": cfg.hs_refresh_token,
                "portal_id": cfg.hs_portal_id,
            },
            "admin": {
                "salesforce": f"{self.salesforce_url}/__sandbox",
                "hubspot": f"{self.hubspot_url}/__sandbox",
            },
        }

    def requests_session(self) -> requests.Session:
        """A requests session that trusts the sandbox CA (and ignores REQUESTS_CA_BUNDLE)."""
        session = requests.Session()
        session.verify = str(self.ca_file)
        session.trust_env = False
        return session

    def access_token(self) -> str:
        """A fresh Salesforce session, issued without a round trip (for tests)."""
        return self.sandbox.sessions.issue("client_credentials").token

    # lifecycle ----------------------------------------------------------------------------
    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._run, name="sandbox-crm", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not (self._sf.started and self._hs.started):
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"the sandbox did not start: {self._error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start within 15 s")
            time.sleep(0.01)
        return self

    def _run(self) -> None:
        async def main() -> None:
            await asyncio.gather(
                self._sf.serve(sockets=[self._sf_sock]), self._hs.serve(sockets=[self._hs_sock])
            )

        try:
            asyncio.run(main())
        except BaseException as error:  # reported by start()
            self._error = error

    def stop(self) -> None:
        self._sf.should_exit = True
        self._hs.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        for sock in (self._sf_sock, self._hs_sock):
            sock.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def catch_stop_signals(self) -> None:
        """From now on SIGINT and SIGTERM stop `wait` (main thread only).

        Needed because a shell that starts a command in the background gives it SIGINT
        ignored, and SIGTERM would otherwise end the process without closing the listeners.
        Call it before announcing the server, so that no signal falls between the two.
        """
        if self._previous_handlers or threading.current_thread() is not threading.main_thread():
            return

        def handle(signum: int, _frame: FrameType | None) -> None:
            # no lock here: the main thread may hold the one `Event.set` would take
            self._received.append(signal.Signals(signum).name)

        for which in (signal.SIGINT, signal.SIGTERM):
            self._previous_handlers[which] = signal.signal(which, handle)

    def wait(self) -> str | None:
        """Block until the servers stop, or SIGINT or SIGTERM arrives; the signal's name."""
        self.catch_stop_signals()
        try:
            while self._thread is not None and self._thread.is_alive() and not self._received:
                time.sleep(0.1)  # a signal interrupts it; its handler only records the signal
        except KeyboardInterrupt:
            self._received.append("SIGINT")
        finally:
            for which, handler in self._previous_handlers.items():
                signal.signal(which, handler)
            self._previous_handlers.clear()
            self.stop()
        return self._received[0] if self._received else None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()
