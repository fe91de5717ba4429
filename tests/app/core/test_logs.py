"""Logs are one JSON object per line, carry context, and never carry a secret."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from app.core.crypto import Credentials
from app.core.logs import REDACTED, configure_logging

SECRET = "sk-live-very-secret-value"


def _lines(captured: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in captured.splitlines() if line.strip()]


def test_stdlib_and_structlog_lines_are_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    logging.getLogger("app.test").info("synced", extra={"records": 12})
    structlog.get_logger("app.test").info("mapped", events=3)
    lines = _lines(capsys.readouterr().err)
    assert lines[0]["event"] == "synced" and lines[0]["records"] == 12
    assert lines[1]["event"] == "mapped" and lines[1]["events"] == 3
    assert all("timestamp" in line and line["level"] == "info" for line in lines)


def test_secret_fields_are_redacted_at_any_depth(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    logging.getLogger("app.test").info(
        "connecting",
        extra={
            "access_token": SECRET,
            "settings": {"instance": "acme", "auth": {"client_secret": SECRET}},
            "headers": [{"Authorization": f"Bearer {SECRET}"}],
        },
    )
    structlog.get_logger("app.test").info("refresh", refresh_token=SECRET, password=SECRET)
    captured = capsys.readouterr().err
    assert SECRET not in captured
    first, second = _lines(captured)
    assert first["access_token"] == REDACTED
    assert first["settings"] == {"instance": "acme", "auth": {"client_secret": REDACTED}}
    assert second["refresh_token"] == REDACTED and second["password"] == REDACTED


def test_credentials_objects_log_without_values(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    logging.getLogger("app.test").info("loaded %s", Credentials({"api": SECRET}))
    assert SECRET not in capsys.readouterr().err


def test_auto_logs_readable_lines_at_a_terminal_and_json_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.core import logs

    monkeypatch.setattr(logs.sys.stderr, "isatty", lambda: True, raising=False)
    assert logs.resolved_format("auto") == "console"
    assert logs.resolved_format("json") == "json"
    monkeypatch.setattr(logs.sys.stderr, "isatty", lambda: False, raising=False)
    assert logs.resolved_format("auto") == "json"
    assert logs.resolved_format("console") == "console"
