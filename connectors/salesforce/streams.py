"""The Salesforce streams, declared: object, cursor and page size (fields: `crm.salesforce`).

Field lists can be extended per connection (custom fields); they are validated against the
object's describe before a sync reads anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from connectors.core import StreamSpec
from crm.salesforce import SALESFORCE_OBJECTS

__all__ = ["SALESFORCE_STREAMS", "salesforce_streams"]


def _spec(name: str) -> StreamSpec:
    return StreamSpec(
        name=name,
        object=name,
        cursor_field="SystemModstamp",
        primary_key="Id",
        fields=SALESFORCE_OBJECTS[name].read,
        page_size=2000,
        mode="incremental",
        required_fields=("Id", "SystemModstamp"),
    )


SALESFORCE_STREAMS: tuple[StreamSpec, ...] = tuple(
    _spec(name)
    for name in (
        "User",
        "Account",
        "Contact",
        "Lead",
        "Opportunity",
        "OpportunityHistory",
        "OpportunityContactRole",
        "OpportunityStage",
        "Task",
        "Event",
        "EmailMessage",
    )
)


def salesforce_streams(
    only: Sequence[str] | None = None, extra_fields: Mapping[str, Sequence[str]] | None = None
) -> list[StreamSpec]:
    """The streams to sync: all, or `only` these, each with any extra (custom) fields."""
    extra_fields = extra_fields or {}
    known = {spec.name: spec for spec in SALESFORCE_STREAMS}
    unknown = sorted(set(only or ()) - set(known)) + sorted(set(extra_fields) - set(known))
    if unknown:
        raise ValueError(
            f"unknown Salesforce stream(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    chosen = [known[name] for name in only] if only else list(SALESFORCE_STREAMS)
    return [
        spec.with_fields(tuple(dict.fromkeys((*spec.fields, *extra_fields.get(spec.name, ())))))
        for spec in chosen
    ]
