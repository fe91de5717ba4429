"""The production image and compose stack are what the README promises."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_dockerfile_is_multi_stage_non_root_and_health_checked() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("\nFROM ") + dockerfile.startswith("FROM ") >= 2
    assert "-slim" in dockerfile
    assert "\nUSER milestones" in dockerfile
    assert "\nHEALTHCHECK " in dockerfile and "/healthz" in dockerfile
    assert 'CMD ["milestones", "serve"]' in dockerfile


def test_compose_runs_postgres_migrations_api_and_workers() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "api", "worker"}
    assert services["migrate"]["command"] == ["milestones", "db", "upgrade"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    environment = services["api"]["environment"]
    assert environment["MILESTONES_ENVIRONMENT"] == "production"
    assert environment["DATABASE_URL"].startswith("postgresql+psycopg://")


def test_compose_has_no_default_password_and_publishes_the_api_on_loopback() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    postgres = compose["services"]["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD"] == "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
    assert "${POSTGRES_PASSWORD" in compose["services"]["api"]["environment"]["DATABASE_URL"]
    assert compose["services"]["api"]["ports"] == ["${MILESTONES_PUBLISH:-127.0.0.1:8000}:8000"]


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_compose_file_parses_with_docker_compose() -> None:
    result = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        env={**os.environ, "MILESTONES_SECRET_KEY": "k", "POSTGRES_PASSWORD": "p"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_base_images_are_pinned_by_digest() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    bases = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, flags=re.M)
    assert len(bases) == 1 and re.fullmatch(r"python:3\.11-slim@sha256:[0-9a-f]{64}", bases[0])
    assert re.findall(r"^FROM (\S+)", dockerfile, flags=re.M) == ["${PYTHON_IMAGE}"] * 2
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    pulled = [
        service["image"]
        for service in compose["services"].values()
        if "image" in service and "build" not in service
    ]
    assert pulled and all(re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", i) for i in pulled)
