"""Running the API server: SIGTERM wakes every CRM retry wait, then requests get a grace time."""

from __future__ import annotations

from typing import Any

import uvicorn

from connectors.core.retry import PROCESS_STOPPING

__all__ = ["SERVE_GRACE_SECONDS", "serve_until_stopped"]

SERVE_GRACE_SECONDS = 10
"""How long `serve` lets requests in flight finish after SIGTERM before it closes them."""


class _StoppingServer(uvicorn.Server):
    """On SIGTERM or Ctrl-C, wakes every CRM retry wait of the process: a request waiting out
    a rate limit ends at once instead of holding the shutdown."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        PROCESS_STOPPING.set()
        super().handle_exit(sig, frame)


def serve_until_stopped(app: Any, host: str, port: int) -> None:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=SERVE_GRACE_SECONDS,
    )
    _StoppingServer(config).run()
