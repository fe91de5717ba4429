"""Compiling a ruleset once into closures, and matching records against it in one pass.

A record is looked at only by the rules of its (source, stream). Within a stream, the rules are
indexed by the field that most of them test for equality (an email's direction, a task's
subtype): one dictionary lookup discards every rule the record cannot satisfy, so most records
(outgoing mail, rep tasks) cost one lookup. Rules with identical conditions in several
processes are evaluated once.

    compiled = compile_ruleset(ruleset)
    for hit in compiled.match("hubspot", "emails", payload, env):
        hit.occurred_at, [t.milestone_key for t in hit.targets]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import orjson

from mappings.catalog import HUBSPOT, STREAMS, Source, StreamInfo
from mappings.links import ENTITY_STREAMS
from mappings.model import (
    AllOf,
    AnyOf,
    Attribution,
    Compare,
    Condition,
    FieldRef,
    Kind,
    NotOf,
    Related,
    Rule,
    Ruleset,
)
from mappings.values import as_text, to_bool, to_datetime, to_number

__all__ = ["CompiledRuleset", "Env", "Hit", "Target", "compile_ruleset", "make_getter"]

Record = Mapping[str, Any]
Getter = Callable[[Record], Any]


class Env(Protocol):
    """What a predicate may ask beyond the record: its associated records."""

    def related(
        self, source: Source, stream: str, record: Record, hop: str
    ) -> list[tuple[str, Record]]: ...


Pred = Callable[[Record, Env], bool]


@dataclass(frozen=True, slots=True)
class Target:
    """One (process, milestone, rule) that a group of identical rules stands for."""

    process_key: str
    milestone_key: str
    rule_key: str
    kind: Kind
    attribution: Attribution
    process_index: int


@dataclass(frozen=True, slots=True)
class _Group:
    predicate: Pred | None
    """What is left to test once the bucket's shared conditions passed (None: nothing)."""
    times: tuple[Getter, ...]
    targets: tuple[Target, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    occurred_at: datetime
    targets: tuple[Target, ...]


@dataclass(frozen=True, slots=True)
class _Bucket:
    """The groups a record can still satisfy once its index value is known; the conditions
    every one of them has are tested once, up front."""

    shared: Pred | None
    groups: tuple[_Group, ...]


_EMPTY = _Bucket(None, ())


class _Plan:
    """The rule groups of one stream, bucketed by one field's value."""

    __slots__ = ("always", "by_value", "key_getter", "key_path")

    def __init__(
        self,
        key_getter: Getter | None,
        by_value: dict[str, _Bucket],
        always: _Bucket,
        key_path: tuple[str, ...] = (),
    ) -> None:
        self.key_getter = key_getter
        self.by_value = by_value
        self.always = always
        self.key_path = key_path


def _missing(value: Any) -> bool:
    return value is None or value == ""


def record_path(info: StreamInfo | None, path: tuple[str, ...]) -> tuple[str, ...]:
    """Where a field named in a rule sits in the stored record (HubSpot: under properties)."""
    first = path[0]
    under_properties = (
        info is not None
        and info.properties
        and first != "properties"
        and first not in info.top_level
    )
    return ("properties", *path) if under_properties else path


def make_getter(info: StreamInfo | None, path: tuple[str, ...]) -> Getter:
    """How to read a field path from a record of this stream."""
    path = record_path(info, path)
    if len(path) == 1:
        name = path[0]
        return lambda record: record.get(name)
    if len(path) == 2:
        outer, inner = path

        def two(record: Record) -> Any:
            nested = record.get(outer)
            return nested.get(inner) if isinstance(nested, Mapping) else None

        return two

    def deep(record: Record) -> Any:
        value: Any = record
        for part in path:
            if not isinstance(value, Mapping):
                return None
            value = value.get(part)
        return value

    return deep


def _text_of(value: Any) -> str:
    return value if type(value) is str else as_text(value)


def _equals(get: Getter, literal: Any) -> Pred:
    if isinstance(literal, bool):

        def eq_bool(record: Record, env: Env) -> bool:
            value = get(record)
            return value is literal or to_bool(value) is literal

        return eq_bool
    if isinstance(literal, int | float):
        number = float(literal)

        def eq_number(record: Record, env: Env) -> bool:
            return to_number(get(record)) == number

        return eq_number
    if isinstance(literal, datetime | date):
        moment = to_datetime(literal)
        whole_day = not isinstance(literal, datetime)

        def eq_time(record: Record, env: Env) -> bool:
            value = to_datetime(get(record))
            if value is None or moment is None:
                return False
            return value.date() == moment.date() if whole_day else value == moment

        return eq_time
    text = str(literal)

    def eq_text(record: Record, env: Env) -> bool:
        value = get(record)
        return value == text or (
            value is not None and type(value) is not str and as_text(value) == text
        )

    return eq_text


def _in(get: Getter, literals: tuple[Any, ...]) -> Pred:
    if all(isinstance(v, str) for v in literals):
        texts = frozenset(literals)

        def in_texts(record: Record, env: Env) -> bool:
            value = get(record)
            return value is not None and _text_of(value) in texts

        return in_texts
    options = [_equals(get, literal) for literal in literals]

    def in_any(record: Record, env: Env) -> bool:
        return any(option(record, env) for option in options)

    return in_any


def _text_op(get: Getter, op: str, literals: tuple[str, ...]) -> Pred:
    lowered = tuple(v.lower() for v in literals)
    if op in ("contains", "not_contains"):
        if len(lowered) == 1:
            needle = lowered[0]

            def contains_one(record: Record, env: Env) -> bool:
                value = get(record)
                if value is None:
                    return False
                return needle in (value if type(value) is str else as_text(value)).lower()

            return contains_one

        def contains_any(record: Record, env: Env) -> bool:
            value = get(record)
            if value is None:
                return False
            text = (value if type(value) is str else as_text(value)).lower()
            for needle in lowered:  # noqa: SIM110 - a plain loop is faster than any() here
                if needle in text:
                    return True
            return False

        return contains_any
    if op == "starts_with":

        def starts(record: Record, env: Env) -> bool:
            value = get(record)
            return value is not None and _text_of(value).lower().startswith(lowered)

        return starts

    def ends(record: Record, env: Env) -> bool:
        value = get(record)
        return value is not None and _text_of(value).lower().endswith(lowered)

    return ends


def _order(get: Getter, op: str, literal: Any) -> Pred:
    compare: Callable[[Any, Any], bool] = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }[op]
    if isinstance(literal, datetime):

        def order_time(record: Record, env: Env) -> bool:
            value = to_datetime(get(record))
            return value is not None and compare(value, literal)

        return order_time

    def order_number(record: Record, env: Env) -> bool:
        value = to_number(get(record))
        return value is not None and compare(value, literal)

    return order_number


