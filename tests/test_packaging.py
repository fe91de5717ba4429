"""The product installs without the sandbox; the `sandbox` extra brings all of it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parent.parent


def _project(path: Path) -> dict[str, object]:
    return tomllib.loads(path.read_text())


def test_the_base_distribution_carries_no_sandbox_code_and_no_sandbox_dependency() -> None:
    project = _project(ROOT / "pyproject.toml")
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]  # type: ignore[index]
    packages = find_packages(where=str(ROOT), include=include)
    assert {"app.services.sync", "connectors.salesforce", "crm", "mappings"} <= set(packages)
    assert not [name for name in packages if name.split(".")[0] in {"sandbox", "tests", "bench"}]
    dependencies = " ".join(project["project"]["dependencies"])  # type: ignore[index]
    assert "trustme" not in dependencies
    extras = project["project"]["optional-dependencies"]  # type: ignore[index]
    assert extras["sandbox"] == ["milestone-sync-sandbox==0.1.0"]


def test_the_sandbox_distribution_lists_every_sandbox_package() -> None:
    project = _project(ROOT / "sandbox" / "pyproject.toml")
    listed = set(project["tool"]["setuptools"]["packages"])  # type: ignore[index]
    on_disk = {
        ".".join(("sandbox", *init.parent.relative_to(ROOT / "sandbox").parts))
        for init in (ROOT / "sandbox").rglob("__init__.py")
    }
    assert listed == on_disk


def test_the_production_image_copies_no_sandbox() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY app " in dockerfile
    assert "sandbox" not in dockerfile


def _cli_without_sandbox(*args: str) -> subprocess.CompletedProcess[str]:
    """Runs `milestones ARGS` in a process where the sandbox package cannot be imported."""
    script = (
        "import sys\n"
        "sys.modules['sandbox'] = None\n"
        "from app.cli.main import main\n"
        f"sys.argv = ['milestones', *{list(args)!r}]\n"
        "main()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def test_without_the_extra_the_sandbox_and_demo_commands_say_how_to_install_it() -> None:
    for args in (("sandbox", "up"), ("demo", "--check")):
        result = _cli_without_sandbox(*args)
        assert result.returncode == 2, result.stderr
        assert "pip install 'milestone-sync[sandbox]'" in result.stderr
    assert _cli_without_sandbox("--help").returncode == 0


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalised (PEP 503)."""
    name = requirement.split(";")[0].split("[")[0]
    for mark in "<>=!~ ":
        name = name.split(mark)[0]
    return name.strip().lower().replace("_", "-").replace(".", "-")


def test_every_install_takes_its_versions_from_the_constraints_file() -> None:
    pinned = {
        _name(line): line.split("==")[1]
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert all(pinned.values()), "every line pins one version (name==version)"
    project = _project(ROOT / "pyproject.toml")
    extras = project["project"]["optional-dependencies"]  # type: ignore[index]
    declared = [*project["project"]["dependencies"], *extras["test"]]  # type: ignore[index]
    sandbox = _project(ROOT / "sandbox" / "pyproject.toml")["project"]["dependencies"]  # type: ignore[index]
    missing = sorted({_name(r) for r in [*declared, *sandbox]} - set(pinned))
    assert missing == [], f"not pinned in constraints.txt (run `make constraints`): {missing}"
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()
    assert "-c constraints.txt" in (ROOT / "Dockerfile").read_text()
