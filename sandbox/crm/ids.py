"""Salesforce record ids: key prefixes, the 18-character checksum, new ids for new rows."""

from __future__ import annotations

import itertools
import threading

__all__ = ["KEY_PREFIXES", "IdFactory", "to18", "valid_id"]

KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "OpportunityHistory": "008",
    "OpportunityContactRole": "00K",
    "Lead": "00Q",
    "User": "005",
    "Task": "00T",
    "Event": "00U",
    "OpportunityStage": "01J",
    "EmailMessage": "02s",
    "CustomField": "00N",
    "QueryLocator": "01g",
    "Organization": "00D",
    "Job": "750",
}

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_CHARS = frozenset(_BASE62)


def to18(record_id: str) -> str:
    """The case-insensitive 18-character form of a 15- or 18-character id."""
    if len(record_id) == 18:
        return record_id
    if len(record_id) != 15:
        raise ValueError(f"not a Salesforce id: {record_id!r}")
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(record_id[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _ALPHABET[bits]
    return record_id + suffix


def valid_id(record_id: str) -> bool:
    return len(record_id) in (15, 18) and set(record_id) <= _ID_CHARS


class IdFactory:
    """New ids for rows the sandbox creates, distinct from any loaded id (pod '9Z')."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        with self._lock:
            number = next(self._counter)
        digits = ""
        for _ in range(10):
            number, rest = divmod(number, 62)
            digits = _BASE62[rest] + digits
        return to18(prefix + "9Z" + digits)
