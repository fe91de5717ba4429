"""The CRM-neutral business: reps, accounts, contacts, leads, deals, activities.

These are plain records the simulation fills in and the renderers read; they know nothing of
Salesforce or HubSpot. Times are epoch seconds (see `clock`). A record exists in a CRM from its
`logged_at` / `created_at`; `edited_at` and `deleted_at` add later versions of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sandbox.history.params import Process

__all__ = [
    "Account",
    "Activity",
    "ActivityKind",
    "Contact",
    "Deal",
    "DealState",
    "Direction",
    "Form",
    "FormSubmission",
    "Lead",
    "Link",
    "Rep",
    "Story",
]

ActivityKind = Literal["email", "meeting", "call", "note", "task"]
Link = Literal["deal", "contact", "account"]
Direction = Literal["in", "out", "internal"]
Outcome = Literal["won", "lost", "open"]


@dataclass(slots=True)
class Rep:
    key: int
    first_name: str
    last_name: str
    email: str
    team: str
    segment: str
    skill: float
    hired_at: int
    left_at: int | None
    is_manager: bool = False
    manager: Rep | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(slots=True)
class Account:
    key: int
    name: str
    domain: str
    segment: str
    industry: str
    employees: int
    city: str
    country: str
    owner: Rep
    created_at: int
    customer_since: int | None = None
    contacts: list[Contact] = field(default_factory=list)


@dataclass(slots=True)
class Lead:
    """A prospect before conversion; converted leads point at what they became."""

    key: int
    first_name: str
    last_name: str
    email: str
    title: str
    company: str
    source: str
    owner: Rep
    created_at: int
    status: str
    worked_at: int | None = None
    converted_at: int | None = None
    account: Account | None = None
    contact: Contact | None = None
    deal_key: int | None = None


@dataclass(slots=True)
class Contact:
    key: int
    account: Account
    first_name: str
    last_name: str
    email: str
    title: str
    phone: str
    created_at: int
    source: str
    lead: Lead | None = None
    became_customer_at: int | None = None


@dataclass(slots=True)
class Activity:
    """One CRM activity: a customer's or a rep's email, meeting, call, note or task.

    `occurred_at` is when it happened; `logged_at` when it reached the CRM (late logging makes
    the two differ). `milestone` names the step it is the evidence for, if any (ground truth).
    """

    key: int
    kind: ActivityKind
    occurred_at: int
    logged_at: int
    owner: Rep
    account: Account | None
    contact: Contact | None
    deal: Deal | None
    link: Link
    direction: Direction
    subject: str
    body: str
    status: str = ""
    end_at: int = 0
    duration_s: int = 0
    attachment: bool = False
    milestone: str | None = None
    edited_at: int | None = None
    edit_note: str = ""
    deleted_at: int | None = None
    counterpart: str = ""
    lead: Lead | None = None
    manual: bool = False


@dataclass(slots=True)
class DealState:
    """The deal's CRM fields as the rep keeps them, from `at` on."""

    at: int
    stage: int
    amount: float
    close_day: int
    forecast: str
    owner: Rep


@dataclass(slots=True)
class Deal:
    key: int
    name: str
    process: Process
    account: Account
    owner: Rep
    contacts: list[Contact]
    created_at: int
    source: str
    true_amount: float
    milestones: dict[str, int] = field(default_factory=dict)
    expected: dict[str, float] = field(default_factory=dict)
    dropped_at: int | None = None
    outcome: Outcome = "open"
    closed_at: int | None = None
    states: list[DealState] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    junk_of: Deal | None = None
    deleted_at: int | None = None
    roles: list[str] = field(default_factory=list)

    @property
    def amount(self) -> float:
        return self.states[-1].amount if self.states else self.true_amount


@dataclass(frozen=True, slots=True)
class Form:
    """A form on the seller's website (HubSpot keeps its submissions; Salesforce has none)."""

    guid: str
    name: str
    page: str


@dataclass(frozen=True, slots=True)
class FormSubmission:
    """A contact filled in a form: always the customer's own act."""

    conversion_id: str
    form: Form
    contact: Contact
    submitted_at: int


@dataclass(slots=True)
class Story:
    """What one new deal brings into the CRMs, in the order it is simulated."""

    deal: Deal
    new_accounts: list[Account] = field(default_factory=list)
    new_contacts: list[Contact] = field(default_factory=list)
    leads: list[Lead] = field(default_factory=list)
    junk: Deal | None = None
    loose_activities: list[Activity] = field(default_factory=list)
    form_submissions: list[FormSubmission] = field(default_factory=list)
