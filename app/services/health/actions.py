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
from mappings.compiler import make_getter
from mappings.model import Kind
from mappings.values import as_text

__all__ = ["KINDS", "NAMED", "STREAMS", "TEXT_FIELD", "Action", "customer_condition"]
__all__ += ["record_actions"]
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


def customer_condition(info: StreamInfo, record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The catalog's customer-side condition this record meets, with the record's own value
    (None: a seller's record, or one not marked as either side; {}: every record of the
    stream is the customer's, no condition needed)."""
    if info.customer_only:
        return {}
    for facet in info.seller:
        value = make_getter(info, (facet.field,))(record)
        if value is not None and as_text(value).lower() in facet.values:
            return None
    for facet in info.customer:
        value = make_getter(info, (facet.field,))(record)
        if value is not None and as_text(value).lower() in facet.values:
            return {facet.field: value}
    return None


def words(text: str) -> list[str]:
    """The words of a subject or title that can tell actions apart, in their order."""
    return list(dict.fromkeys(w for w in _WORD.findall(text.lower()) if w not in COMMON))


def record_actions(
    source: Source, stream: str, record: Mapping[str, Any], known: str = ""
) -> Iterator[Action]:
    """Every specific description of a customer's record (none for a seller's record). Words
    of `known` (the deal's and its account's names) are left out: they say who, not what."""
    info = stream_info(source, stream)
    if info is None or stream not in TEXT_FIELD:
        return
    base = customer_condition(info, record)
    if base is None:
        return
    if base:
        ((field, value),) = base.items()
        prefix = f"{stream}|{field}={as_text(value)}"
        said = f"{stream} with {field} {as_text(value)}"
    else:
        field, prefix, said = "", f"{stream}|", stream
    title = make_getter(info, (TEXT_FIELD[stream],))(record)
    if stream in NAMED:
        said = f"{said} “{as_text(title)}”"
    for name in TYPE_FIELDS[stream]:
        found = make_getter(info, (name,))(record)
        if found is None or found == "" or found is False or name == field:
            continue
        if name == ATTACHMENT_IDS:
            yield Action(f"{prefix}|{name}", base | {name: {"exists": True}}, f"{said}, attachment")
        elif found is True:
            yield Action(f"{prefix}|{name}", base | {name: True}, f"{said}, {name}")
        else:
            text = as_text(found)
            yield Action(f"{prefix}|{name}={text}", base | {name: text}, f"{said}, {name} {text}")
    if stream in NAMED:
        return
    names = set(words(known))
    for word in words(as_text(title)):
        if word in names:
            continue
        text_field = TEXT_FIELD[stream]
        yield Action(
            f"{prefix}|{text_field}~{word}",
            base | {text_field: {"contains": word}},
            f"{said}, {text_field} containing “{word}”",
        )
