"""Encryption at rest for CRM credentials.

CRM tokens and client secrets are sealed with Fernet (AES-128-CBC + HMAC-SHA256) before they
reach the database; only `SecretBox.open` turns them back into values, wrapped in `Credentials`,
whose repr never shows them. Several comma-separated keys allow rotation: the first seals, any
opens.

    box = SecretBox.from_settings(settings)
    token = box.seal({"access_token": "pat-..."})
    box.open(token).reveal("access_token")
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.core.errors import ConfigurationError, SecretError
from app.core.settings import Settings

__all__ = ["Credentials", "SecretBox", "generate_key", "load_keys"]

log = logging.getLogger(__name__)


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _parse_keys(raw: str, origin: str) -> list[bytes]:
    keys = [part.strip().encode("ascii") for part in raw.split(",") if part.strip()]
    if not keys:
        raise ConfigurationError(f"{origin} is empty: set it to a key from `milestones secret-key`")
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ConfigurationError(
                f"{origin} is not a valid key (32 url-safe base64-encoded bytes expected); "
                "generate one with `milestones secret-key`"
            ) from None
    return keys


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(generate_key() + "\n")
    log.warning(
        "MILESTONES_SECRET_KEY is not set: generated a development key",
        extra={"key_file": str(path)},
    )


def load_keys(settings: Settings) -> list[bytes]:
    """The configured keys; in development without one, a key generated once into the data dir."""
    if settings.secret_key is not None:
        return _parse_keys(settings.secret_key.get_secret_value(), "MILESTONES_SECRET_KEY")
    if settings.environment == "production":
        raise ConfigurationError("MILESTONES_SECRET_KEY is required in production")
    path = settings.secret_key_file
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            _create_key_file(path)
    return _parse_keys(path.read_text(encoding="ascii"), f"secret key file {path}")


class Credentials(Mapping[str, str]):
    """Decrypted credentials. Behaves as a read-only mapping; repr and str hide the values."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def reveal(self, name: str) -> str:
        return self._values[name]

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Credentials({sorted(self._values)!r}: values hidden)"

    __str__ = __repr__


class SecretBox:
    """Seals and opens credential mappings with the configured key ring."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ConfigurationError("at least one secret key is required")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(load_keys(settings))

    def seal(self, values: Mapping[str, str]) -> str:
        plaintext = json.dumps(dict(values), sort_keys=True, separators=(",", ":"))
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, token: str) -> Credentials:
        try:
            plaintext = self._fernet.decrypt(token.encode("ascii"))
        except InvalidToken:
            raise SecretError(
                "stored credentials cannot be decrypted with the configured "
                "MILESTONES_SECRET_KEY (was the key changed? keep the old key after the new "
                "one, comma-separated, until credentials are re-saved)"
            ) from None
        values = json.loads(plaintext)
        return Credentials({str(k): str(v) for k, v in values.items()})

    def __repr__(self) -> str:
        return "SecretBox(keys hidden)"
