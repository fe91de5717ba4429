"""The README's "Connecting a CRM" commands, run as written (those that need no live CRM)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from app.core.crypto import generate_key
from tests.app.cli.conftest import run
from tests.conftest import FreshDatabases

README = Path(__file__).resolve().parents[3] / "README.md"
OFFLINE = ("connections add", "connections update")  # test and sync log in to acme's org


def _section_commands(title: str) -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "milestones":
                commands.append(words[1:])
    return commands


def test_the_connecting_a_crm_commands_run_as_written(
    env: dict[str, str], tmp_path: Path, fresh_databases: FreshDatabases
) -> None:
    env["DATABASE_URL"] = fresh_databases.url("readme")
    env["MILESTONES_SECRET_KEY"] = generate_key()
    env["MILESTONES_CRM_CLIENT_SECRET"] = "from-the-prompt"  # what "asks for the secret" gets
    assert run(["db", "upgrade"], env, tmp_path).returncode == 0  # PostgreSQL: the operator's step
    commands = [c for c in _section_commands("Connecting a CRM") if " ".join(c[:2]) in OFFLINE]
    assert [c[:2] for c in commands] == [["connections", "add"], ["connections", "update"]]
    for command in commands:
        result = run(command, env, tmp_path)
        assert result.returncode == 0, f"{shlex.join(command)}: {result.stderr}"
    listed = json.loads(run(["connections", "list", "--json"], env, tmp_path).stdout)
    [acme] = listed["data"]
    assert acme["settings"]["extra_fields"] == {
        "Opportunity": ["Segment__c"],
        "Event": ["Meeting_Outcome__c"],
    }
