"""Run one tool as a child process and measure it from outside: wall, CPU, peak RSS, records.

    measured = run_measured(["data/peers/tap-salesforce/bin/tap-salesforce", "--config", ...])
    measured.cpu_s, measured.peak_rss_mib, measured.records, measured.per_stream

Every tool, this project's sync included, is measured the same way: CPU time and peak RSS come
from the kernel's accounting of the child (`wait4`), so neither depends on the tool reporting
itself, and the harness's own work (reading the pipe) is not charged to it. Records are counted
from the tool's RECORD messages on stdout; a tool that writes none (this project's sync, which
stores into its database) reports its count on its last stdout line, kept as `last_line`.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.peers.messages import record_stream

__all__ = ["Measured", "run_measured"]


@dataclass
class Measured:
    returncode: int
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    per_stream: Counter[str] = field(default_factory=Counter)
    last_line: str = ""
    stderr_tail: str = ""

    @property
    def records(self) -> int:
        return sum(self.per_stream.values())


def run_measured(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
    stderr_file: Path | None = None,
    messages_file: Path | None = None,
) -> Measured:
    """Run `command` to its end; its stderr goes to `stderr_file` (the tail is kept), the
    stdout lines that are not records (logs, traces, state: Airbyte reports its errors there)
    to `messages_file`."""
    stderr_path = stderr_file or Path(os.devnull)
    per_stream: Counter[str] = Counter()
    last = b""
    messages_path = messages_file or Path(os.devnull)
    with open(stderr_path, "wb") as stderr, open(messages_path, "wb") as messages:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            cwd=cwd,
        )
        if stdin is not None:
            assert process.stdin is not None
            process.stdin.write(stdin.encode())
            process.stdin.close()
        assert process.stdout is not None
        for line in process.stdout:
            stream = record_stream(line)
            if stream is not None:
                per_stream[stream] += 1
            elif line.strip():
                last = line
                messages.write(line)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    tail = ""
    if stderr_file is not None:
        tail = stderr_file.read_bytes()[-3000:].decode(errors="replace")
    return Measured(
        returncode=process.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mib=usage.ru_maxrss / 1024,  # kilobytes on Linux
        per_stream=per_stream,
        last_line=last.decode(errors="replace").strip(),
        stderr_tail=tail,
    )
