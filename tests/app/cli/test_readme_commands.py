"""The README's Commands table names every command `milestones` has, and the web app section
every role: a command nobody can find is a command nobody uses."""

from __future__ import annotations

from typer.main import get_command

from app.cli.main import app
from tests.support.readme import section


def test_the_commands_table_lists_every_command() -> None:
    table = section("Commands")
    commands = get_command(app).commands  # type: ignore[attr-defined]
    assert {"keys", "backtest", "forecast", "health", "targets"} <= set(commands)
    missing = [name for name in commands if f"| `milestones {name}" not in table]
    assert missing == []


def test_the_web_app_section_explains_each_role_and_shows_the_screenshots() -> None:
    web = section("Web app")
    for role in ("admin", "ops", "manager", "rep"):
        assert f"| {role} |" in web or f"| `{role}` |" in web, role
    assert "docs/screenshots/pipeline.png" in web
