"""Validation beyond the grammar: streams, fields, times, and the seller-side guard.

`validate` parses a rule file and checks every rule against what the CRM has:

- the stream exists for the process's CRM;
- every field exists for its stream: in the connection's own describe / properties data when
  the caller has it, else in the built-in catalog plus the custom fields the file declares;
- `occurred_at` names a date or time field;
- **the guard**: a milestone is something the customer does, says or writes. A rule that can
  match seller-side records (outgoing emails, rep-created tasks, logged call attempts, stage
  changes a rep makes) — only them, or them as well as the customer's, such as an email rule
  with no direction — is an error that says what to add, unless its milestone is marked as an
  exception with a reason.

`unmatched_warnings` adds, from match counts over stored records, a warning for every
milestone that no stored record has ever matched.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from mappings.catalog import STREAMS, Source, StreamInfo, streams_of
from mappings.diagnostics import Diagnostic, Position
from mappings.errors import RulesetError
from mappings.links import ENTITY_STREAMS
from mappings.model import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    FieldRef,
    Milestone,
    NotOf,
    Process,
    Related,
    Rule,
    Ruleset,
)
from mappings.schema import parse_partial
from mappings.values import as_text

__all__ = [
    "FieldCatalog",
    "Side",
    "ValidationReport",
    "load_ruleset",
    "rule_side",
    "unmatched_warnings",
    "validate",
]

FieldCatalog = Mapping[tuple[Source, str], Mapping[str, str]]
"""From a connection: (source, stream) -> field name -> type ('datetime', 'date', ... or '')."""

Side = Literal["customer", "seller", "mixed"]
_TIME_TYPES = frozenset({"datetime", "date", "date-time"})


@dataclass(frozen=True)
class ValidationReport:
    ruleset: Ruleset | None
    diagnostics: list[Diagnostic]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.ruleset is not None and not self.errors


def validate(
    text: str,
    file: str = "<ruleset>",
    connection_fields: FieldCatalog | None = None,
    fields_from: str = "the connection's data",
) -> ValidationReport:
    ruleset, diagnostics = parse_partial(text, file)
    if ruleset is not None:
        diagnostics = diagnostics + _Checker(ruleset, connection_fields, fields_from).run()
    # A YAML alias repeats its anchor's nodes: report each problem once.
    diagnostics = sorted(dict.fromkeys(diagnostics), key=lambda d: (d.position, d.severity, d.code))
    if any(d.severity == "error" for d in diagnostics):
        return ValidationReport(None, diagnostics)
    return ValidationReport(ruleset, diagnostics)


def load_ruleset(
    text: str, file: str = "<ruleset>", connection_fields: FieldCatalog | None = None
) -> Ruleset:
    """The validated ruleset; `RulesetError` with every diagnostic if it has errors."""
    report = validate(text, file, connection_fields)
    if report.ruleset is None:
        raise RulesetError(report.diagnostics)
    return report.ruleset


class _Checker:
    def __init__(self, ruleset: Ruleset, connection: FieldCatalog | None, fields_from: str) -> None:
        self.ruleset = ruleset
        self.connection = connection or {}
        self.fields_from = fields_from
        self.found: list[Diagnostic] = []

    def error(
        self, code: str, message: str, position: Position, expected: str | None = None
    ) -> None:
        self.found.append(Diagnostic("error", code, message, position, expected))

    def warn(
        self, code: str, message: str, position: Position, expected: str | None = None
    ) -> None:
        self.found.append(Diagnostic("warning", code, message, position, expected))

    def run(self) -> list[Diagnostic]:
        for process in self.ruleset.processes:
            self._process(process)
        return self.found

    # -- fields ------------------------------------------------------------------------------------

    def _fields(self, source: Source, stream: str) -> tuple[dict[str, str], str]:
        """Known fields with types, and where that knowledge comes from."""
        described = self.connection.get((source, stream))
        if described:
            return dict(described), self.fields_from
        info = STREAMS[(source, stream)]
        known = {name: "other" for name in info.fields}
        known.update({name: "datetime" for name in info.datetime_fields})
        known.update({name: "date" for name in info.date_fields})
        for name in self.ruleset.custom_fields.get((source, stream), ()):
            known.setdefault(name, "")
        return known, "the built-in catalog (declare custom fields under `fields:`)"

    def _field_name(self, info: StreamInfo, ref: FieldRef) -> str | None:
        """The field a path starts from, or None when the path is not about a field."""
        path = ref.path
        if info.properties:
            if path[0] == "properties":
                return path[1] if len(path) > 1 else None
            if path[0] in info.top_level:
                return None
        if path[0] == "attributes":
            return None
        return path[0]

    def _check_field(self, source: Source, stream: str, ref: FieldRef) -> str | None:
        info = STREAMS[(source, stream)]
        name = self._field_name(info, ref)
        if name is None:
            return None
        known, origin = self._fields(source, stream)
        if name in known:
            return known[name]
        if len(ref.path) > 1 and source == "salesforce":
            relationship = name[:-3] + "__c" if name.endswith("__r") else name + "Id"
            if relationship in known:
                return None
        close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else f"a field of {stream}"
        if (source, stream) in self.connection:
            hint += " (a CRM field the connection does not pull yet: add it to its extra fields)"
        self.error(
            "unknown-field",
            f"unknown field {name!r} for stream {stream} according to {origin}",
            ref.position,
            hint,
        )
        return None

    def _conditions(self, source: Source, stream: str, node: Condition) -> None:
        if isinstance(node, Compare):
            self._check_field(source, stream, node.field)
        elif isinstance(node, AllOf | AnyOf):
            for item in node.items:
                self._conditions(source, stream, item)
        elif isinstance(node, NotOf):
            self._conditions(source, stream, node.item)
        elif isinstance(node, Related):
            self._conditions(source, ENTITY_STREAMS[source][node.hops[-1]], node.where)

    # -- processes, milestones, rules --------------------------------------------------------------

    def _process(self, process: Process) -> None:
        if process.segment is not None:
            opportunity = ENTITY_STREAMS[process.source]["opportunity"]
            self._conditions(process.source, opportunity, process.segment)
        for milestone in process.milestones:
            self._milestone(process, milestone)

    def _milestone(self, process: Process, milestone: Milestone) -> None:
        sides: list[tuple[Rule, Side, str]] = []
        for rule in milestone.rules:
            info = STREAMS.get((process.source, rule.stream))
            if info is None:
                self._unknown_stream(process.source, rule)
                continue
            self._conditions(process.source, rule.stream, rule.when)
            self._time(process.source, info, rule)
            side, why = rule_side(info, rule)
            sides.append((rule, side, why))
        if milestone.exception is not None:
            return
        seller = [(rule, why) for rule, side, why in sides if side == "seller"]
        if sides and len(seller) == len(sides):
            reasons = "; ".join(dict.fromkeys(why for _, why in seller))
            self.error(
                "seller-side",
                f"milestone {milestone.key!r} can only match seller-side records ({reasons}): "
                "a milestone is something the customer does, says or writes",
                milestone.position,
                "rules that match the customer's own actions, or `exception: <reason>`",
            )
            return
        for rule, why in seller:
            self.error(
                "seller-side",
                f"rule {rule.key!r} can only match seller-side records ({why})",
                rule.position,
                "a rule on the customer's actions, or `exception: <reason>` on the milestone",
            )
        for rule, side, why in sides:
            if side == "mixed":
                hint = STREAMS[(process.source, rule.stream)].side_hint
                self.error(
                    "both-sides",
                    f"rule {rule.key!r} can also match seller-side records ({why}): "
                    "a milestone is something the customer does, says or writes",
                    rule.position,
                    f"{hint}, or `exception: <reason>` on the milestone"
                    if hint
                    else "`exception: <reason>` on the milestone",
                )

    def _unknown_stream(self, source: Source, rule: Rule) -> None:
        names = streams_of(source)
        close = difflib.get_close_matches(rule.stream, names, n=1, cutoff=0.5)
        other = [src for (src, s) in STREAMS if s == rule.stream and src != source]
        message = f"unknown stream {rule.stream!r} for {source}"
        if other:
            message += f" ({rule.stream} is a {other[0]} stream)"
        expected = f"did you mean {close[0]}?" if close else "one of " + ", ".join(names)
        self.error("unknown-stream", message, rule.stream_position, expected)

    def _time(self, source: Source, info: StreamInfo, rule: Rule) -> None:
        if not rule.occurred_at:
            if not info.time_fields:
                self.error(
                    "missing",
                    f"stream {info.name} has no default time: name `occurred_at`",
                    rule.position,
                    "`occurred_at: <date or time field>`",
                )
            return
        for ref in rule.occurred_at:
            kind = self._check_field(source, rule.stream, ref)
            if kind and kind not in _TIME_TYPES:
                self.error(
                    "not-a-time",
                    f"`occurred_at` field {ref.text!r} is not a date or time field",
                    ref.position,
                    "a date or datetime field",
                )


# -- the seller-side guard -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Allowed:
    """The values a rule lets through for one field: `only` these, or anything `but` these."""

    only: frozenset[str] | None = None
    but: frozenset[str] = frozenset()

    def both(self, other: _Allowed) -> _Allowed:
        if self.only is not None and other.only is not None:
            only: frozenset[str] | None = self.only & other.only
        else:
            only = self.only if self.only is not None else other.only
        but = self.but | other.but
        if only is not None:
            return _Allowed(only - but)
        return _Allowed(None, but)

    def either(self, other: _Allowed) -> _Allowed:
        if self.only is not None and other.only is not None:
            return _Allowed(self.only | other.only)
        if self.only is None and other.only is None:
            return _Allowed(None, self.but & other.but)
        return _Allowed()


def _key(ref: FieldRef) -> str:
    path = ref.path[1:] if ref.path[0] == "properties" and len(ref.path) > 1 else ref.path
    return ".".join(path)


def _texts(values: object) -> frozenset[str]:
    items = values if isinstance(values, tuple) else (values,)
    return frozenset(as_text(v).lower() for v in items)


def _constraints(node: Condition) -> dict[str, _Allowed]:
    if isinstance(node, Compare):
        if node.op in ("equals", "in"):
            return {_key(node.field): _Allowed(_texts(node.value))}
        if node.op in ("not_equals", "not_in"):
            return {_key(node.field): _Allowed(None, _texts(node.value))}
        return {}
    if isinstance(node, NotOf):
        inner = node.item
        if isinstance(inner, Compare) and inner.op in ("equals", "in"):
            return {_key(inner.field): _Allowed(None, _texts(inner.value))}
        return {}
    if isinstance(node, AllOf):
        merged: dict[str, _Allowed] = {}
        for item in node.items:
            for name, allowed in _constraints(item).items():
                merged[name] = merged[name].both(allowed) if name in merged else allowed
        return merged
    if isinstance(node, AnyOf):
        branches = [_constraints(item) for item in node.items]
        common = set(branches[0]).intersection(*branches[1:]) if branches else set()
        result: dict[str, _Allowed] = {}
        for name in common:
            allowed = branches[0][name]
            for branch in branches[1:]:
                allowed = allowed.either(branch[name])
            result[name] = allowed
        return result
    return {}


def rule_side(info: StreamInfo, rule: Rule) -> tuple[Side, str]:
    """Whose actions a rule can match, and why (for messages)."""
    if info.seller_only:
        return "seller", info.seller_only
    if info.customer_only:
        return "customer", info.customer_only
    allowed = _constraints(rule.when)

    def forced(field: str, values: frozenset[str]) -> bool:
        limit = allowed.get(field)
        return limit is not None and limit.only is not None and limit.only <= values

    def excluded(field: str, values: frozenset[str]) -> bool:
        limit = allowed.get(field)
        if limit is None:
            return False
        if limit.only is not None:
            return not (limit.only & values)
        return values <= limit.but

    for facet in info.seller:
        if forced(facet.field, facet.values):
            return "seller", facet.meaning
    for facet in info.customer:
        if forced(facet.field, facet.values):
            return "customer", facet.meaning
    if info.customer and all(excluded(f.field, f.values) for f in info.customer):
        meanings = " or ".join(f.meaning for f in info.customer)
        return "seller", f"it excludes {meanings}"
    if not info.customer:
        return "mixed", f"records of {info.name} are not marked as the customer's or the seller's"
    meanings = ", ".join(f.meaning for f in info.seller) or "the seller's own records"
    return (
        "mixed",
        f"nothing restricts it to the customer's side; {info.name} also holds {meanings}",
    )


def unmatched_warnings(
    ruleset: Ruleset, matched: Mapping[tuple[str, str], int], records_seen: int
) -> list[Diagnostic]:
    """A warning for each milestone no stored record has matched (when records were seen)."""
    if records_seen <= 0:
        return []
    warnings: list[Diagnostic] = []
    for process in ruleset.processes:
        for milestone in process.milestones:
            if matched.get((process.key, milestone.key), 0) == 0:
                streams = ", ".join(dict.fromkeys(rule.stream for rule in milestone.rules))
                warnings.append(
                    Diagnostic(
                        "warning",
                        "never-matched",
                        f"no stored record has ever matched milestone {milestone.key!r} "
                        f"of process {process.key!r} ({records_seen} stored records read; "
                        f"its rules read {streams})",
                        milestone.position,
                        "conditions that some stored record meets",
                    )
                )
    return warnings
