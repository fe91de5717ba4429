"""A ruleset as typed values: what `schema.parse_ruleset` builds from a rule file.

Ruleset ─ processes ─ milestones ─ rules ─ conditions. Every node keeps the position it was
written at, so later checks (unknown fields, the seller-side guard) can point at it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from mappings.catalog import Source
from mappings.diagnostics import Position

__all__ = [
    "AllOf",
    "AnyOf",
    "Attribution",
    "AttributionStep",
    "Compare",
    "Condition",
    "FieldRef",
    "HalfLife",
    "Kind",
    "Literal_",
    "Milestone",
    "NotOf",
    "Op",
    "Pick",
    "Process",
    "Related",
    "Rule",
    "RuleSource",
    "Ruleset",
]

Kind = Literal["does", "says", "writes"]
HalfLife = float | Literal["auto", "none"]
"""A process's recency half-life for its forecast: days, `none` (every deal alike) or `auto`
(chosen by a backtest of what was known before)."""
RuleSource = Literal["salesforce", "hubspot", "any"]
Op = Literal[
    "equals",
    "not_equals",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "regex",
    "exists",
    "gt",
    "gte",
    "lt",
    "lte",
]
AttributionStep = Literal["direct", "contact", "account"]
Pick = Literal["nearest", "all"]
Hop = Literal["contact", "account", "opportunity"]

Literal_ = str | int | float | bool | date | datetime | None


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field named in a rule: `Incoming`, `hs_email_direction`, `Account.Name`."""

    text: str
    path: tuple[str, ...]
    position: Position


@dataclass(frozen=True, slots=True)
class Compare:
    field: FieldRef
    op: Op
    value: Any
    position: Position


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Condition, ...]
    position: Position


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]
    position: Position


@dataclass(frozen=True, slots=True)
class NotOf:
    item: Condition
    position: Position


@dataclass(frozen=True, slots=True)
class Related:
    """Conditions on an associated record: `related: contact.account` + `where:`."""

    hops: tuple[Hop, ...]
    where: Condition
    position: Position


Condition = Compare | AllOf | AnyOf | NotOf | Related


@dataclass(frozen=True, slots=True)
class Attribution:
    via: tuple[AttributionStep, ...] = ("direct", "contact", "account")
    pick: Pick = "nearest"


@dataclass(frozen=True, slots=True)
class Rule:
    key: str
    source: RuleSource
    stream: str
    when: Condition
    occurred_at: tuple[FieldRef, ...]
    attribution: Attribution
    position: Position
    stream_position: Position
    document: dict[str, Any]
    """The rule as written, as plain data (stored with the ruleset version)."""


@dataclass(frozen=True, slots=True)
class Milestone:
    key: str
    name: str
    kind: Kind
    description: str
    guidance: str
    rules: tuple[Rule, ...]
    exception: str | None
    position: Position


@dataclass(frozen=True, slots=True)
class Process:
    key: str
    name: str
    source: Source
    segment: Condition | None
    segment_document: Any
    milestones: tuple[Milestone, ...]
    position: Position
    half_life_days: HalfLife | None = None
    """None: not set (the forecast's default)."""


@dataclass(frozen=True, slots=True)
class Ruleset:
    name: str
    file: str
    processes: tuple[Process, ...]
    custom_fields: dict[tuple[Source, str], frozenset[str]]
    checksum: str

    def process(self, key: str) -> Process:
        for process in self.processes:
            if process.key == key:
                return process
        raise KeyError(key)

    def sources(self) -> set[Source]:
        """The CRMs whose records the processes read."""
        return {process.source for process in self.processes}

    def milestone_count(self) -> int:
        return sum(len(p.milestones) for p in self.processes)

    def rule_count(self) -> int:
        return sum(len(m.rules) for p in self.processes for m in p.milestones)


def walk(condition: Condition) -> list[Condition]:
    """Every condition node, depth first, not descending into `related` groups."""
    found: list[Condition] = [condition]
    if isinstance(condition, AllOf | AnyOf):
        for item in condition.items:
            found.extend(walk(item))
    elif isinstance(condition, NotOf):
        found.extend(walk(condition.item))
    return found
