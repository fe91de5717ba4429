"""Settings come from the environment and fail early, naming the setting to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import ConfigurationError
from app.core.settings import load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "MILESTONES_ENVIRONMENT", "MILESTONES_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_to_an_sqlite_file_in_the_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MILESTONES_DATA_DIR", str(tmp_path / "state"))
    settings = load_settings()
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'state' / 'milestones.db'}"
    assert settings.environment == "development"


def test_reads_database_url_log_level_and_bind_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://app@db:5432/milestones")
    monkeypatch.setenv("MILESTONES_LOG_LEVEL", "debug")
    monkeypatch.setenv("MILESTONES_HOST", "0.0.0.0")
    monkeypatch.setenv("MILESTONES_PORT", "9000")
    settings = load_settings()
    assert settings.effective_database_url == "postgresql+psycopg://app@db:5432/milestones"
    assert (settings.log_level, settings.host, settings.port) == ("DEBUG", "0.0.0.0", 9000)


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MILESTONES_LOG_LEVEL=WARNING\n")
    assert load_settings().log_level == "WARNING"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "DATABASE_URL: is not a database URL"),
        ("mysql://root@localhost/db", "DATABASE_URL: backend 'mysql' is not supported"),
    ],
)
def test_a_malformed_database_url_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ConfigurationError, match=message):
        load_settings()


def test_production_requires_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILESTONES_ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://app@db/milestones")
    with pytest.raises(ConfigurationError, match="MILESTONES_SECRET_KEY is required in production"):
        load_settings()


def test_production_requires_a_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILESTONES_ENVIRONMENT", "production")
    monkeypatch.setenv("MILESTONES_SECRET_KEY", "x" * 44)
    with pytest.raises(ConfigurationError, match="DATABASE_URL is required in production"):
        load_settings()


def test_an_invalid_port_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILESTONES_PORT", "70000")
    with pytest.raises(ConfigurationError, match="MILESTONES_PORT"):
        load_settings()
