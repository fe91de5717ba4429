"""A realistic, deterministic B2B sales history, rendered as Salesforce and HubSpot exports.

The simulation core is CRM-neutral (`simulation`, `journey`, `crm_fields`, `noise`); the
renderers (`salesforce`, `hubspot`) turn it into each CRM's records; `writer` streams them to
the on-disk format described in docs/export-format.md; `truth` and `summary` tell what really
happened.

    >>> from pathlib import Path
    >>> summary = generate(build_params(seed=7, size="small"), Path("/tmp/x"))  # doctest: +SKIP
"""

from __future__ import annotations

from sandbox.history.errors import GeneratorError, InvalidParameters, OutputNotEmpty
from sandbox.history.params import DEFAULT_NOW, SIZES, GeneratorParams, build_params
from sandbox.history.run import FORMAT, generate
from sandbox.history.scenarios import SCENARIOS, Scenario

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
