"""Open query locators ('01g...-2000'): the newest 200, each dropped after 15 idle minutes.

A query runs once; its rows stay here, so that every further page costs a slice, not a scan.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sandbox.crm.ids import KEY_PREFIXES, to18
from sandbox.crm.salesforce.soql_eval import CompiledQuery

__all__ = ["QueryCursor", "QueryCursors"]

_LOCATOR_PREFIX = KEY_PREFIXES["QueryLocator"]


@dataclass
class QueryCursor:
    compiled: CompiledQuery
    rows: list[dict[str, Any]]
    endpoint: str
    page_size: int


class QueryCursors:
    def __init__(self, limit: int = 200, idle_seconds: float = 900.0) -> None:
        self._lock = threading.Lock()
        self._cursors: OrderedDict[str, QueryCursor] = OrderedDict()
        self._used: dict[str, float] = {}
        self._numbers = itertools.count(1)
        self.limit = limit
        self.idle_seconds = idle_seconds

    def open(self, cursor: QueryCursor) -> str:
        with self._lock:
            number = next(self._numbers)
            locator = to18(f"{_LOCATOR_PREFIX}9Z{number:010d}")
            self._cursors[locator] = cursor
            self._used[locator] = time.monotonic()
            while len(self._cursors) > self.limit:
                old, _ = self._cursors.popitem(last=False)
                self._used.pop(old, None)
            return locator

    def get(self, locator: str) -> QueryCursor | None:
        with self._lock:
            cursor = self._cursors.get(locator)
            if cursor is None:
                return None
            if time.monotonic() - self._used[locator] > self.idle_seconds:
                del self._cursors[locator]
                del self._used[locator]
                return None
            self._cursors.move_to_end(locator)
            self._used[locator] = time.monotonic()
            return cursor
