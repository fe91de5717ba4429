"""The HubSpot streams, declared: object type, cursor property, associations, pages.

Stream names in the raw layer are HubSpot's object types (and `form_submissions`). Each object
stream reads the
properties `crm.hubspot` lists, the names the mapping rules know (those a portal lacks are
skipped; properties a connection adds are required), the object types whose associations
travel inside each record, and, for deals, the properties read with their history. Owners and
pipelines are small reference data, read whole every run. Form submissions come from the
marketing forms API: each form's submissions, newest first, down to the cursor
(`forms.FormSubmissions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from connectors.core import StreamSpec
from crm.hubspot import HUBSPOT_PROPERTIES

__all__ = [
    "FORMS_PAGE",
    "HUBSPOT_STREAMS",
    "LIST_PAGE",
    "LIST_PAGE_WITH_HISTORY",
    "OBJECT_STREAMS",
    "SEARCH_PAGE",
    "SUBMISSIONS_PAGE",
    "HubSpotStream",
    "hubspot_streams",
    "stream_info",
]

LIST_PAGE = 100
LIST_PAGE_WITH_HISTORY = 50  # HubSpot's maximum when propertiesWithHistory is asked for
DEAL_HISTORY = ("dealstage", "amount", "closedate")
"""Read with their history: what a deal's stage, amount and close date were at a past instant
(`app.services.kpis.past`); the same page size and calls as one property."""
SEARCH_PAGE = 200
SUBMISSIONS_PAGE = 50  # the v1 submissions API's maximum
FORMS_PAGE = 100


@dataclass(frozen=True)
class HubSpotStream:
    """What the reader needs beyond the engine's `StreamSpec`."""

    associations: tuple[str, ...] = ()
    history: tuple[str, ...] = ()


_ENGAGEMENT_LINKS = ("deals", "contacts", "companies")


def _object(
    name: str, *, cursor: str = "hs_lastmodifieddate", history: tuple[str, ...] = ()
) -> StreamSpec:
    return StreamSpec(
        name=name,
        object=name,
        cursor_field=cursor,
        primary_key="id",
        fields=HUBSPOT_PROPERTIES[name],
        page_size=LIST_PAGE_WITH_HISTORY if history else LIST_PAGE,
        mode="incremental",
        required_fields=("hs_object_id", cursor),
    )


HUBSPOT_STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("owners", "owners", "updatedAt", "id", page_size=500, mode="full_refresh"),
    StreamSpec("pipelines", "deals", "updatedAt", "id", page_size=100, mode="full_refresh"),
    _object("companies"),
    _object("contacts", cursor="lastmodifieddate"),
    _object("deals", history=DEAL_HISTORY),
    _object("emails"),
    _object("meetings"),
    _object("calls"),
    _object("notes"),
    _object("tasks"),
    StreamSpec(
        "form_submissions",
        "forms",
        "submittedAt",
        "conversionId",
        page_size=SUBMISSIONS_PAGE,
        mode="incremental",
    ),
)
OBJECT_STREAMS = frozenset(s.name for s in HUBSPOT_STREAMS if s.name in HUBSPOT_PROPERTIES)

_INFO: dict[str, HubSpotStream] = {
    "companies": HubSpotStream(associations=("contacts", "deals")),
    "contacts": HubSpotStream(associations=("companies", "deals")),
    "deals": HubSpotStream(associations=("contacts", "companies"), history=DEAL_HISTORY),
    "emails": HubSpotStream(associations=_ENGAGEMENT_LINKS),
    "meetings": HubSpotStream(associations=_ENGAGEMENT_LINKS),
    "calls": HubSpotStream(associations=_ENGAGEMENT_LINKS),
    "notes": HubSpotStream(associations=_ENGAGEMENT_LINKS),
    "tasks": HubSpotStream(associations=_ENGAGEMENT_LINKS),
}


def stream_info(name: str) -> HubSpotStream:
    return _INFO.get(name, HubSpotStream())


def hubspot_streams(
    only: Sequence[str] | None = None, extra_fields: Mapping[str, Sequence[str]] | None = None
) -> list[StreamSpec]:
    """The streams to sync: all, or `only` these, each with any extra (custom) properties."""
    extra_fields = extra_fields or {}
    known = {spec.name: spec for spec in HUBSPOT_STREAMS}
    unknown = sorted(set(only or ()) - set(known))
    unknown += sorted(set(extra_fields) - OBJECT_STREAMS)
    if unknown:
        raise ValueError(
            f"unknown HubSpot stream(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            " (extra properties only on object streams)"
        )
    chosen = [known[name] for name in only] if only else list(HUBSPOT_STREAMS)
    return [
        spec.with_fields(tuple(dict.fromkeys((*spec.fields, *extra_fields.get(spec.name, ())))))
        for spec in chosen
    ]
