"""Salesforce rendering: the neutral business as Salesforce records, one table per object.

Emails become a Task (TaskSubtype Email) plus the EmailMessage that points at it (ActivityId),
the way Enhanced Email stores them; calls, notes and to-dos are Tasks; meetings are Events.
Deal fields become Opportunity versions and one OpportunityHistory row per change.
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox.history.clock import DAY, format_date, format_datetime
from sandbox.history.model import Account, Activity, Contact, Deal, Lead, Rep, Story
from sandbox.history.params import STAGES, GeneratorParams
from sandbox.history.salesforce_schema import OBJECTS, header
from sandbox.history.sfid import KEY_PREFIXES, salesforce_id
from sandbox.history.versions import body_at, deal_stamps, edited_second, version_stamps
from sandbox.history.writer import Export, Row, Table

__all__ = ["ADMIN_KEY", "FORECAST_API", "SalesforceRenderer", "evidence", "user_id"]

ADMIN_KEY = 0
FORECAST_API = {
    "Pipeline": "Pipeline",
    "Best Case": "BestCase",
    "Commit": "Forecast",
    "Closed": "Closed",
    "Omitted": "Omitted",
}
_MEETING_OUTCOME = {
    "COMPLETED": "Held",
    "NO_SHOW": "No Show",
    "CANCELED": "Canceled",
    "RESCHEDULED": "Rescheduled",
}
_CALL_DISPOSITION = {
    "CONNECTED": "Connected",
    "NO_ANSWER": "No Answer",
    "VOICEMAIL": "Left Voicemail",
    "BUSY": "Busy",
}
_EMAIL_STATUS = {"in": "1", "out": "3", "internal": "4"}
_SEGMENT = {"enterprise": "Enterprise", "smb": "SMB"}
_TYPE = {"new_business": "New Business", "existing_business": "Existing Business"}

_P = KEY_PREFIXES
_HISTORY_PER_DEAL = 256
"""OpportunityHistory ids of deal k are k * 256 + n: every run numbers them alike."""
dt = format_datetime
day = format_date


def _b(value: bool) -> str:
    return "true" if value else "false"


_USER_IDS: dict[int, str] = {}


def user_id(rep: Rep | None) -> str:
    key = ADMIN_KEY if rep is None else rep.key
    value = _USER_IDS.get(key)
    if value is None:
        value = _USER_IDS[key] = salesforce_id(_P["User"], key)
    return value


def opportunity_id(deal: Deal) -> str:
    return salesforce_id(_P["Opportunity"], deal.key)


def evidence(activity: Activity) -> tuple[str, str]:
    """(object, id) of the Salesforce record that proves a milestone activity."""
    if activity.kind == "email":
        return "EmailMessage", salesforce_id(_P["EmailMessage"], activity.key)
    if activity.kind == "meeting":
        return "Event", salesforce_id(_P["Event"], activity.key)
    return "Task", salesforce_id(_P["Task"], activity.key)


class SalesforceRenderer:
    def __init__(self, export: Export, params: GeneratorParams) -> None:
        self._params = params
        self.tables: dict[str, Table] = {
            name: export.table("salesforce", name, header(name)) for name in OBJECTS
        }
        self._admin = user_id(None)
        self._org_start = params.history_start_t - 6 * 365 * DAY
        self._memo: dict[tuple[str, int], str] = {}

    def _sid(self, prefix: str, key: int) -> str:
        """A record id, remembered for the current story (its records are referenced often)."""
        memo_key = (prefix, key)
        value = self._memo.get(memo_key)
        if value is None:
            value = self._memo[memo_key] = salesforce_id(prefix, key)
        return value

    # -- the org ---------------------------------------------------------------------------------

    def users(self, users: list[Rep]) -> None:
        table = self.tables["User"]
        admin_created = dt(self._org_start)
        table.row(
            self._org_start,
            (
                self._admin,
                "integration@brightwave.example",
                "Integration",
                "User",
                "Integration User",
                "integ",
                "integration@brightwave.example",
                "true",
                "",
                "",
                "",
                "Standard",
                "GMT",
                "false",
                admin_created,
                self._admin,
                admin_created,
                self._admin,
                admin_created,
            ),
        )
        for rep in users:
            created = max(rep.hired_at, self._org_start)
            stamps = version_stamps(created, rep.left_at)
            table.record(stamps, self._user_row(rep, stamps))

    def _user_row(self, rep: Rep, stamps: list[int]) -> Callable[[int], Row]:
        uid = user_id(rep)
        manager = user_id(rep.manager) if rep.manager is not None else ""
        title = "Sales Manager" if rep.is_manager else "Account Executive"
        created = dt(stamps[0])

        def render(version: int) -> Row:
            stamp = created if version == 0 else dt(stamps[version])
            return (
                uid,
                rep.email,
                rep.first_name,
                rep.last_name,
                rep.name,
                (rep.first_name[:1] + rep.last_name[:4]).lower(),
                rep.email,
                _b(version == 0),
                title,
                rep.team,
                manager,
                "Standard",
                "Europe/Berlin",
                "false",
                created,
                self._admin,
                stamp,
                self._admin,
                stamp,
            )

        return render

    def stages(self) -> None:
        table = self.tables["OpportunityStage"]
        created = dt(self._org_start)
        for order, stage in enumerate(STAGES, start=1):
            table.row(
                self._org_start,
                (
                    salesforce_id(_P["OpportunityStage"], order),
                    stage.label,
                    stage.label,
                    str(stage.probability),
                    FORECAST_API[stage.forecast],
                    stage.forecast,
                    _b(stage.is_closed),
                    _b(stage.is_won),
                    "true",
                    str(order),
                    "",
                    "false",
                    created,
                    self._admin,
                    created,
                    self._admin,
                    created,
                ),
            )

    # -- one story -------------------------------------------------------------------------------

    def story(self, story: Story) -> None:
        self._memo.clear()
        for account in story.new_accounts:
            self._account(account)
        for contact in story.new_contacts:
            self._contact(contact)
        for lead in story.leads:
            self._lead(lead)
        self._opportunity(story.deal)
        if story.junk is not None:
            self._opportunity(story.junk)
        for activity in story.deal.activities:
            self._activity(activity)
        for activity in story.loose_activities:
            self._activity(activity)

    def _account(self, account: Account) -> None:
        stamps = version_stamps(account.created_at, account.customer_since)
        aid = salesforce_id(_P["Account"], account.key)
        owner = user_id(account.owner)
        created = dt(stamps[0])

        def render(version: int) -> Row:
            stamp = created if version == 0 else dt(stamps[version])
            return (
                aid,
                account.name,
                "Customer" if version > 0 else "Prospect",
                account.industry,
                str(account.employees),
                account.city,
                account.country,
                f"https://www.{account.domain}",
                owner,
                _SEGMENT[account.segment],
                "false",
                created,
                owner,
                stamp,
                owner,
                stamp,
            )

        self.tables["Account"].record(stamps, render)

    def _contact(self, contact: Contact) -> None:
        lead = contact.lead
        created_t = contact.created_at
        if lead is not None and lead.converted_at is not None:
            created_t = max(created_t, lead.converted_at)
        owner = user_id(contact.account.owner)
        created = dt(created_t)
        self.tables["Contact"].row(
            created_t,
            (
                salesforce_id(_P["Contact"], contact.key),
                salesforce_id(_P["Account"], contact.account.key),
                contact.first_name,
                contact.last_name,
                f"{contact.first_name} {contact.last_name}",
                contact.email,
                contact.title,
                contact.phone,
                contact.source,
                owner,
                "false",
                created,
                owner,
                created,
                owner,
                created,
            ),
        )

    def _lead(self, lead: Lead) -> None:
        converted = lead.converted_at
        worked = lead.worked_at
        if worked is not None and converted is not None and worked >= converted:
            worked = None
        stamps = version_stamps(lead.created_at, worked, converted)
        lid = salesforce_id(_P["Lead"], lead.key)
        owner = user_id(lead.owner)
        created = dt(stamps[0])
        final = len(stamps) - 1

        def render(version: int) -> Row:
            stamp = created if version == 0 else dt(stamps[version])
            done = version == final and version > 0
            status = "Open - Not Contacted"
            if version > 0:
                status = lead.status if done else "Working - Contacted"
            is_converted = done and converted is not None
            return (
                lid,
                lead.first_name,
                lead.last_name,
                f"{lead.first_name} {lead.last_name}",
                lead.company,
                lead.title,
                lead.email,
                status,
                lead.source,
                _b(is_converted),
                day(converted) if is_converted and converted is not None else "",
                salesforce_id(_P["Account"], lead.account.key)
                if is_converted and lead.account
                else "",
                salesforce_id(_P["Contact"], lead.contact.key)
                if is_converted and lead.contact
                else "",
                salesforce_id(_P["Opportunity"], lead.deal_key)
                if is_converted and lead.deal_key
                else "",
                owner,
                "false",
                created,
                owner,
                stamp,
                owner,
                stamp,
            )

        self.tables["Lead"].record(stamps, render)

    def _opportunity(self, deal: Deal) -> None:
        states = deal.states
        stamps = deal_stamps(deal)
        oid = opportunity_id(deal)
        aid = salesforce_id(_P["Account"], deal.account.key)
        created = dt(deal.created_at)
        creator = user_id(deal.owner)
        process = deal.process
        segment = _SEGMENT[deal.account.segment]
        deal_type = _TYPE[process.deal_type]
        stage_changed: list[int] = []
        for index, state in enumerate(states):
            changed = index == 0 or state.stage != states[index - 1].stage
            stage_changed.append(state.at if changed else stage_changed[-1])

        def render(version: int) -> Row:
            state = states[min(version, len(states) - 1)]
            stage = STAGES[state.stage]
            stamp = created if version == 0 else dt(stamps[version])
            owner = user_id(state.owner)
            amount = state.amount
            return (
                oid,
                deal.name,
                aid,
                owner,
                stage.label,
                f"{amount:.0f}",
                day(state.close_day * DAY),
                str(stage.probability),
                f"{amount * stage.probability / 100:.0f}",
                FORECAST_API[state.forecast],
                state.forecast,
                _b(stage.is_closed),
                _b(stage.is_won),
                deal_type,
                deal.source,
                segment,
                dt(stage_changed[min(version, len(states) - 1)]),
                _b(version >= len(states)),
                created,
                creator,
                stamp,
                owner,
                stamp,
            )

        self.tables["Opportunity"].record(stamps, render)
        history = self.tables["OpportunityHistory"]
        for number, state in enumerate(
            states[:_HISTORY_PER_DEAL], start=deal.key * _HISTORY_PER_DEAL
        ):
            stage = STAGES[state.stage]
            at = dt(state.at)
            owner = user_id(state.owner)
            history.row(
                state.at,
                (
                    salesforce_id(_P["OpportunityHistory"], number),
                    oid,
                    stage.label,
                    f"{state.amount:.0f}",
                    f"{state.amount * stage.probability / 100:.0f}",
                    day(state.close_day * DAY),
                    str(stage.probability),
                    FORECAST_API[state.forecast],
                    "false",
                    at,
                    owner,
                    at,
                    owner,
                    at,
                ),
            )
        if deal.junk_of is None:
            roles = self.tables["OpportunityContactRole"]
            for index, contact in enumerate(deal.contacts):
                at_t = deal.created_at + 60 * (index + 1)
                at = dt(at_t)
                roles.row(
                    at_t,
                    (
                        salesforce_id(_P["OpportunityContactRole"], deal.key * 16 + index),
                        oid,
                        salesforce_id(_P["Contact"], contact.key),
                        deal.roles[index] if index < len(deal.roles) else "Influencer",
                        _b(index == 0),
                        "false",
                        at,
                        creator,
                        at,
                        creator,
                        at,
                    ),
                )

    # -- activities ------------------------------------------------------------------------------

    def _links(self, activity: Activity) -> tuple[str, str, str]:
        """(WhoId, WhatId, AccountId)."""
        sid = self._sid
        account = activity.account
        account_id = sid(_P["Account"], account.key) if account is not None else ""
        who = ""
        if activity.contact is not None:
            who = sid(_P["Contact"], activity.contact.key)
        elif activity.lead is not None:
            who = sid(_P["Lead"], activity.lead.key)
        if activity.link == "deal" and activity.deal is not None:
            return who, sid(_P["Opportunity"], activity.deal.key), account_id
        if activity.link == "account":
            return "", account_id, account_id
        return who, "", account_id

    def _activity(self, activity: Activity) -> None:
        deleted = activity.deleted_at
        if (
            activity.kind == "meeting"
            and activity.status in ("CANCELED", "RESCHEDULED")
            and activity.key % 5 < 2
        ):
            deleted = activity.edited_at
        stamps = version_stamps(activity.logged_at, activity.edited_at, deleted)
        deleted_from = len(stamps) - 1 if deleted is not None and len(stamps) > 1 else 99
        links = self._links(activity)
        if activity.kind == "meeting":
            self.tables["Event"].record(
                stamps, self._event_row(activity, stamps, deleted_from, links)
            )
            return
        self.tables["Task"].record(stamps, self._task_row(activity, stamps, deleted_from, links))
        if activity.kind == "email":
            self.tables["EmailMessage"].record(
                stamps, self._email_row(activity, stamps, deleted_from, links)
            )

    def _task_row(
        self, a: Activity, stamps: list[int], deleted_from: int, links: tuple[str, str, str]
    ) -> Callable[[int], Row]:
        who, what, account_id = links
        owner = user_id(a.owner)
        created = dt(stamps[0])
        kind = a.kind
        if kind == "email":
            subtype, task_type, subject = "Email", "Email", f"Email: {a.subject}"
        elif kind == "call":
            subtype, task_type, subject = "Call", "Call", a.subject
        elif kind == "note":
            subtype, task_type, subject = "Task", "Other", f"Note: {a.subject}"
        else:
            subtype, task_type, subject = "Task", "Other", a.subject
        is_call = kind == "call"
        task_id = salesforce_id(_P["Task"], a.key)
        activity_date = day(a.occurred_at)
        edited = edited_second(a, stamps)

        def render(version: int) -> Row:
            stamp = created if version == 0 else dt(stamps[version])
            done = kind != "task" or (a.status == "COMPLETED" and edited and version >= 1)
            body = body_at(a, edited, version)
            return (
                task_id,
                who,
                what,
                account_id,
                owner,
                subject,
                activity_date,
                "Completed" if done else "Not Started",
                "Normal",
                _b(done),
                task_type,
                subtype,
                ("Inbound" if a.direction == "in" else "Outbound") if is_call else "",
                str(a.duration_s) if is_call else "",
                _CALL_DISPOSITION.get(a.status, "") if is_call else "",
                dt(a.edited_at if kind == "task" and a.edited_at else a.logged_at) if done else "",
                body,
                _b(version >= deleted_from),
                created,
                owner,
                stamp,
                owner,
                stamp,
            )

        return render

    def _email_row(
        self, a: Activity, stamps: list[int], deleted_from: int, links: tuple[str, str, str]
    ) -> Callable[[int], Row]:
        what = links[1]
        owner = user_id(a.owner)
        created = dt(stamps[0])
        rep_name, rep_email = a.owner.name, a.owner.email
        if a.contact is not None:
            other_name = f"{a.contact.first_name} {a.contact.last_name}"
            other_email = a.contact.email
        elif a.lead is not None:
            other_name = f"{a.lead.first_name} {a.lead.last_name}"
            other_email = a.lead.email
        else:
            other_name, other_email = "", ""
        if a.counterpart:
            other_name, other_email = "Mail Delivery System", a.counterpart
        if a.direction == "in":
            from_name, from_email, to = other_name, other_email, rep_email
        elif a.direction == "internal":
            manager = a.owner.manager
            from_name, from_email = rep_name, rep_email
            to = manager.email if manager is not None else rep_email
        else:
            from_name, from_email, to = rep_name, rep_email, other_email
        email_id = salesforce_id(_P["EmailMessage"], a.key)
        task_id = salesforce_id(_P["Task"], a.key)
        message_date = dt(a.occurred_at)
        status = _EMAIL_STATUS[a.direction]
        edited = edited_second(a, stamps)

        def render(version: int) -> Row:
            stamp = created if version == 0 else dt(stamps[version])
            body = body_at(a, edited, version)
            return (
                email_id,
                task_id,
                what,
                a.subject,
                body,
                from_name,
                from_email,
                to,
                _b(a.direction == "in"),
                _b(a.attachment),
                status,
                message_date,
                _b(a.status == "BOUNCED"),
                _b(version >= deleted_from),
                created,
                owner,
                stamp,
                owner,
                stamp,
            )

        return render

    def _event_row(
        self, a: Activity, stamps: list[int], deleted_from: int, links: tuple[str, str, str]
    ) -> Callable[[int], Row]:
        who, what, account_id = links
        owner = user_id(a.owner)
        created = dt(stamps[0])
        event_id = salesforce_id(_P["Event"], a.key)
        start, end = dt(a.occurred_at), dt(a.end_at)
        minutes = str(a.duration_s // 60)
        decided = edited_second(a, stamps)
        outcome = _MEETING_OUTCOME.get(a.status, "Scheduled")

        def render(version: int) -> Row:
            stamp = created if version == 0 else dt(stamps[version])
            final = decided and version >= 1
            subject = a.subject
            if final and a.status in ("CANCELED", "RESCHEDULED"):
                subject = f"Canceled: {subject}"
            return (
                event_id,
                who,
                what,
                account_id,
                owner,
                subject,
                "Video call",
                start,
                end,
                start,
                day(a.occurred_at),
                minutes,
                "false",
                "Meeting",
                "Busy",
                "Event",
                outcome if final else "Scheduled",
                a.body,
                _b(version >= deleted_from),
                created,
                owner,
                stamp,
                owner,
                stamp,
            )

        return render
