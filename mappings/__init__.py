"""Mapping rules: customer-action milestones from CRM records, as a pure library.

Records and a ruleset in, milestone events out; nothing here imports `app` or `connectors`.

    ruleset = load_ruleset(text, "rules.yaml")     # RulesetError lists every problem, placed
    engine = Engine(compile_ruleset(ruleset), "salesforce", resolver)
    engine.derive("EmailMessage", "02s...", payload).events

Modules, in the order the data flows: `yaml_tree` (YAML with positions) -> `schema` (the
language) -> `validate` (streams, fields, the seller-side guard; `catalog` knows the CRMs) ->
`compiler` (closures, one pass per record) -> `engine` (+ `links`, `attribution`,
`resolver`, `opportunities`) -> events.
"""

from pathlib import Path

from mappings.compiler import CompiledRuleset, compile_ruleset
from mappings.diagnostics import Diagnostic, Position
from mappings.engine import Derivation, DerivedEvent, Engine
from mappings.errors import MappingsError, RulesetError
from mappings.model import Ruleset
from mappings.resolver import EntityIndex, Resolver
from mappings.validate import ValidationReport, load_ruleset, validate

EXAMPLES = Path(__file__).resolve().parent / "examples"
"""The shipped example processes, one rule file per CRM."""

__all__ = [
    "EXAMPLES",
    "CompiledRuleset",
    "Derivation",
    "DerivedEvent",
    "Diagnostic",
    "Engine",
    "EntityIndex",
    "MappingsError",
    "Position",
    "Resolver",
    "Ruleset",
    "RulesetError",
    "ValidationReport",
    "compile_ruleset",
    "load_ruleset",
    "validate",
]
