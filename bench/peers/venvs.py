"""Each peer in a virtualenv of its own, installed from PyPI at the pinned version.

    python = ensure_venv("tap-salesforce")   # data/peers/tap-salesforce/bin/python

The peers pin dependencies that clash with ours (and with each other: the Airbyte CDK, the Singer
SDK, old `requests`), so none of them can share this project's environment; a run in its own
environment is also what a user of that tool gets. The pins live in `requirements/<name>.txt`,
the list the installer reads, so a version change is a reviewed diff. A finished install leaves
a stamp holding the requirements it came from: a changed pin reinstalls, an interrupted install
is never mistaken for a finished one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["REQUIREMENTS", "VENVS", "ensure_venv", "pinned_version"]

REQUIREMENTS = Path(__file__).resolve().parent / "requirements"
VENVS = Path("data") / "peers"


def pinned_version(name: str) -> str:
    """The version `requirements/<name>.txt` pins for the package `name`."""
    for line in (REQUIREMENTS / f"{name}.txt").read_text().splitlines():
        package, _, version = line.partition("==")
        if package.strip().lower() == name.lower():
            return version.strip()
    raise ValueError(f"requirements/{name}.txt does not pin {name}")


def ensure_venv(name: str, root: Path = VENVS) -> Path:
    """The peer's interpreter, creating and installing its environment on first use."""
    requirements = REQUIREMENTS / f"{name}.txt"
    folder = root / name
    python = folder / "bin" / "python"
    stamp = folder / ".installed"
    wanted = requirements.read_text()
    if stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"… installing {name} into {folder}", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", str(requirements)],
        check=True,
    )  # fmt: skip
    stamp.write_text(wanted)
    return python
