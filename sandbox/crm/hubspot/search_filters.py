"""HubSpot CRM search: filterGroups (ORed) of filters (ANDed), one sort, free-text query.

Values compare by the property's type: numbers as numbers, date and datetime properties as epoch
milliseconds (filters may give milliseconds, ISO timestamps or dates), strings case-insensitively.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.crm.hubspot.schema import PropertyDef
from sandbox.crm.hubspot.store import HsObject, iso_ms
from sandbox.crm.hubspot.wire import invalid

__all__ = [
    "OPERATORS",
    "FilterLimits",
    "Matcher",
    "TimeIndex",
    "compile_filter_groups",
    "lower_bound",
    "search_sort_key",
]

OPERATORS = frozenset(
    {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY"}
    | {"NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
)
Matcher = Callable[[HsObject], bool]


@dataclass(frozen=True)
class FilterLimits:
    """How many filters a search may carry: HubSpot's current reference says five groups of at
    most six filters, eighteen in all (a 2024 changelog announced ten per group, 25 in all;
    the stricter, later-documented figures are kept so a connector never relies on more)."""

    groups: int = 5
    per_group: int = 6
    total: int = 18


def _caster(prop: PropertyDef | None) -> Callable[[str], Any]:
    kind = prop.type if prop is not None else "string"
    if kind == "number":
        return float
    if kind in ("date", "datetime"):
        return iso_ms
    if kind == "bool":
        return lambda v: v.lower()
    return lambda v: v.casefold()


def _value(obj: HsObject, name: str) -> str | None:
    if name == "hs_object_id":
        return obj.id
    value = obj.properties.get(name)
    return None if value in (None, "") else value


def _filter(flt: dict[str, Any], props: dict[str, PropertyDef]) -> Matcher:
    name = flt.get("propertyName")
    operator = str(flt.get("operator", "EQ")).upper()
    if not isinstance(name, str) or not name:
        raise invalid("Filter propertyName is required")
    if operator not in OPERATORS:
        raise invalid(f"Invalid filter operator: {operator}")
    prop = props.get(name)
    if prop is None and name != "hs_object_id":
        raise invalid(f"Property '{name}' does not exist")
    cast = _caster(prop) if name != "hs_object_id" else float

    def typed(raw: Any) -> Any:
        try:
            return cast(str(raw).lower() if isinstance(raw, bool) else str(raw))
        except ValueError as error:
            raise invalid(f"Invalid value '{raw}' for property '{name}'") from error

    if operator == "HAS_PROPERTY":
        return lambda obj: _value(obj, name) is not None
    if operator == "NOT_HAS_PROPERTY":
        return lambda obj: _value(obj, name) is None
    if operator in ("IN", "NOT_IN"):
        values = flt.get("values")
        if not isinstance(values, list) or not values:
            raise invalid(f"{operator} needs a non-empty 'values' list")
        allowed = {typed(v) for v in values}
        inside = operator == "IN"

        def member(obj: HsObject) -> bool:
            v = _value(obj, name)
            if v is None:
                return not inside
            return (cast(v) in allowed) == inside

        return member
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(flt.get("value", "")).casefold().replace("*", "")
        contains = operator == "CONTAINS_TOKEN"
        return lambda obj: (token in (_value(obj, name) or "").casefold()) == contains
    if "value" not in flt:
        raise invalid(f"{operator} needs a 'value'")
    target = typed(flt["value"])
    if operator == "BETWEEN":
        if "highValue" not in flt:
            raise invalid("BETWEEN needs a 'highValue'")
        high = typed(flt["highValue"])
        return lambda obj: (v := _value(obj, name)) is not None and target <= cast(v) <= high
    if operator == "NEQ":
        return lambda obj: (v := _value(obj, name)) is None or cast(v) != target
    compare: Callable[[Any, Any], bool] = {
        "EQ": lambda a, b: a == b,
        "LT": lambda a, b: a < b,
        "LTE": lambda a, b: a <= b,
        "GT": lambda a, b: a > b,
        "GTE": lambda a, b: a >= b,
    }[operator]

    def match(obj: HsObject) -> bool:
        v = _value(obj, name)
        return v is not None and compare(cast(v), target)

    return match


def _check_limits(groups: list[dict[str, Any]], limits: FilterLimits) -> None:
    if len(groups) > limits.groups:
        raise invalid(f"Too many filter groups: {len(groups)} (max {limits.groups})")
    for index, group in enumerate(groups):
        count = len(group.get("filters") or [])
        if count > limits.per_group:
            raise invalid(
                f"Too many filters in filter group {index}: {count} (max {limits.per_group})"
            )
    total = sum(len(g.get("filters") or []) for g in groups)
    if total > limits.total:
        raise invalid(f"Too many filters: {total} (max {limits.total})")


def compile_filter_groups(
    groups: Any, props: dict[str, PropertyDef], limits: FilterLimits | None = None
) -> Matcher | None:
    if groups in (None, []):
        return None
    if not isinstance(groups, list) or not all(
        isinstance(g, dict)
        and isinstance(g.get("filters") or [], list)
        and all(isinstance(f, dict) for f in g.get("filters") or [])
        for g in groups
    ):
        raise invalid("filterGroups must be a list of objects, each with a list of filters")
    _check_limits(groups, limits or FilterLimits())
    compiled = [[_filter(f, props) for f in (g.get("filters") or [])] for g in groups]
    return lambda obj: any(all(f(obj) for f in group) for group in compiled)


def search_sort_key(
    name: str, props: dict[str, PropertyDef]
) -> Callable[[HsObject], tuple[int, Any]]:
    prop = props.get(name)
    cast = _caster(prop) if name != "hs_object_id" else float

    def key(obj: HsObject) -> tuple[int, Any]:
        value = _value(obj, name)
        if value is None:
            return (1, 0)
        try:
            return (0, cast(value))
        except ValueError:
            return (2, 0)

    return key


_BOUNDING = {"GT", "GTE", "EQ", "BETWEEN"}


def lower_bound(groups: Any, props: dict[str, PropertyDef]) -> tuple[str, int] | None:
    """(datetime property, epoch ms) that every match is at or after, when each filter group
    bounds the same datetime property from below (an incremental sync's keyset window);
    None otherwise. Call after `compile_filter_groups` has validated `groups`."""
    if not isinstance(groups, list) or not groups:
        return None
    found: tuple[str, int] | None = None
    for group in groups:
        bounds = []
        for flt in group.get("filters") or []:
            name = flt.get("propertyName")
            prop = props.get(name) if isinstance(name, str) else None
            if prop is None or prop.type not in ("date", "datetime"):
                continue
            if str(flt.get("operator", "EQ")).upper() not in _BOUNDING:
                continue
            try:
                bounds.append((name, iso_ms(str(flt["value"]))))
            except (KeyError, ValueError):
                return None
        if not bounds:
            return None
        name, low = max(bounds, key=lambda bound: bound[1])
        if found is not None and found[0] != name:
            return None
        found = (name, low if found is None else min(found[1], low))
    return found


class TimeIndex:
    """Objects ordered by one datetime property, rebuilt when the store changes: a search with
    a lower bound looks only at the objects past it, not at the whole object type."""

    def __init__(self) -> None:
        self._built: dict[tuple[str, str], tuple[int, list[int], list[HsObject]]] = {}

    def at_or_after(
        self, objects: Any, kind: str, name: str, low: int, version: int
    ) -> list[HsObject]:
        built = self._built.get((kind, name))
        if built is None or built[0] != version:
            keyed = []
            for obj in objects:
                value = _value(obj, name)
                if value is None:
                    continue
                try:
                    keyed.append((iso_ms(value), obj))
                except ValueError:
                    continue
            keyed.sort(key=lambda pair: pair[0])
            built = (version, [ms for ms, _ in keyed], [obj for _, obj in keyed])
            self._built[(kind, name)] = built
        _, stamps, ordered = built
        return ordered[bisect.bisect_left(stamps, low) :]
