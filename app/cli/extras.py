"""Install extras the CLI can do without: the sandbox CRM ships apart from the product."""

from __future__ import annotations

import importlib.util

__all__ = ["SANDBOX_MISSING", "sandbox_installed"]

SANDBOX_MISSING = (
    "the sandbox CRM is not installed (the production install carries none): "
    "run `pip install 'milestone-sync[sandbox]'`, or `make demo` in a source checkout"
)


def sandbox_installed() -> bool:
    """Whether the `sandbox` package (the local CRM and the history generator) can be imported."""
    try:
        return importlib.util.find_spec("sandbox.history") is not None
    except ModuleNotFoundError:
        return False
