"""Customer actions in stored records that no milestone is made of, described by what a rule
could test: which stream, the customer-side condition the record meets (the catalog's facets,
the validator's seller-side guard), and one more thing that sets it apart — a term of its
subject or title, an attachment, a call outcome, a meeting or engagement type, the form a
contact filled in.

    for action in record_actions("salesforce", "EmailMessage", payload):
        action.key, action.when      # ("EmailMessage|Incoming=true|Subject~security", {...})

Pure: records in, descriptions out. `candidates` counts them per deal and values them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mappings.catalog import Source, StreamInfo, stream_info
from mappings.compiler import Getter, make_getter
from mappings.model import Kind
from mappings.values import as_text

__all__ = ["KINDS", "NAMED", "STREAMS", "TEXT_FIELD", "Action", "customer_condition"]
__all__ += ["described", "getter", "record_actions"]
__all__ += ["words"]

STREAMS: dict[Source, tuple[str, ...]] = {
    "salesforce": ("EmailMessage", "Task", "Event"),
    "hubspot": ("emails", "calls", "meetings", "form_submissions"),
}
"""The activity streams a customer can act in (the catalog marks their customer side)."""

KINDS: dict[str, Kind] = {
    "EmailMessage": "writes",
    "emails": "writes",
    "Task": "says",
    "calls": "says",
    "Event": "does",
    "meetings": "does",
    "form_submissions": "writes",
}

TEXT_FIELD = {
    "EmailMessage": "Subject",
    "Task": "Subject",
    "Event": "Subject",
    "emails": "hs_email_subject",
    "calls": "hs_call_title",
    "meetings": "hs_meeting_title",
    "form_submissions": "formName",
}
"""The field whose words say what the action was (a subject, a meeting or call title)."""

TYPE_FIELDS = {
    "EmailMessage": ("HasAttachment",),
    "Task": ("CallDisposition", "CallType"),
    "Event": ("Type",),
    "emails": ("hs_attachment_ids",),
    "calls": ("hs_call_disposition", "hs_activity_type"),
    "meetings": ("hs_activity_type",),
    "form_submissions": ("formId",),
}
"""Fields whose value is a kind of action: attachments, call outcomes, meeting types, forms."""

NAMED = frozenset({"form_submissions"})
"""Streams whose records are told apart by what they are (the form), not by words: their
TEXT_FIELD names the action (`Form: Request a demo`) and is not split into terms."""

ATTACHMENT_IDS = "hs_attachment_ids"
_WORD = re.compile(r"[^\W\d_]{4,}")
COMMON = frozenset(
    [
        "from",
        "with",
        "your",
        "this",
        "that",
        "have",
        "will",
        "about",
        "re",
        "fw",
        "fwd",
        "call",
        "meeting",
        "email",
        "thanks",
        "hello",
    ]
)
"""Words that say nothing about the action (greetings, reply markers, the stream's own name)."""


@dataclass(frozen=True, slots=True)
class Action:
    """One way to describe a record: a key (the same for every record described alike), the
    rule condition that selects such records, and words for people."""

    key: str
    when: dict[str, Any]
    label: str


_GETTERS: dict[tuple[str, str, str], Getter] = {}


def getter(info: StreamInfo, name: str) -> Getter:
    """How to read field `name` from a record of the stream (made once per stream and field:
    the scan reads a few fields of every stored customer record)."""
    key = (info.source, info.name, name)
    found = _GETTERS.get(key)
    if found is None:
        found = _GETTERS[key] = make_getter(info, (name,))
    return found


_Sides = tuple[
    tuple[tuple[Getter, frozenset[str]], ...], tuple[tuple[str, Getter, frozenset[str]], ...]
]
_SIDES: dict[tuple[str, str], _Sides] = {}


def _sides(info: StreamInfo) -> _Sides:
    """The stream's seller and customer facets with their getters, made once."""
    key = (info.source, info.name)
    found = _SIDES.get(key)
    if found is None:
        seller = tuple((getter(info, f.field), f.values) for f in info.seller)
        customer = tuple((f.field, getter(info, f.field), f.values) for f in info.customer)
        found = _SIDES[key] = (seller, customer)
    return found


def customer_condition(info: StreamInfo, record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The catalog's customer-side condition this record meets, with the record's own value
    (None: a seller's record, or one not marked as either side; {}: every record of the
    stream is the customer's, no condition needed)."""
    if info.customer_only:
        return {}
    seller, customer = _sides(info)
    for get, values in seller:
        value = get(record)
        if value is not None and as_text(value).lower() in values:
            return None
    for name, get, values in customer:
        value = get(record)
        if value is not None and as_text(value).lower() in values:
            return {name: value}
    return None


def words(text: str) -> list[str]:
    """The words of a subject or title that can tell actions apart, in their order."""
    return list(dict.fromkeys(w for w in _WORD.findall(text.lower()) if w not in COMMON))


def record_actions(
    source: Source, stream: str, record: Mapping[str, Any], known: str = ""
) -> Iterator[Action]:
    """Every specific description of a customer's record (none for a seller's record). Words
    of `known` (the deal's and its account's names) are left out: they say who, not what."""
    names = set(words(known))
    for action, word in described(source, stream, record):
        if word is None or word not in names:
            yield action


def described(
    source: Source, stream: str, record: Mapping[str, Any]
) -> list[tuple[Action, str | None]]:
    """`record_actions` before the deal's names are left out, each with the word of the title
    it tests (None: a type or attachment): a record attributed to several deals is described
    once."""
    info = stream_info(source, stream)
    if info is None or stream not in TEXT_FIELD:
        return []
    base = customer_condition(info, record)
    if base is None:
        return []
    found: list[tuple[Action, str | None]] = []
    if base:
        ((field, value),) = base.items()
        prefix = f"{stream}|{field}={as_text(value)}"
        said = f"{stream} with {field} {as_text(value)}"
    else:
        field, prefix, said = "", f"{stream}|", stream
    text_field = TEXT_FIELD[stream]
    title = getter(info, text_field)(record)
    if stream in NAMED:
        said = f"{said} “{as_text(title)}”"
    for name in TYPE_FIELDS[stream]:
        value = getter(info, name)(record)
        if value is None or value == "" or value is False or name == field:
            continue
        if name == ATTACHMENT_IDS:
            action = Action(
                f"{prefix}|{name}", base | {name: {"exists": True}}, f"{said}, attachment"
            )
        elif value is True:
            action = Action(f"{prefix}|{name}", base | {name: True}, f"{said}, {name}")
        else:
            text = as_text(value)
            action = Action(
                f"{prefix}|{name}={text}", base | {name: text}, f"{said}, {name} {text}"
            )
        found.append((action, None))
    if stream in NAMED:
        return found
    for word in words(as_text(title)):
        action = Action(
            f"{prefix}|{text_field}~{word}",
            base | {text_field: {"contains": word}},
            f"{said}, {text_field} containing “{word}”",
        )
        found.append((action, word))
    return found
