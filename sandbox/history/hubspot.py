"""HubSpot rendering: the neutral business as HubSpot CRM objects, associations and history.

Values are the strings the v3 API sends: ids as numeric strings, instants as
'2025-03-04T10:15:00.000Z', booleans as 'true'/'false'. Leads that never convert are contacts in
lifecycle stage `lead`; converted leads are the same contact moving on to `opportunity`.
Deleted records are kept with `archived` 'true' (HubSpot's recycle bin).
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox.history.clock import DAY, format_datetime
from sandbox.history.hubspot_schema import (
    ASSOCIATION_COLUMNS,
    ASSOCIATION_TYPES,
    COLUMNS,
    FORM_SUBMISSION_COLUMNS,
    HISTORY_COLUMNS,
    OBJECT_TYPES,
    PIPELINES,
    HubSpotPipeline,
)
from sandbox.history.model import (
    Account,
    Activity,
    Contact,
    Deal,
    FormSubmission,
    Lead,
    Rep,
    Story,
)
from sandbox.history.params import STAGES, GeneratorParams
from sandbox.history.versions import body_at, deal_stamps, edited_second, version_stamps
from sandbox.history.writer import Export, Row, Table

__all__ = [
    "HubSpotRenderer",
    "company_id",
    "contact_id",
    "deal_id",
    "engagement",
    "owner_id",
    "pipeline_of",
]

dt = format_datetime

_FORECAST = {
    "Pipeline": "PIPELINE",
    "Best Case": "BEST_CASE",
    "Commit": "COMMIT",
    "Closed": "CLOSED",
    "Omitted": "OMIT",
}
_SOURCE = {
    "Web": "ORGANIC_SEARCH",
    "Phone Inquiry": "OFFLINE",
    "Partner Referral": "REFERRALS",
    "Purchased List": "OFFLINE",
    "Trade Show": "OFFLINE",
    "Other": "OTHER_CAMPAIGNS",
}
_DEAL_TYPE = {"new_business": "newbusiness", "existing_business": "existingbusiness"}
_EMAIL_DIRECTION = {"in": "INCOMING_EMAIL", "out": "EMAIL", "internal": "FORWARDED_EMAIL"}
_CALL_STATUS = {"CONNECTED": "COMPLETED", "VOICEMAIL": "COMPLETED", "NO_ANSWER": "NO_ANSWER"}
# HubSpot's default call outcome (disposition) ids.
_CALL_DISPOSITION = {
    "CONNECTED": "f240bbac-87c9-4f6e-bf70-924b57d47db7",
    "NO_ANSWER": "73a0d17f-1163-4015-bdd5-ec830791da20",
    "VOICEMAIL": "b2cf5968-551e-4856-9783-52b3da59a7d0",
    "BUSY": "9d9162e7-6cf3-4944-bf63-4dff82258764",
}
_ENGAGEMENT_TYPE = {
    "email": "emails",
    "meeting": "meetings",
    "call": "calls",
    "note": "notes",
    "task": "tasks",
}


_TYPE_IDS = {pair: str(type_id) for pair, type_id in ASSOCIATION_TYPES.items()}


def owner_id(rep: Rep) -> str:
    return str(61_000_000 + rep.key)


def company_id(account: Account) -> str:
    return str(18_000_000_000 + account.key)


def contact_id(contact: Contact) -> str:
    return str(20_000_000_000 + contact.key)


def lead_contact_id(lead: Lead) -> str:
    """The HubSpot contact of a lead: the converted contact, or one in lifecycle stage `lead`."""
    if lead.contact is not None:
        return contact_id(lead.contact)
    return str(29_000_000_000 + lead.key)


def deal_id(deal: Deal) -> str:
    return str(12_000_000_000 + deal.key)


def engagement(activity: Activity) -> tuple[str, str]:
    """(objectType, id) of the engagement that carries an activity."""
    return _ENGAGEMENT_TYPE[activity.kind], str(40_000_000_000 + activity.key)


def pipeline_of(deal: Deal) -> HubSpotPipeline:
    return PIPELINES["smb"] if deal.process.segment == "smb" else PIPELINES["default"]


def _b(value: bool) -> str:
    return "true" if value else "false"


class HubSpotRenderer:
    def __init__(self, export: Export, params: GeneratorParams) -> None:
        self._params = params
        self.tables: dict[str, Table] = {
            name: export.table("hubspot", name, COLUMNS[name]) for name in OBJECT_TYPES
        }
        self.associations = export.table("hubspot", "associations", ASSOCIATION_COLUMNS)
        self.history = export.table("hubspot", "property_history", HISTORY_COLUMNS)
        self._portal_start = params.history_start_t - 6 * 365 * DAY
        self.submissions = (
            export.table("hubspot", "form_submissions", FORM_SUBMISSION_COLUMNS)
            if params.forms
            else None
        )
        self._site = "https://www.brightwave.io"

    def _associate(
        self, stamp: int, from_type: str, from_id: str, to_type: str, to_id: str
    ) -> None:
        type_id = _TYPE_IDS[(from_type, to_type)]
        self.associations.row(stamp, (from_type, from_id, to_type, to_id, type_id))

    # -- the org ---------------------------------------------------------------------------------

    def owners(self, users: list[Rep]) -> None:
        table = self.tables["owners"]
        for rep in users:
            created_t = max(rep.hired_at, self._portal_start)
            stamps = version_stamps(created_t, rep.left_at)
            created = dt(created_t)

            def render(
                version: int, rep: Rep = rep, stamps: list[int] = stamps, created: str = created
            ) -> Row:
                return (
                    owner_id(rep),
                    rep.email,
                    rep.first_name,
                    rep.last_name,
                    str(9_100_000 + rep.key),
                    created,
                    dt(stamps[version]),
                    _b(version > 0),
                    rep.team,
                )

            table.record(stamps, render)

    # -- one story -------------------------------------------------------------------------------

    def story(self, story: Story) -> None:
        on_deal = {contact.key for contact in story.deal.contacts}
        for account in story.new_accounts:
            self._company(account)
        for contact in story.new_contacts:
            self._contact(contact, contact.key in on_deal)
        for lead in story.leads:
            if lead.contact is None:
                self._lead_contact(lead)
        self._deal(story.deal)
        if story.junk is not None:
            self._deal(story.junk)
        for activity in story.deal.activities:
            self._engagement(activity)
        for activity in story.loose_activities:
            self._engagement(activity)
        for submission in story.form_submissions:
            self._submission(submission)

    def _submission(self, s: FormSubmission) -> None:
        """A form submission: immutable, stored when it was submitted."""
        if self.submissions is None:
            return
        contact = s.contact
        self.submissions.row(
            s.submitted_at,
            (
                s.conversion_id,
                s.form.guid,
                dt(s.submitted_at),
                f"{self._site}{s.form.page}",
                contact.email,
                contact.first_name,
                contact.last_name,
                contact.account.name,
            ),
        )

    def _company(self, account: Account) -> None:
        stamps = version_stamps(account.created_at, account.customer_since)
        cid = company_id(account)
        owner = owner_id(account.owner)
        created = dt(stamps[0])

        def render(version: int) -> Row:
            stamp = created if version == 0 else dt(stamps[version])
            return (
                cid,
                created,
                stamp,
                "false",
                account.name,
                account.domain,
                account.industry.upper(),
                str(account.employees),
                account.city,
                account.country,
                owner,
                "customer" if version > 0 else "opportunity",
                account.segment,
                created,
                stamp,
                cid,
            )

        self.tables["companies"].record(stamps, render)

    def _contact(self, contact: Contact, on_deal: bool) -> None:
        lead = contact.lead
        converted = lead.converted_at if lead is not None else None
        first = lead.created_at if lead is not None else contact.created_at
        if lead is not None:
            lifecycle = [(first, "lead")]
            if converted is not None and converted > first:
                lifecycle.append((converted, "opportunity"))
        else:
            lifecycle = [(first, "opportunity" if on_deal else "salesqualifiedlead")]
        customer = contact.became_customer_at
        if customer is not None and customer > lifecycle[-1][0]:
            lifecycle.append((customer, "customer"))
        stamps = [stamp for stamp, _ in lifecycle]
        stages = [stage for _, stage in lifecycle]
        cid = contact_id(contact)
        company = company_id(contact.account)
        owner = owner_id(contact.account.owner)
        created = dt(stamps[0])

        def render(version: int) -> Row:
            stamp = created if version == 0 else dt(stamps[version])
            return (
                cid,
                created,
                stamp,
                "false",
                contact.first_name,
                contact.last_name,
                contact.email,
                contact.title,
                contact.phone,
                contact.account.name,
                company,
                owner,
                stages[version],
                "",
                created,
                stamp,
                stamp,
                cid,
            )

        self.tables["contacts"].record(stamps, render)
        linked = max(stamps[0], contact.account.created_at)
        self._associate(linked, "contacts", cid, "companies", company)

    def _lead_contact(self, lead: Lead) -> None:
        stamps = version_stamps(lead.created_at, lead.worked_at)
        cid = lead_contact_id(lead)
        owner = owner_id(lead.owner)
        created = dt(stamps[0])
        worked_status = "UNQUALIFIED" if lead.status.startswith("Closed") else "IN_PROGRESS"

        def render(version: int) -> Row:
            stamp = created if version == 0 else dt(stamps[version])
            return (
                cid,
                created,
                stamp,
                "false",
                lead.first_name,
                lead.last_name,
                lead.email,
                lead.title,
                "",
                lead.company,
                "",
                owner,
                "lead",
                worked_status if version > 0 else "NEW",
                created,
                stamp,
                stamp,
                cid,
            )

        self.tables["contacts"].record(stamps, render)

    def _deal(self, deal: Deal) -> None:
        states = deal.states
        stamps = deal_stamps(deal)
        did = deal_id(deal)
        pipeline = pipeline_of(deal)
        created = dt(deal.created_at)
        segment = deal.account.segment
        deal_type = _DEAL_TYPE[deal.process.deal_type]
        source = _SOURCE.get(deal.source, "OTHER_CAMPAIGNS")

        def render(version: int) -> Row:
            state = states[min(version, len(states) - 1)]
            ladder = STAGES[state.stage]
            stage = pipeline.stage_for(state.stage)
            stamp = created if version == 0 else dt(stamps[version])
            return (
                did,
                created,
                stamp,
                _b(version >= len(states)),
                deal.name,
                f"{state.amount:.0f}",
                stage.id,
                pipeline.id,
                dt(state.close_day * DAY),
                owner_id(state.owner),
                deal_type,
                stage.probability,
                _FORECAST[state.forecast],
                _b(ladder.is_closed),
                _b(ladder.is_won),
                segment,
                source,
                created,
                stamp,
                did,
            )

        self.tables["deals"].record(stamps, render)
        history = self.history
        previous: tuple[str, str, str] = ("", "", "")
        for state in states:
            values = (
                pipeline.stage_for(state.stage).id,
                f"{state.amount:.0f}",
                dt(state.close_day * DAY),
            )
            at = dt(state.at)
            for name, value, old in zip(
                ("dealstage", "amount", "closedate"), values, previous, strict=True
            ):
                if value != old:
                    history.row(state.at, ("deals", did, name, value, at, "CRM_UI"))
            previous = values
        company = company_id(deal.account)
        self._associate(deal.created_at, "deals", did, "companies", company)
        for contact in deal.contacts:
            self._associate(deal.created_at, "deals", did, "contacts", contact_id(contact))

    # -- engagements -----------------------------------------------------------------------------

    def _engagement(self, a: Activity) -> None:
        if a.status == "BOUNCE_NOTICE":
            return  # HubSpot marks the outgoing email BOUNCED instead of logging the notice.
        object_type, eid = engagement(a)
        stamps = version_stamps(a.logged_at, a.edited_at, a.deleted_at)
        archived_from = len(stamps) - 1 if a.deleted_at is not None and len(stamps) > 1 else 99
        decided = edited_second(a, stamps)
        render = self._renderer(a, eid, stamps, archived_from, decided)
        self.tables[object_type].record(stamps, render)
        stamp = a.logged_at
        if a.lead is not None:
            self._associate(stamp, object_type, eid, "contacts", lead_contact_id(a.lead))
            return
        if a.link == "deal" and a.deal is not None:
            self._associate(stamp, object_type, eid, "deals", deal_id(a.deal))
        if a.contact is not None and a.link != "account":
            self._associate(stamp, object_type, eid, "contacts", contact_id(a.contact))
        if a.account is not None:
            self._associate(stamp, object_type, eid, "companies", company_id(a.account))

    def _renderer(
        self, a: Activity, eid: str, stamps: list[int], archived_from: int, decided: bool
    ) -> Callable[[int], Row]:
        owner = owner_id(a.owner)
        created = dt(stamps[0])
        timestamp = dt(a.occurred_at)
        kind = a.kind

        def head(version: int) -> tuple[str, ...]:
            stamp = created if version == 0 else dt(stamps[version])
            return (
                eid,
                created,
                stamp,
                _b(version >= archived_from),
                timestamp,
                created,
                stamp,
                owner,
            )

        def body(version: int) -> str:
            return body_at(a, decided, version)

        if kind == "email":
            if a.contact is not None:
                other = a.contact.email
            elif a.lead is not None:
                other = a.lead.email
            else:
                other = ""
            if a.direction == "in":
                sender, recipient = other, a.owner.email
            elif a.direction == "internal":
                manager = a.owner.manager
                sender = a.owner.email
                recipient = manager.email if manager is not None else a.owner.email
            else:
                sender, recipient = a.owner.email, other
            direction = _EMAIL_DIRECTION[a.direction]
            status = "BOUNCED" if a.status == "BOUNCED" else ("" if a.direction == "in" else "SENT")
            attachment = str(90_000_000_000 + a.key) if a.attachment else ""

            def email(version: int) -> Row:
                return (
                    *head(version),
                    direction,
                    status,
                    a.subject,
                    body(version),
                    sender,
                    recipient,
                    attachment,
                    eid,
                )

            return email
        if kind == "meeting":
            start, end = dt(a.occurred_at), dt(a.end_at)

            def meeting(version: int) -> Row:
                outcome = a.status if decided and version >= 1 else "SCHEDULED"
                return (
                    *head(version),
                    a.subject,
                    a.body,
                    start,
                    end,
                    outcome,
                    "Video call",
                    eid,
                )

            return meeting
        if kind == "call":
            direction = "INBOUND" if a.direction == "in" else "OUTBOUND"
            status = _CALL_STATUS.get(a.status, "COMPLETED")
            duration = str(a.duration_s * 1000)
            disposition = _CALL_DISPOSITION.get(a.status, "")

            def call(version: int) -> Row:
                return (
                    *head(version),
                    a.subject,
                    body(version),
                    direction,
                    status,
                    duration,
                    disposition,
                    eid,
                )

            return call
        if kind == "note":

            def note(version: int) -> Row:
                return (*head(version), body(version), "", eid)

            return note
        completed_at = dt(a.edited_at) if a.edited_at is not None else ""

        def task(version: int) -> Row:
            done = a.status == "COMPLETED" and decided and version >= 1
            return (
                *head(version),
                a.subject,
                body(version),
                "COMPLETED" if done else "NOT_STARTED",
                "MEDIUM",
                "TODO",
                completed_at if done else "",
                eid,
            )

        return task
