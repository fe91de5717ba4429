"""This project's full sync as one process, so the harness measures it as it measures a peer.

    python -m bench.peers.own salesforce|hubspot DB_URL  < connection info (JSON)

A fresh database, one connection with the connector's default settings and streams (every
stream it knows), one full sync; the last line of stdout is `{"records": N, "per_stream": ...,
"status": ...}`. Wall time, CPU time and peak RSS are taken from outside (`measure.run_measured`),
the API calls from the sandbox's own counters: none of the figures is the sync's word for itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["settings_for"]


def settings_for(kind: str, info: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The connection settings and secrets a user would enter for the sandbox's org/portal."""
    if kind == "salesforce":
        return (
            {
                "kind": "salesforce",
                "auth_flow": "client_credentials",
                "token_url": info["token_url"],
                "client_id": info["client_id"],
                "ca_file": info["ca_file"],
            },
            {"client_secret": info["client_secret"]},
        )
    return (
        {"kind": "hubspot", "base_url": info["base_url"]},
        {"access_token": info["access_token"]},
    )


def _sync(kind: str, url: str, info: dict[str, Any]) -> dict[str, Any]:
    from app.core.crypto import SecretBox, generate_key
    from app.core.database import Database, upgrade
    from app.services.connections.registry import create_connection
    from app.services.sync.runs import sync_connection

    database = Database(url)
    upgrade(database.engine)
    box = SecretBox([generate_key().encode()])
    settings, secrets = settings_for(kind, info)
    with database.session() as session:
        create_connection(session, box, name="peers", settings=settings, secrets=secrets)
    report = sync_connection(database, box, "peers", full=True).model_dump(mode="json")
    database.dispose()
    per_stream = {row["stream"]: row["read"] for row in report["streams"]}
    return {
        "status": report["status"],
        "records": sum(per_stream.values()),
        "per_stream": per_stream,
        "reported_api_calls": report["api_calls"],
    }


if __name__ == "__main__":
    kind_arg, url_arg = sys.argv[1:3]
    Path(url_arg.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    print(json.dumps(_sync(kind_arg, url_arg, json.loads(sys.stdin.read()))))
