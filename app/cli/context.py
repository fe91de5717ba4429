"""What every command needs first: validated settings and a reachable database."""

from __future__ import annotations

from app.core.crypto import SecretBox
from app.core.database import Database
from app.core.logs import configure_logging
from app.core.settings import Settings, get_settings

__all__ = ["open_database", "secret_box", "settings"]


def settings() -> Settings:
    loaded = get_settings()
    configure_logging(loaded.log_level, loaded.log_format)
    return loaded


def secret_box() -> SecretBox:
    return SecretBox.from_settings(settings())


def open_database() -> Database:
    database = Database(settings().effective_database_url)
    database.check_reachable()
    return database
