"""The embedded database file is its owner's alone, like the key file beside it."""

from __future__ import annotations

import stat
from pathlib import Path

from app.core.database import Database, upgrade


def test_a_new_sqlite_database_is_created_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "milestones.db"
    database = Database(f"sqlite:///{path}")
    assert not path.exists()  # nothing is created before the first connection
    upgrade(database.engine)
    database.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
