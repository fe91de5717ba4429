"""Declarative stream descriptions: what to pull, keyed and ordered how."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["StreamSpec", "SyncMode"]

SyncMode = Literal["incremental", "full_refresh"]


@dataclass(frozen=True)
class StreamSpec:
    """One object type pulled from a CRM.

    `name` is the stream's name in the raw layer; `object` the CRM's own name for it.
    Incremental streams filter and order on `cursor_field`; full-refresh streams (small
    reference data such as pipelines or stages) are read whole every run.
    """

    name: str
    object: str
    cursor_field: str
    primary_key: str = "Id"
    fields: tuple[str, ...] = ()
    page_size: int = 2000
    mode: SyncMode = "incremental"
    required_fields: tuple[str, ...] = field(default=())

    def with_fields(self, fields: tuple[str, ...]) -> StreamSpec:
        from dataclasses import replace

        return replace(self, fields=fields)
