"""The README as tests read it: a section, its shell lines, its `milestones` commands. The
README is tested: each command sequence it shows runs verbatim in a test."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

__all__ = ["README", "milestones_commands", "section", "shell_lines"]

README = Path(__file__).resolve().parents[2] / "README.md"


def section(title: str) -> str:
    """The text under `## title`, up to the next `## ` heading."""
    return README.read_text(encoding="utf-8").split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def shell_lines(text: str) -> list[str]:
    """The non-empty lines of every `sh` block, continuation lines joined."""
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    lines = (line for block in blocks for line in block.replace("\\\n", " ").splitlines())
    return [line for line in lines if line.strip()]


def milestones_commands(text: str) -> list[list[str]]:
    """The arguments of every `milestones` line (comments dropped)."""
    words = (shlex.split(line, comments=True) for line in shell_lines(text))
    return [w[1:] for w in words if w and w[0] == "milestones"]
