from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from tests.connectors.hubspot.portal import write_portal


@pytest.fixture(scope="session")
def portal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_portal(tmp_path_factory.mktemp("portal"), emails=250, future_changes=5)


@pytest.fixture
def sandbox(portal_dir: Path) -> Sandbox:
    return Sandbox.from_export(portal_dir, SandboxConfig(hs_search_per_second=None))


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running
