"""API keys for the API tests: `auth("manager")` creates one and returns its headers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.core.database import Database
from app.services.access.api_keys import create_key

Auth = Callable[..., dict[str, str]]


@pytest.fixture
def auth(db: Database) -> Auth:
    def make(role: str = "admin", owner: str | None = None) -> dict[str, str]:
        with db.session() as session:
            _, secret = create_key(session, f"test {role}", role, owner)
        return {"Authorization": f"Bearer {secret}"}

    return make
