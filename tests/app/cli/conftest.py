"""Running `milestones` as a real process, with a clean environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MILESTONES = shutil.which("milestones", path=str(Path(sys.executable).parent)) or "milestones"


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MILESTONES, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MILESTONES_")}
    clean.pop("DATABASE_URL", None)
    clean["MILESTONES_DATA_DIR"] = str(tmp_path / "data")
    clean["MILESTONES_LOG_LEVEL"] = "WARNING"
    return clean
