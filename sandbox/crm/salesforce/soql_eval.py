"""Binds a parsed SOQL query to the store's schemas and runs it.

Binding answers INVALID_TYPE / INVALID_FIELD / INVALID_QUERY_FILTER_OPERATOR as Salesforce does;
running filters, sorts and limits rows, and renders them (REST JSON records, or Bulk CSV cells).
String comparisons are case-insensitive and `!=` / NOT IN keep null rows, as in SOQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sandbox.crm.ids import to18, valid_id
from sandbox.crm.salesforce.schema import NAME_OBJECT_FIELDS, NUMERIC_TYPES, ObjectSchema, SfField
from sandbox.crm.salesforce.soql import (
    And,
    Compare,
    Condition,
    FieldPath,
    InList,
    Literal_,
    Not,
    Or,
    Query,
    SoqlError,
    parse,
)
from sandbox.crm.salesforce.store import SalesforceStore
from sandbox.crm.timefmt import parse_iso, sf_format, sf_to_csv

__all__ = ["CompiledQuery", "compile_query"]

Record = dict[str, Any]
Getter = Callable[[Record], Any]
Predicate = Callable[[Record], bool]
SortKey = Callable[[Record], tuple[int, Any]]

_INVALID_OBJECT = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom object, "
    "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)
_INVALID_COLUMN = (
    "No such column '{name}' on entity '{entity}'. If you are attempting to use a custom field, be "
    "sure to append the '__c' after the custom field name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)
_INVALID_RELATIONSHIP = (
    "Didn't understand relationship '{name}' in field path. If you are attempting to use a "
    "custom relationship, be sure to append the '__r' after the custom relationship name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
_TYPE_NAMES = {
    "datetime": "dateTime",
    "date": "date",
    "boolean": "boolean",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "int": "int",
}


@dataclass
class _Bound:
    """A resolved field path: canonical names, the reference hops, and the final field."""

    names: tuple[str, ...]
    hops: tuple[SfField, ...]
    leaf: SfField
    is_type: bool  # the 'Type' of a polymorphic relationship: the target's sObject name

    @property
    def dotted(self) -> str:
        return ".".join(self.names)


@dataclass
class _Node:
    entries: list[tuple[str, str]] = field(default_factory=list)  # ("field", name) | ("rel", name)
    children: dict[str, tuple[SfField, _Node]] = field(default_factory=dict)
    types: set[str] = field(default_factory=set)  # fields answered with the sObject name


@dataclass
class CompiledQuery:
    query: Query
    object_name: str
    predicate: Predicate | None
    sort_keys: list[tuple[SortKey, bool]]
    columns: list[_Bound]
    tree: _Node
    store: SalesforceStore

    @property
    def is_count(self) -> bool:
        return self.query.is_count

    def run(self, include_deleted: bool) -> list[Record]:
        table = self.store.tables[self.object_name].values()
        predicate = self.predicate
        if include_deleted:
            rows = [r for r in table if predicate(r)] if predicate else list(table)
        elif predicate:
            rows = [r for r in table if not r.get("IsDeleted") and predicate(r)]
        else:
            rows = [r for r in table if not r.get("IsDeleted")]
        for key, descending in reversed(self.sort_keys):
            rows.sort(key=key, reverse=descending)
        offset = self.query.offset or 0
        if offset:
            rows = rows[offset:]
        if self.query.limit is not None:
            rows = rows[: self.query.limit]
        return rows

    def render(self, row: Record, version: str) -> Record:
        return _render(
            self.store, self.tree, self.object_name, row, f"/services/data/v{version}/sobjects/"
        )

    @property
    def csv_header(self) -> list[str]:
        return [c.dotted for c in self.columns]

    def csv_cells(self, row: Record) -> list[str]:
        return [_csv(_value(self.store, column, row)) for column in self.columns]


def _render(
    store: SalesforceStore, node: _Node, object_name: str, row: Record, base: str
) -> Record:
    out: Record = {"attributes": {"type": object_name, "url": f"{base}{object_name}/{row['Id']}"}}
    for kind, name in node.entries:
        if kind == "field":
            out[name] = object_name if name in node.types else row.get(name)
            continue
        ref_field, child = node.children[name]
        ref = row.get(ref_field.name)
        target = store.get(ref) if ref else None
        out[name] = None if target is None else _render(store, child, target[0], target[1], base)
    return out


def _value(store: SalesforceStore, bound: _Bound, row: Record) -> Any:
    object_name = ""
    for hop in bound.hops:
        ref = row.get(hop.name)
        target = store.get(ref) if ref else None
        if target is None:
            return None
        object_name, row = target
    if bound.is_type:
        return object_name
    return row.get(bound.leaf.name)


def _csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str) and len(value) == 28 and value.endswith("+0000"):
        return sf_to_csv(value)
    return str(value)


class _Binder:
    def __init__(self, query: Query, store: SalesforceStore, now: datetime) -> None:
        self.query = query
        self.store = store
        self.now = now
        schema = store.schema(query.object_name)
        if schema is None:
            raise self.error(
                "INVALID_TYPE", _INVALID_OBJECT.format(name=query.object_name), query.object_pos
            )
        self.schema: ObjectSchema = schema

    def error(self, code: str, detail: str, pos: int) -> SoqlError:
        return SoqlError(code, detail, self.query.text, pos)

    def bind(self, path: FieldPath) -> _Bound:
        parts = list(path.parts)
        if len(parts) > 1 and parts[0].lower() == self.schema.name.lower():
            parts = parts[1:]
        schema: ObjectSchema | None = self.schema
        hops: list[SfField] = []
        names: list[str] = []
        polymorphic = False
        for part in parts[:-1]:
            ref = schema.relationship(part) if schema is not None else None
            if ref is None or polymorphic:
                raise self.error("INVALID_FIELD", _INVALID_RELATIONSHIP.format(name=part), path.pos)
            hops.append(ref)
            names.append(ref.relationship_name or part)
            if ref.polymorphic:
                polymorphic, schema = True, None
            else:
                schema = self.store.schema(ref.reference_to[0]) or self.store.ensure_object(
                    ref.reference_to[0]
                )
        leaf_name = parts[-1]
        if polymorphic:
            canonical = next(
                (f for f in NAME_OBJECT_FIELDS if f.lower() == leaf_name.lower()), None
            )
            if canonical is None:
                raise self.error(
                    "INVALID_FIELD", _INVALID_COLUMN.format(name=leaf_name, entity="Name"), path.pos
                )
            leaf = SfField(canonical, "id" if canonical == "Id" else "string")
            return _Bound((*names, canonical), tuple(hops), leaf, canonical == "Type")
        assert schema is not None
        leaf_field = schema.field(leaf_name)
        if leaf_field is None:
            entity = schema.name
            raise self.error(
                "INVALID_FIELD", _INVALID_COLUMN.format(name=leaf_name, entity=entity), path.pos
            )
        return _Bound((*names, leaf_field.name), tuple(hops), leaf_field, False)

    def getter(self, bound: _Bound) -> Getter:
        name = bound.leaf.name
        if not bound.hops:
            return lambda row: row.get(name)
        store = self.store
        return lambda row: _value(store, bound, row)

    # SELECT
    def tree(self) -> tuple[_Node, list[_Bound]]:
        root = _Node()
        columns: list[_Bound] = []
        seen: set[str] = set()
        for item in self.query.select:
            if not isinstance(item, FieldPath):
                continue
            bound = self.bind(item)
            if bound.dotted.lower() in seen:
                raise self.error(
                    "MALFORMED_QUERY", f"duplicate field selected: {bound.dotted}", item.pos
                )
            seen.add(bound.dotted.lower())
            columns.append(bound)
            node = root
            for hop, name in zip(bound.hops, bound.names, strict=False):
                if name not in node.children:
                    node.children[name] = (hop, _Node())
                    node.entries.append(("rel", name))
                node = node.children[name][1]
            node.entries.append(("field", bound.names[-1]))
            if bound.is_type:
                node.types.add(bound.names[-1])
        return root, columns

    # WHERE
    def condition(self, cond: Condition) -> Predicate:
        if isinstance(cond, And):
            parts = [self.condition(p) for p in cond.parts]
            return lambda row: all(p(row) for p in parts)
        if isinstance(cond, Or):
            parts = [self.condition(p) for p in cond.parts]
            return lambda row: any(p(row) for p in parts)
        if isinstance(cond, Not):
            inner = self.condition(cond.part)
            return lambda row: not inner(row)
        bound = self.bind(cond.field)
        if bound.leaf.type == "textarea":
            detail = f"field '{bound.leaf.name}' can not be filtered in a query call"
            raise self.error("INVALID_FIELD", detail, cond.field.pos)
        get = self.getter(bound)
        if isinstance(cond, Compare):
            return self.compare(bound, get, cond.op, cond.value)
        if isinstance(cond, InList):
            return self.in_list(bound, get, cond.negate, cond.values)
        return self.like(bound, get, cond.pattern)

    def kind(self, bound: _Bound) -> str:
        sf_type = bound.leaf.type
        if sf_type in ("id", "reference"):
            return "id"
        if sf_type in NUMERIC_TYPES:
            return "number"
        if sf_type in ("boolean", "date", "datetime"):
            return sf_type
        return "text"

    def mismatch(self, bound: _Bound, literal: Literal_) -> SoqlError:
        kind = self.kind(bound)
        name = bound.leaf.name
        if kind in ("text", "id"):
            detail = (
                f"value of filter criterion for field '{name}' must be of type string "
                "and should be enclosed in quotes"
            )
        else:
            type_name = _TYPE_NAMES.get(bound.leaf.type, bound.leaf.type)
            detail = (
                f"value of filter criterion for field '{name}' must be of type {type_name} "
                "and should not be enclosed in quotes"
            )
        return self.error("INVALID_FIELD", detail, literal.pos)

    def scalar(self, bound: _Bound, literal: Literal_) -> Any:
        """The literal as the stored value it compares with (text values casefolded)."""
        kind = self.kind(bound)
        if kind == "text" and literal.kind == "string":
            return str(literal.value).casefold()
        if kind == "id" and literal.kind == "string":
            text = str(literal.value)
            if not valid_id(text):
                raise self.error(
                    "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {text}", literal.pos
                )
            return to18(text)
        if kind == "number" and literal.kind == "number":
            return float(literal.value)  # type: ignore[arg-type]
        if kind == "boolean" and literal.kind == "boolean":
            return literal.value
        try:
            if kind == "date" and literal.kind == "date":
                return parse_iso(str(literal.value)).date().isoformat()
            if kind == "datetime" and literal.kind == "datetime":
                return sf_format(parse_iso(str(literal.value)))
        except ValueError as error:
            detail = f"unexpected token: '{literal.text}'"
            raise self.error("MALFORMED_QUERY", detail, literal.pos) from error
        raise self.mismatch(bound, literal)

    def date_range(self, bound: _Bound, literal: Literal_) -> tuple[str, str]:
        kind = self.kind(bound)
        if kind not in ("date", "datetime"):
            raise self.mismatch(bound, literal)
        start, end = _date_range(str(literal.value), literal.n, self.now.date())
        if kind == "date":
            return start.isoformat(), end.isoformat()
        return sf_format(_midnight(start)), sf_format(_midnight(end))

    def compare(self, bound: _Bound, get: Getter, op: str, literal: Literal_) -> Predicate:
        if literal.kind == "null":
            if op == "=":
                return lambda row: get(row) is None
            if op == "!=":
                return lambda row: get(row) is not None
            return lambda row: False
        if literal.kind == "dateliteral":
            lo, hi = self.date_range(bound, literal)
            ops: dict[str, Callable[[Any], bool]] = {
                "=": lambda v: lo <= v < hi,
                "!=": lambda v: not lo <= v < hi,
                "<": lambda v: v < lo,
                "<=": lambda v: v < hi,
                ">": lambda v: v >= hi,
                ">=": lambda v: v >= lo,
            }
            test = ops[op]
            keep_null = op == "!="

            def ranged(row: Record) -> bool:
                value = get(row)
                return keep_null if value is None else test(value)

            return ranged
        target = self.scalar(bound, literal)
        kind = self.kind(bound)
        fold = kind == "text"
        if kind == "boolean" and op not in ("=", "!="):
            raise self.error(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on boolean field: {op}",
                literal.pos,
            )
        compare = _OPS[op]
        keep_null = op == "!="

        def predicate(row: Record) -> bool:
            value = get(row)
            if value is None:
                return keep_null
            if fold:
                value = value.casefold()
            return compare(value, target)

        return predicate

    def in_list(
        self, bound: _Bound, get: Getter, negate: bool, values: tuple[Literal_, ...]
    ) -> Predicate:
        fold = self.kind(bound) == "text"
        wants_null = any(v.kind == "null" for v in values)
        targets = frozenset(self.scalar(bound, v) for v in values if v.kind != "null")

        def member(row: Record) -> bool:
            value = get(row)
            if value is None:
                return wants_null
            return (value.casefold() if fold else value) in targets

        if negate:
            return lambda row: not member(row)
        return member

    def like(self, bound: _Bound, get: Getter, pattern: Literal_) -> Predicate:
        if pattern.kind != "string" or self.kind(bound) not in ("text", "id"):
            raise self.mismatch(bound, pattern)
        regex = _like_regex(str(pattern.value))
        return lambda row: (value := get(row)) is not None and regex.match(value) is not None

    # ORDER BY
    def sort_keys(self) -> list[tuple[SortKey, bool]]:
        keys: list[tuple[SortKey, bool]] = []
        for item in self.query.order_by:
            bound = self.bind(item.field)
            if bound.leaf.type == "textarea":
                detail = f"field '{bound.leaf.name}' can not be sorted in a query call"
                raise self.error("INVALID_FIELD", detail, item.field.pos)
            # (rank, value): the rank puts nulls before or after values; reverse=True flips both.
            null_rank = 1 if (item.nulls_last != item.descending) else 0
            keys.append(
                (
                    _sort_key(self.getter(bound), self.kind(bound) == "text", null_rank),
                    item.descending,
                )
            )
        return keys


def _sort_key(get: Getter, fold: bool, null_rank: int) -> SortKey:
    value_rank = 1 - null_rank

    def key(row: Record) -> tuple[int, Any]:
        value = get(row)
        if value is None:
            return (null_rank, "")
        return (value_rank, value.casefold() if fold else value)

    return key


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _like_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z", re.IGNORECASE | re.DOTALL)


def _midnight(day: date) -> datetime:
    return parse_iso(day.isoformat())


def _month_start(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _date_range(word: str, n: int | None, today: date) -> tuple[date, date]:
    """[start, end) of a SOQL date literal, in UTC days (the sandbox org's time zone is UTC)."""
    day = timedelta(days=1)
    week_start = today - timedelta(days=(today.weekday() + 1) % 7)
    count = n or 0
    table: dict[str, tuple[date, date]] = {
        "TODAY": (today, today + day),
        "YESTERDAY": (today - day, today),
        "TOMORROW": (today + day, today + 2 * day),
        "THIS_WEEK": (week_start, week_start + 7 * day),
        "LAST_WEEK": (week_start - 7 * day, week_start),
        "NEXT_WEEK": (week_start + 7 * day, week_start + 14 * day),
        "THIS_MONTH": (_month_start(today, 0), _month_start(today, 1)),
        "LAST_MONTH": (_month_start(today, -1), _month_start(today, 0)),
        "NEXT_MONTH": (_month_start(today, 1), _month_start(today, 2)),
        "THIS_YEAR": (date(today.year, 1, 1), date(today.year + 1, 1, 1)),
        "LAST_YEAR": (date(today.year - 1, 1, 1), date(today.year, 1, 1)),
        "NEXT_YEAR": (date(today.year + 1, 1, 1), date(today.year + 2, 1, 1)),
        "LAST_90_DAYS": (today - 90 * day, today + day),
        "NEXT_90_DAYS": (today + day, today + 91 * day),
        "LAST_N_DAYS": (today - count * day, today + day),
        "NEXT_N_DAYS": (today + day, today + (count + 1) * day),
        "N_DAYS_AGO": (today - count * day, today - (count - 1) * day),
        "LAST_N_WEEKS": (week_start - 7 * count * day, week_start),
        "NEXT_N_WEEKS": (week_start + 7 * day, week_start + 7 * (count + 1) * day),
        "LAST_N_MONTHS": (_month_start(today, -count), _month_start(today, 0)),
        "NEXT_N_MONTHS": (_month_start(today, 1), _month_start(today, count + 1)),
    }
    return table[word]


def compile_query(text: str, store: SalesforceStore, now: datetime) -> CompiledQuery:
    query = parse(text)
    binder = _Binder(query, store, now)
    tree, columns = binder.tree()
    predicate = binder.condition(query.where) if query.where is not None else None
    sort_keys = binder.sort_keys()
    if query.offset is not None and query.offset > 2000:
        raise SoqlError(
            "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000", text, None
        )
    return CompiledQuery(query, binder.schema.name, predicate, sort_keys, columns, tree, store)
