"""Dependencies shared by routes, as `Annotated` aliases."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.config import Settings
from app.crypto import SecretBox
from app.db import Database
from app.metrics import Metrics

__all__ = ["DatabaseDep", "MetricsDep", "SecretBoxDep", "SessionDep", "SettingsDep"]


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    with database.session() as session:
        yield session


def get_secret_box(request: Request) -> SecretBox:
    box: SecretBox | None = getattr(request.app.state, "secret_box", None)
    if box is None:
        box = SecretBox.from_settings(request.app.state.settings)
        request.app.state.secret_box = box
    return box


_metrics_lock = threading.Lock()


def get_metrics(request: Request) -> Metrics:
    with _metrics_lock:  # one registry per app: counts must not split between two
        metrics: Metrics | None = getattr(request.app.state, "metrics", None)
        if metrics is None:
            metrics = Metrics(request.app.state.database)
            request.app.state.metrics = metrics
        return metrics


DatabaseDep = Annotated[Database, Depends(get_database)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]
SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
