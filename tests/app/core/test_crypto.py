"""CRM credentials are sealed at rest and never shown by repr or logs."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from sqlalchemy import select, text

from app.core.crypto import Credentials, SecretBox, generate_key, load_keys
from app.core.database import Database
from app.core.errors import ConfigurationError, SecretError
from app.core.settings import Settings
from app.models import Connection

TOKEN = "pat-na1-5ecret-t0ken-value"


def test_seal_and_open_round_trip() -> None:
    box = SecretBox([generate_key().encode()])
    sealed = box.seal({"access_token": TOKEN, "client_id": "abc"})
    assert TOKEN not in sealed
    opened = box.open(sealed)
    assert opened.reveal("access_token") == TOKEN
    assert dict(opened) == {"access_token": TOKEN, "client_id": "abc"}


def test_repr_and_str_never_show_values() -> None:
    credentials = Credentials({"access_token": TOKEN})
    assert TOKEN not in repr(credentials)
    assert TOKEN not in str(credentials)
    assert TOKEN not in f"{credentials}"
    assert "access_token" in repr(credentials)
    assert TOKEN not in repr(SecretBox([generate_key().encode()]))


def test_a_rotated_key_still_opens_old_secrets() -> None:
    old, new = generate_key().encode(), generate_key().encode()
    sealed_with_old = SecretBox([old]).seal({"token": TOKEN})
    assert SecretBox([new, old]).open(sealed_with_old).reveal("token") == TOKEN


def test_the_wrong_key_gives_a_clear_error() -> None:
    sealed = SecretBox([generate_key().encode()]).seal({"token": TOKEN})
    with pytest.raises(SecretError, match="MILESTONES_SECRET_KEY"):
        SecretBox([generate_key().encode()]).open(sealed)


def test_development_generates_a_key_once_with_owner_only_permissions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=None)
    with caplog.at_level(logging.WARNING):
        first = load_keys(settings)
    assert "generated a development key" in caplog.text
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    caplog.clear()
    assert load_keys(settings) == first
    assert "generated" not in caplog.text


def test_an_invalid_configured_key_names_the_setting(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="not-a-fernet-key")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="MILESTONES_SECRET_KEY is not a valid key"):
        load_keys(settings)


def test_the_stored_column_never_holds_plaintext(db: Database) -> None:
    box = SecretBox([generate_key().encode()])
    with db.session() as session:
        session.add(
            Connection(
                name="acme-hubspot",
                kind="hubspot",
                credentials_sealed=box.seal({"access_token": TOKEN}),
            )
        )
    with db.engine.connect() as connection:
        stored = connection.execute(text("SELECT credentials_sealed FROM connections")).scalar_one()
    assert TOKEN not in stored
    with db.session() as session:
        saved = session.scalars(select(Connection)).one()
        assert TOKEN not in repr(saved)
        assert box.open(saved.credentials_sealed).reveal("access_token") == TOKEN
