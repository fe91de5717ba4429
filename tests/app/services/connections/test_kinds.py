"""A sync loads the connector of its connection's kind alone: a Salesforce sync never imports
the HubSpot SDK, nor a HubSpot sync simple-salesforce and zeep; and neither loads the KPI or
web stack. Each case runs in a fresh interpreter, which imports what `milestones sync` and
`milestones worker` import, then builds the connection's reader (as a sync run does) and its
write-back writer, and reports which modules it holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import import_module
from pathlib import Path
from typing import get_args

import pytest

from app.services.connections.registry import KINDS, AnySettings

ROOT = Path(__file__).resolve().parents[4]

SCRIPT = r"""
import json, sys
from datetime import timedelta
from pathlib import Path

import app.cli.main  # the `milestones` command, as `milestones sync` and `worker` load it
import app.worker
from app.core.crypto import SecretBox, generate_key
from app.core.database import Database
from app.models import Connection
from app.services.connections.registry import parse_settings
from app.services.sync.runs import _reader_for
from app.services.writeback.crm_fields import open_target
from connectors.core import ApiBudget

kind, folder = sys.argv[1], Path(sys.argv[2])
settings = {
    "salesforce": {
        "kind": "salesforce",
        "auth_flow": "client_credentials",
        "token_url": "https://login.example.invalid/services/oauth2/token",
        "client_id": "id",
    },
    "hubspot": {"kind": "hubspot", "base_url": "https://api.example.invalid"},
}[kind]
box = SecretBox([generate_key().encode()])
connection = Connection(
    id=1,
    name="c",
    kind=kind,
    settings=parse_settings(settings).model_dump(mode="json"),
    credentials_sealed=box.seal({"client_secret": "s", "access_token": "t"}),
)
database = Database(f"sqlite:///{folder / 'never-opened.db'}")
reader, specs, lookback = _reader_for(database, connection, box, ApiBudget(), None)
open_target(database, connection, box).open()  # the write-back writer of the same kind
print(json.dumps({"reader": type(reader).__name__, "streams": len(specs), "modules": sorted(
    name for name in sys.modules if "." not in name or name.startswith("connectors.")
)}))
"""

SDK = {"salesforce": {"simple_salesforce", "zeep"}, "hubspot": {"hubspot"}}
NOT_FOR_A_SYNC = {"numpy", "scipy", "fastapi", "starlette", "jinja2", "uvicorn"}


def _loaded(kind: str, tmp_path: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILESTONES_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, kind, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return answer


@pytest.mark.parametrize("kind", ["salesforce", "hubspot"])
def test_a_sync_imports_the_sdk_of_its_kind_alone(kind: str, tmp_path: Path) -> None:
    answer = _loaded(kind, tmp_path)
    modules = set(answer["modules"])  # type: ignore[call-overload]
    other = "hubspot" if kind == "salesforce" else "salesforce"
    assert answer["reader"] == {"salesforce": "SalesforceReader", "hubspot": "HubSpotReader"}[kind]
    assert SDK[kind] <= modules  # the reader was built: its SDK is there
    assert not SDK[other] & modules, f"a {kind} sync imported {sorted(SDK[other] & modules)}"
    assert not {m for m in modules if m.startswith(f"connectors.{other}.")} - {
        f"connectors.{other}.streams",  # the stream declarations validate settings of both
        f"connectors.{other}.tokens",
    }
    assert not NOT_FOR_A_SYNC & modules, sorted(NOT_FOR_A_SYNC & modules)


def test_every_kind_of_settings_has_one_module_that_builds_its_reader() -> None:
    kinds = {settings.model_fields["kind"].default for settings in get_args(AnySettings)}
    assert set(KINDS) == kinds
    for entry in KINDS.values():
        assert callable(import_module(entry.module).reader)