def _negate(pred: Pred) -> Pred:
    return lambda record, env: not pred(record, env)


def _compare(info: StreamInfo | None, node: Compare) -> Pred:
    get = make_getter(info, node.field.path)
    op, value = node.op, node.value
    if op == "equals":
        return _equals(get, value)
    if op == "not_equals":
        return _negate(_equals(get, value))
    if op == "in":
        return _in(get, value)
    if op == "not_in":
        return _negate(_in(get, value))
    if op in ("contains", "starts_with", "ends_with"):
        return _text_op(get, op, value)
    if op == "not_contains":
        return _negate(_text_op(get, op, value))
    if op == "regex":
        search = re.compile(value).search

        def matches(record: Record, env: Env) -> bool:
            found = get(record)
            return found is not None and search(_text_of(found)) is not None

        return matches
    if op == "exists":
        if value:
            return lambda record, env: not _missing(get(record))
        return lambda record, env: _missing(get(record))
    return _order(get, op, value)


def _all(preds: list[Pred]) -> Pred:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda record, env: a(record, env) and b(record, env)
    if len(preds) == 3:
        a, b, c = preds
        return lambda record, env: a(record, env) and b(record, env) and c(record, env)
    items = tuple(preds)

    def every(record: Record, env: Env) -> bool:
        for pred in items:  # noqa: SIM110 - a plain loop is faster than all() here
            if not pred(record, env):
                return False
        return True

    return every


def _any(preds: list[Pred]) -> Pred:
    items = tuple(preds)

    def some(record: Record, env: Env) -> bool:
        for pred in items:  # noqa: SIM110 - a plain loop is faster than any() here
            if pred(record, env):
                return True
        return False

    return some


def compile_condition(source: Source, stream: str, node: Condition) -> Pred:
    info = STREAMS.get((source, stream))
    if isinstance(node, Compare):
        return _compare(info, node)
    if isinstance(node, AllOf):
        return _all(_cheap_first([compile_condition(source, stream, i) for i in node.items], node))
    if isinstance(node, AnyOf):
        return _any([compile_condition(source, stream, i) for i in node.items])
    if isinstance(node, NotOf):
        return _negate(compile_condition(source, stream, node.item))
    return _related(source, stream, node)


