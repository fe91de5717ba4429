"""A realistic, deterministic B2B sales history, rendered as Salesforce and HubSpot exports.

The simulation core is CRM-neutral (`simulation`, `journey`, `crm_fields`, `noise`); the
renderers (`salesforce`, `hubspot`) turn it into each CRM's records; `writer` streams them to
the on-disk format described in docs/export-format.md; `truth` and `summary` tell what really
happened.

    >>> from pathlib import Path
    >>> summary = generate(build_params(seed=7, size="small"), Path("/tmp/x"))  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from sandbox.history.errors import GeneratorError, InvalidParameters, OutputNotEmpty
from sandbox.history.params import DEFAULT_NOW, SIZES, GeneratorParams, build_params
from sandbox.history.scenarios import SCENARIOS, Scenario

if TYPE_CHECKING:
    from sandbox.history.run import FORMAT, generate

__all__ = [
    "DEFAULT_NOW",
    "FORMAT",
    "SCENARIOS",
    "SIZES",
    "GeneratorError",
    "GeneratorParams",
    "InvalidParameters",
    "OutputNotEmpty",
    "Scenario",
    "build_params",
    "generate",
]


def __getattr__(name: str) -> Any:
    """The generator itself (simulation, renderers, writer) is imported on first use: a
    command line that only lists the sizes and scenarios does not load it."""
    if name in ("FORMAT", "generate"):
        return getattr(import_module("sandbox.history.run"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
