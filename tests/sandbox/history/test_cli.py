"""`milestones sandbox generate` as a user types it (typer's CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app

runner = CliRunner()


def _generate(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["sandbox", "generate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_generates_and_prints_the_summary_as_json(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = _generate(
        "--seed", "4", "--opportunities", "40", "--future-days", "10", "--out", str(out), "--json"
    )
    assert code == 0
    summary = json.loads(stdout)
    assert summary["opportunities"] == 40
    assert summary["future_until"] == "2025-07-11T00:00:00.000Z"
    assert set(summary["processes"]) == {
        "enterprise_new_business",
        "smb_new_business",
        "expansion",
    }
    assert (out / "manifest.json").exists()
    assert json.loads((out / "summary.json").read_text()) == summary


def test_prints_a_readable_summary(tmp_path: Path) -> None:
    code, stdout, _ = _generate("--opportunities", "30", "--out", str(tmp_path / "out"))
    assert code == 0
    assert "Records" in stdout
    assert "Enterprise new business" in stdout
    assert "win rate" in stdout


def test_now_can_be_given_as_a_date_or_an_instant(tmp_path: Path) -> None:
    for index, now in enumerate(
        ("2024-12-31", "2024-12-31T00:00:00Z", "2024-12-31T01:00:00+01:00")
    ):
        code, stdout, _ = _generate(
            "--opportunities", "5", "--now", now, "--out", str(tmp_path / str(index)), "--json"
        )
        assert code == 0
        assert json.loads(stdout)["now"] == "2024-12-31T00:00:00.000Z"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "huge"], "unknown size 'huge'"),
        (["--opportunities", "-1"], "--opportunities must be >= 0"),
        (["--future-days", "-2"], "--future-days must be >= 0"),
        (["--now", "yesterday"], "is not an ISO-8601 timestamp"),
        (["--now", "2025-01-01T10:00:00"], "--now needs a time zone"),
        (["--scenario", "boom"], "unknown scenario 'boom'"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = _generate(*args, "--out", str(out))
    assert code == 2
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert "Traceback" not in stderr + stdout
    assert not out.exists()


def test_a_non_empty_out_dir_is_not_overwritten_without_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _generate("--opportunities", "5", "--out", str(out), "--json")[0] == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, _, stderr = _generate("--seed", "9", "--opportunities", "5", "--out", str(out))
    assert code == 2
    assert "not empty" in stderr and "--force" in stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    code, stdout, _ = _generate(
        "--seed", "9", "--opportunities", "5", "--out", str(out), "--force", "--json"
    )
    assert code == 0
    assert json.loads(stdout)["seed"] == 9


def test_a_market_change_is_chosen_by_name(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = _generate(
        "--opportunities", "20", "--scenario", "velocity_halves", "--out", str(out), "--json"
    )
    assert code == 0
    scenario = json.loads(stdout)["scenario"]
    assert (scenario["scenario"], scenario["gap_factor"]) == ("velocity_halves", 2.0)
    assert json.loads((out / "truth" / "scenario.json").read_text()) == scenario
    code, stdout, _ = _generate(
        "--opportunities", "20", "--scenario", "lead_flow_stops", "--out", str(tmp_path / "b")
    )
    assert code == 0 and "Market change on 2023-12-31" in stdout


def test_website_forms_are_an_option(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = _generate("--opportunities", "60", "--forms", "--out", str(out), "--json")
    assert code == 0
    assert json.loads(stdout)["counts"]["hubspot"]["form_submissions"] > 0
    assert (out / "hubspot" / "forms.json").exists()
    assert json.loads((out / "truth" / "parameters.json").read_text())["forms"] is True