def _cheap_first(preds: list[Pred], node: AllOf) -> list[Pred]:
    """Conditions on associated records need look-ups: test them last."""
    costly = [isinstance(item, Related) for item in node.items]
    return [p for p, c in zip(preds, costly, strict=True) if not c] + [
        p for p, c in zip(preds, costly, strict=True) if c
    ]


def _related(source: Source, stream: str, node: Related) -> Pred:
    hops = node.hops
    target = ENTITY_STREAMS[source][hops[-1]]
    where = compile_condition(source, target, node.where)

    def related(record: Record, env: Env) -> bool:
        frontier: list[tuple[str, Record]] = [(stream, record)]
        for hop in hops:
            frontier = [
                found
                for current, rec in frontier
                for found in env.related(source, current, rec, hop)
            ]
            if not frontier:
                return False
        return any(where(rec, env) for _, rec in frontier)

    return related


def _sources(rule: Rule, process_source: Source) -> Source:
    return process_source


def _conjuncts(rule: Rule) -> tuple[Condition, ...]:
    return rule.when.items if isinstance(rule.when, AllOf) else (rule.when,)


def _canon(node: Condition) -> Hashable:
    """A condition's identity, without positions: equal conditions in two rules are equal."""
    if isinstance(node, Compare):
        return ("compare", node.field.text, node.op, node.value)
    if isinstance(node, AllOf):
        return ("all", tuple(_canon(item) for item in node.items))
    if isinstance(node, AnyOf):
        return ("any", tuple(_canon(item) for item in node.items))
    if isinstance(node, NotOf):
        return ("not", _canon(node.item))
    return ("related", node.hops, _canon(node.where))


def _index_key(rule: Rule) -> dict[str, tuple[str, ...]]:
    """Equality tests at the top of a rule: field text -> the values that can pass."""
    keys: dict[str, tuple[str, ...]] = {}
    for item in _conjuncts(rule):
        if not isinstance(item, Compare):
            continue
        values: tuple[Any, ...]
        if item.op == "equals":
            values = (item.value,)
        elif item.op == "in":
            values = item.value
        else:
            continue
        if all(isinstance(v, str) for v in values):
            keys[item.field.text] = values
        elif all(isinstance(v, bool) for v in values):
            keys[item.field.text] = tuple(
                t for v in values for t in (as_text(v), str(v), str(v).upper())
            )
    return keys


def _time_getters(info: StreamInfo | None, refs: tuple[FieldRef, ...]) -> tuple[Getter, ...]:
    if refs:
        return tuple(make_getter(info, ref.path) for ref in refs)
    defaults = info.time_fields if info else ()
    return tuple(make_getter(info, (name,)) for name in defaults)


def _compile_all(source: Source, stream: str, conditions: list[Condition]) -> Pred | None:
    if not conditions:
        return None
    if len(conditions) == 1:
        return compile_condition(source, stream, conditions[0])
    node = AllOf(tuple(conditions), conditions[0].position)
    return compile_condition(source, stream, node)


def _bucket(
    source: Source,
    stream: str,
    members: list[tuple[Rule, list[Target]]],
    index_field: str | None,
) -> _Bucket:
    """Compile the members of one bucket: the bucket's index test (already known to hold) is
    dropped, and the conditions every member has are hoisted into one shared test."""
    info = STREAMS.get((source, stream))
    lists: list[list[tuple[Hashable, Condition]]] = []
    for rule, _ in members:
        keyed = _index_key(rule)
        kept = []
        for condition in _conjuncts(rule):
            is_index = (
                index_field is not None
                and isinstance(condition, Compare)
                and condition.field.text == index_field
                and condition.op in ("equals", "in")
                and index_field in keyed
            )
            if not is_index:
                kept.append((_canon(condition), condition))
        lists.append(kept)
    shared_keys: set[Hashable] = set()
    if len(lists) > 1:
        shared_keys = set.intersection(*({key for key, _ in kept} for kept in lists))
    shared = [condition for key, condition in lists[0] if key in shared_keys] if lists else []
    groups = tuple(
        _Group(
            _compile_all(source, stream, [c for key, c in kept if key not in shared_keys]),
            _time_getters(info, rule.occurred_at),
            tuple(targets),
        )
        for (rule, targets), kept in zip(members, lists, strict=True)
    )
    return _Bucket(_compile_all(source, stream, shared), groups)


