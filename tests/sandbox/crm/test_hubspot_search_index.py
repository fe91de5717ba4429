"""The sandbox's HubSpot search looks only past a lower bound on a datetime property when every
filter group has one (an incremental sync's keyset window), and at every object otherwise.
The full filters still decide; the bound only narrows where they are applied."""

from __future__ import annotations

from typing import Any

from sandbox.crm.hubspot.schema import PropertyDef
from sandbox.crm.hubspot.search_filters import TimeIndex, compile_filter_groups, lower_bound
from sandbox.crm.hubspot.store import HsObject

PROPS = {
    "hs_lastmodifieddate": PropertyDef("hs_lastmodifieddate", "datetime", "date"),
    "createdate": PropertyDef("createdate", "datetime", "date"),
    "amount": PropertyDef("amount", "number", "number"),
}
T = 1_700_000_000_000


def _filter(name: str, operator: str, value: Any) -> dict[str, Any]:
    return {"propertyName": name, "operator": operator, "value": value}


def _groups(*groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"filters": filters} for filters in groups]


def test_a_keyset_window_is_bounded_by_its_start() -> None:
    window = _groups(
        [_filter("hs_lastmodifieddate", "GTE", T), _filter("hs_lastmodifieddate", "LT", T + 9)]
    )
    assert lower_bound(window, PROPS) == ("hs_lastmodifieddate", T)


def test_every_group_must_bound_the_same_property_and_the_lowest_bound_wins() -> None:
    two = _groups(
        [_filter("hs_lastmodifieddate", "GT", T + 5)],
        [_filter("hs_lastmodifieddate", "EQ", str(T))],
    )
    assert lower_bound(two, PROPS) == ("hs_lastmodifieddate", T)
    unbounded = _groups([_filter("hs_lastmodifieddate", "GT", T)], [_filter("amount", "GT", 5)])
    assert lower_bound(unbounded, PROPS) is None
    mixed = _groups([_filter("hs_lastmodifieddate", "GT", T)], [_filter("createdate", "GT", T)])
    assert lower_bound(mixed, PROPS) is None
    assert lower_bound(_groups([_filter("amount", "GTE", 5)]), PROPS) is None
    assert lower_bound(_groups([_filter("hs_lastmodifieddate", "LT", T)]), PROPS) is None
    assert lower_bound(None, PROPS) is None


def test_the_index_holds_every_object_the_filters_could_match() -> None:
    objects = [
        HsObject(str(n), {"hs_lastmodifieddate": str(T + n) if n % 7 else None}, "", "")
        for n in range(1, 200)
    ]
    groups = _groups([_filter("hs_lastmodifieddate", "GT", T + 50)])
    matcher = compile_filter_groups(groups, PROPS)
    assert matcher is not None
    bound = lower_bound(groups, PROPS)
    assert bound is not None
    index = TimeIndex()
    candidates = index.at_or_after(objects, "emails", *bound, version=1)
    assert len(candidates) < len(objects)
    assert [o.id for o in objects if matcher(o)] == sorted(
        (o.id for o in candidates if matcher(o)), key=int
    )
    objects[0].properties["hs_lastmodifieddate"] = str(T + 500)  # the store changed: rebuilt
    again = index.at_or_after(objects, "emails", *bound, version=2)
    assert objects[0] in again and objects[0] not in candidates
