"""Errors of the sales-history generator.

GeneratorError
 ├── InvalidParameters   options that cannot describe a business (unknown size, negative count)
 └── OutputNotEmpty      the output directory holds files and overwriting was not asked for
"""

from __future__ import annotations

__all__ = ["GeneratorError", "InvalidParameters", "OutputNotEmpty"]


class GeneratorError(Exception):
    """Base of every error the generator raises on purpose."""


class InvalidParameters(GeneratorError):
    """An option value that the generator refuses; the message names the option."""


class OutputNotEmpty(GeneratorError):
    """The output directory exists, is not empty, and `force` was not given."""
