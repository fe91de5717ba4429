"""What every command needs first: validated settings and a database at the latest schema.

The database comes from the settings alone (`DATABASE_URL`, else `<MILESTONES_DATA_DIR>/
milestones.db`). A command that writes creates the embedded database on first use; a command
that only reads never creates one where none exists: it says where it looked instead. Either
way an embedded database is migrated on first use (`Database.prepare_schema`, as `serve` does).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app.core.crypto import SecretBox
from app.core.database import Database, sqlite_file
from app.core.errors import ConfigurationError, DatabaseError
from app.core.logs import configure_logging
from app.core.settings import Settings, get_settings

if TYPE_CHECKING:
    from app.services.kpis.snapshot import Snapshot

__all__ = ["kpi_view", "open_database", "secret_box", "settings"]


def settings() -> Settings:
    loaded = get_settings()
    configure_logging(loaded.log_level, loaded.log_format)
    return loaded


def secret_box() -> SecretBox:
    return SecretBox.from_settings(settings())


def _embedded_file_ready(config: Settings, file: Path, writes: bool) -> None:
    """Refuse a missing folder or (for a reader) a missing file; a writer makes the data dir."""
    if config.database_url and not file.parent.is_dir():
        raise ConfigurationError(
            f"DATABASE_URL: the folder {file.parent} does not exist: create it "
            f"(mkdir -p {file.parent}) or point DATABASE_URL at another place"
        )
    if file.exists():
        return
    if not writes:
        origin = (
            "DATABASE_URL"
            if config.database_url
            else f"MILESTONES_DATA_DIR={config.data_dir} (default: data in the working directory)"
        )
        raise DatabaseError(
            f"no database at {file} ({origin}): run from the folder that holds one, point "
            "MILESTONES_DATA_DIR or DATABASE_URL at it, or create one with `milestones db upgrade`"
        )
    file.parent.mkdir(parents=True, exist_ok=True)


def open_database(*, writes: bool = False, migrate: bool = True) -> Database:
    """The configured database, reachable and (unless `migrate=False`) at the latest schema.

    `writes`: the command stores something, so it may create an embedded database. `migrate`
    is off only for `milestones db`, which manages the schema itself.
    """
    config = settings()
    url = config.effective_database_url
    file = sqlite_file(url)
    if file is not None:
        _embedded_file_ready(config, file, writes)
    database = Database(url)
    database.check_reachable()
    if migrate:
        database.prepare_schema()
    return database


def kpi_view(as_of: str | None = None, database: Database | None = None) -> Snapshot:
    """The KPI view every reporting command reads (the data clock, or the settings' as-of);
    with `as_of` (a date or an ISO instant), the view as an export cut then would have it.
    A value that is not an instant, or one the view cannot answer, ends the command."""
    from app.cli.output import fail
    from app.core.errors import MilestonesError
    from app.services.kpis.store import KpiStore
    from crm import parse_instant

    store = KpiStore(database or open_database(), as_of_setting=settings().kpi_as_of_value)
    try:
        snapshot = store.snapshot()
        if as_of is not None:
            return store.at(parse_instant(as_of if len(as_of) > 10 else f"{as_of}T00:00:00Z"))
    except ValueError:
        fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD) or an ISO 8601 instant", code=2)
    except MilestonesError as error:
        fail(error.detail)
    return snapshot
