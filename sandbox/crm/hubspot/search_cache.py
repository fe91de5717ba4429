"""The rows of recent searches, so that paging through one costs a slice, not a scan.

A search's rows are keyed by its object type, filters, sort and text, and by the store's
version: any write makes a new version, so a cached search never answers with stale rows.
Filters with a lower time bound start from `TimeIndex`, not from every object.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import orjson

from sandbox.crm.hubspot.search_filters import (
    Matcher,
    TimeIndex,
    lower_bound,
    search_sort_key,
)
from sandbox.crm.hubspot.store import HsObject, HubSpotStore
from sandbox.crm.hubspot.wire import invalid

__all__ = ["SearchCache"]


class SearchCache:
    def __init__(self, size: int = 32) -> None:
        self._rows: OrderedDict[tuple[str, bytes, int], list[HsObject]] = OrderedDict()
        self._time_index = TimeIndex()
        self.size = size

    def rows(
        self,
        store: HubSpotStore,
        kind: str,
        filter_groups: Any,
        matcher: Matcher | None,
        sorts: list[Any],
        text: str,
    ) -> list[HsObject]:
        """The matching objects, in the search's order (the caller holds the store's lock)."""
        key = (kind, orjson.dumps([filter_groups, sorts, text]), store.version)
        rows = self._rows.get(key)
        if rows is not None:
            return rows
        defs = store.properties[kind]
        bound = lower_bound(filter_groups, defs)
        candidates = (
            self._time_index.at_or_after(store.all_objects(kind), kind, *bound, store.version)
            if bound is not None
            else store.all_objects(kind)
        )
        rows = [
            obj
            for obj in candidates
            if not obj.archived
            and (matcher is None or matcher(obj))
            and (not text or any(text in (v or "").casefold() for v in obj.properties.values()))
        ]
        rows.sort(key=lambda o: int(o.id))
        if sorts:
            sort = sorts[0]
            name = sort if isinstance(sort, str) else sort.get("propertyName")
            descending = (
                not isinstance(sort, str)
                and str(sort.get("direction", "ASCENDING")).upper() == "DESCENDING"
            )
            if not isinstance(name, str) or (name not in defs and name != "hs_object_id"):
                raise invalid(f"Property '{name}' does not exist")
            rows.sort(key=search_sort_key(name, defs), reverse=descending)
        self._rows[key] = rows
        while len(self._rows) > self.size:
            self._rows.popitem(last=False)
        return rows
