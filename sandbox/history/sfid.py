"""Salesforce record ids: 15 case-sensitive characters plus the 3-character case-safe suffix.

An id is a 3-character key prefix (which object), a 2-character instance part, a reserved
character and a 9-digit base-62 record number. The 18-character form appends one character per
5-character chunk, encoding which of the chunk's characters are upper-case letters:

    >>> salesforce_id("006", 1)
    '006Hs0000B00001IQA'
    >>> is_valid_id(salesforce_id("00T", 123456789))
    True
"""

from __future__ import annotations

__all__ = ["KEY_PREFIXES", "checksum", "is_valid_id", "salesforce_id", "to_15"]

KEY_PREFIXES: dict[str, str] = {
    "User": "005",
    "Account": "001",
    "Contact": "003",
    "Lead": "00Q",
    "Opportunity": "006",
    "OpportunityStage": "01J",
    "OpportunityHistory": "008",
    "OpportunityContactRole": "00K",
    "Task": "00T",
    "Event": "00U",
    "EmailMessage": "02s",
}

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
INSTANCE = "Hs"
# Record numbers start high enough that ids look like a few-years-old org's.
OFFSET = 11 * 62**5

_UPPER = frozenset(SUFFIX[:26])
_PAIRS = [a + b for a in DIGITS for b in DIGITS]
_PAIR_BITS = [(a in _UPPER) | ((b in _UPPER) << 1) for a in DIGITS for b in DIGITS]
_SINGLE_BITS = [(char in _UPPER) << 4 for char in DIGITS]
_CHUNK3 = 62**5
_PAIR = 62**2
# (prefix, high part) -> the first 10 characters and the first two suffix characters.
_HEADS: dict[tuple[str, int], tuple[str, str]] = {}


def checksum(id15: str) -> str:
    """The 3-character suffix that makes a 15-character id case-insensitively unique."""
    out = []
    for start in (0, 5, 10):
        bits = 0
        for position, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        out.append(SUFFIX[bits])
    return "".join(out)


def _head(prefix: str, high: int) -> tuple[str, str]:
    if high >= 62**4:
        raise ValueError("record number out of range")
    h1, h2 = divmod(high, _PAIR)
    head = prefix + INSTANCE + "0" + _PAIRS[h1] + _PAIRS[h2]
    value = (head, checksum(head + "00000")[:2])
    _HEADS[(prefix, high)] = value
    return value


def salesforce_id(prefix: str, number: int) -> str:
    """The 18-character id of record `number` (>= 0) of the object with key `prefix`."""
    high, low = divmod(number + OFFSET, _CHUNK3)
    cached = _HEADS.get((prefix, high))
    head, suffix = cached if cached is not None else _head(prefix, high)
    a, rest = divmod(low, 238_328)
    b, c = divmod(rest, 62)
    bits = _PAIR_BITS[a] | (_PAIR_BITS[b] << 2) | _SINGLE_BITS[c]
    return head + _PAIRS[a] + _PAIRS[b] + DIGITS[c] + suffix + SUFFIX[bits]


def to_15(id18: str) -> str:
    return id18[:15]


def is_valid_id(value: str) -> bool:
    """An 18-character id whose suffix matches its first 15 characters."""
    return (
        len(value) == 18
        and all(char in DIGITS for char in value[:15])
        and checksum(value[:15]) == value[15:]
    )