class CompiledRuleset:
    """A ruleset ready to evaluate; immutable and safe to share between threads."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self._plans: dict[tuple[Source, str], _Plan] = {}
        self._segments: dict[Source, list[tuple[str, Pred | None]]] = {}
        self.streams: dict[Source, set[str]] = {}
        groups: dict[tuple[Source, str], dict[bytes, tuple[Rule, list[Target]]]] = {}
        for index, process in enumerate(ruleset.processes):
            source = process.source
            segment = (
                compile_condition(source, ENTITY_STREAMS[source]["opportunity"], process.segment)
                if process.segment is not None
                else None
            )
            self._segments.setdefault(source, []).append((process.key, segment))
            for milestone in process.milestones:
                for rule in milestone.rules:
                    target = Target(
                        process.key,
                        milestone.key,
                        rule.key,
                        milestone.kind,
                        rule.attribution,
                        index,
                    )
                    identity = orjson.dumps(
                        [rule.document.get("when"), rule.document.get("occurred_at")],
                        option=orjson.OPT_SORT_KEYS,
                        default=str,
                    )
                    bucket = groups.setdefault((source, rule.stream), {})
                    if identity in bucket:
                        bucket[identity][1].append(target)
                    else:
                        bucket[identity] = (rule, [target])
        for (source, stream), bucket in groups.items():
            self.streams.setdefault(source, set()).add(stream)
            self._plans[(source, stream)] = self._plan(source, stream, list(bucket.values()))

    def _plan(self, source: Source, stream: str, entries: list[tuple[Rule, list[Target]]]) -> _Plan:
        counts = Counter(field for rule, _ in entries for field in _index_key(rule))
        if not counts:
            return _Plan(None, {}, _bucket(source, stream, entries, None))
        field_text = counts.most_common(1)[0][0]
        by_value: dict[str, list[tuple[Rule, list[Target]]]] = {}
        always: list[tuple[Rule, list[Target]]] = []
        for rule, targets in entries:
            values = _index_key(rule).get(field_text)
            if values is None:
                always.append((rule, targets))
                continue
            for value in dict.fromkeys(values):
                by_value.setdefault(value, []).append((rule, targets))
        info = STREAMS.get((source, stream))
        path = tuple(field_text.split("."))
        return _Plan(
            make_getter(info, path),
            {
                value: _bucket(source, stream, members + always, field_text)
                for value, members in by_value.items()
            },
            _bucket(source, stream, always, field_text) if always else _EMPTY,
            record_path(info, path),
        )

    def scan_filter(self, source: Source, stream: str) -> tuple[tuple[str, ...], list[str]] | None:
        """(record path, values) when no record of this stream can match unless the field at
        that path holds one of the values (as text), so a scan may skip the others unread;
        None when any record of the stream may match."""
        plan = self._plans.get((source, stream))
        if plan is None or plan.key_getter is None or plan.always.groups:
            return None
        return plan.key_path, sorted(plan.by_value)

    def has_stream(self, source: Source, stream: str) -> bool:
        return (source, stream) in self._plans

    def match(self, source: Source, stream: str, record: Record, env: Env) -> list[Hit]:
        """Every rule group of this stream that the record satisfies, with its time."""
        plan = self._plans.get((source, stream))
        if plan is None:
            return []
        if plan.key_getter is None:
            bucket = plan.always
        else:
            value = plan.key_getter(record)
            bucket = plan.by_value.get(value if type(value) is str else as_text(value), plan.always)
        if not bucket.groups or (bucket.shared is not None and not bucket.shared(record, env)):
            return []
        hits: list[Hit] = []
        for group in bucket.groups:
            if group.predicate is None or group.predicate(record, env):
                for getter in group.times:
                    moment = to_datetime(getter(record))
                    if moment is not None:
                        hits.append(Hit(moment, group.targets))
                        break
        return hits

    def process_of(self, source: Source, opportunity: Record, env: Env) -> str | None:
        """The first process (in file order) whose segment selects this opportunity."""
        for key, segment in self._segments.get(source, ()):
            if segment is None or segment(opportunity, env):
                return key
        return None

    def process_keys(self, source: Source) -> list[str]:
        return [key for key, _ in self._segments.get(source, ())]


def compile_ruleset(ruleset: Ruleset) -> CompiledRuleset:
    return CompiledRuleset(ruleset)


def is_hubspot(source: Source) -> bool:
    return source == HUBSPOT
