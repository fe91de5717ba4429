"""Settings: the one place that reads the environment (and `.env`).

Everything else receives a validated `Settings` object. Invalid values fail at load with a
message naming the setting, so a misconfigured deployment stops before it touches a CRM.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Literal

from cachetools import LRUCache, cached
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.core.errors import ConfigurationError
from crm import parse_instant

__all__ = ["Settings", "get_settings", "load_settings"]

Environment = Literal["development", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Settings(BaseSettings):
    """Service configuration, read from `MILESTONES_*` variables, `DATABASE_URL` and `.env`."""

    model_config = SettingsConfigDict(
        env_prefix="MILESTONES_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    environment: Environment = Field(
        default="development",
        description="`production` requires an explicit secret key and a DATABASE_URL.",
    )
    data_dir: Path = Field(
        default=Path("data"),
        description="Where the embedded SQLite database, the generated development key and the "
        "sandbox's files live; a relative path is taken from the working directory.",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL; default: SQLite file `<data_dir>/milestones.db`.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key (32 url-safe base64 bytes) that encrypts CRM credentials at rest.",
    )
    log_level: LogLevel = "INFO"
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto",
        description="`console` (readable lines), `json` (one object a line), or `auto`: console "
        "when stderr is a terminal, JSON otherwise.",
    )
    host: str = Field(default="127.0.0.1", description="Address the API binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the API binds to.")
    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/?#]+$",
        description="The API's address as CRMs call it (scheme and host, e.g. "
        "https://milestones.example.com); webhook signatures cover it. Default: as received.",
    )

    web_session_hours: float = Field(
        default=12.0,
        gt=0,
        le=720,
        description="How long a web sign-in lasts; the session cookie is refused after it.",
    )

    kpi_as_of: str = Field(
        default="data",
        description="What KPIs take as now: `data` (the CRM's clock as last synced: the wall "
        "clock when a live CRM's last successful sync finished, a replayed history's time "
        "then), `clock` (the wall clock) or a fixed ISO 8601 instant.",
    )

    @field_validator("kpi_as_of")
    @classmethod
    def _parse_kpi_as_of(cls, value: str) -> str:
        if value in ("data", "clock"):
            return value
        try:
            parse_instant(value)
        except ValueError:
            raise ValueError("must be `data`, `clock` or an ISO 8601 instant") from None
        return value

    @property
    def kpi_as_of_value(self) -> Literal["data", "clock"] | datetime:
        if self.kpi_as_of in ("data", "clock"):
            return self.kpi_as_of  # type: ignore[return-value]
        return parse_instant(self.kpi_as_of)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _parse_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "is not a database URL; use e.g. sqlite:///data/milestones.db or "
                "postgresql+psycopg://user@host:5432/dbname"
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(
                f"backend {url.get_backend_name()!r} is not supported; use sqlite or postgresql"
            )
        return value

    @model_validator(mode="after")
    def _production_needs_explicit_secrets(self) -> Settings:
        if self.environment == "production":
            if self.secret_key is None:
                raise ValueError(
                    "MILESTONES_SECRET_KEY is required in production: generate one with "
                    "`milestones secret-key` and set it in the environment"
                )
            if self.database_url is None:
                raise ValueError("DATABASE_URL is required in production")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'milestones.db').resolve()}"

    @property
    def secret_key_file(self) -> Path:
        return self.data_dir / "secret.key"


def _env_name(field: str) -> str:
    """The variable a user sets for a field (errors name it by its alias or by its field name)."""
    if field.lower() == "database_url":
        return "DATABASE_URL"
    return f"MILESTONES_{field.upper()}"


def load_settings() -> Settings:
    """Settings from the environment; a bad value raises one `ConfigurationError` line per issue."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            if error["loc"]:
                lines.append(f"{_env_name(str(error['loc'][0]))}: {message}")
            else:
                lines.append(message)
        raise ConfigurationError("; ".join(lines)) from None


# One entry: the environment does not change under a running process (tests call cache_clear).
@cached(LRUCache(maxsize=1), lock=threading.Lock(), info=True)
def get_settings() -> Settings:
    """This process's settings, read from the environment on first use."""
    return load_settings()
