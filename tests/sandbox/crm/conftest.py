from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from tests.sandbox.crm.export_fixture import write_export


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_export(tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="module")
def sandbox(export_dir: Path) -> Sandbox:
    return Sandbox.from_export(export_dir, SandboxConfig(hs_search_per_second=None))


@pytest.fixture(scope="module")
def server(sandbox: Sandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running
