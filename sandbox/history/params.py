"""Everything the generator is told: size, seed, clock, and the demo business's parameters.

`build_params` turns CLI-level options into one frozen `GeneratorParams`; nothing else in the
package reads options. The business itself (processes, steps, rates) is declared here as data,
so the summary and `truth/parameters.json` can show exactly what was configured:

    >>> params = build_params(seed=7, size="small")
    >>> params.opportunities, [p.key for p in params.processes]
    (300, ['enterprise_new_business', 'smb_new_business', 'expansion'])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sandbox.history.clock import DAY, epoch, format_datetime
from sandbox.history.errors import InvalidParameters
from sandbox.history.scenarios import SCENARIOS, STEADY, Market, Scenario

__all__ = [
    "DEFAULT_NOW",
    "SIZES",
    "STAGES",
    "GeneratorParams",
    "Noise",
    "Process",
    "Seasonality",
    "Stage",
    "Step",
    "build_params",
]

MilestoneKind = Literal["does", "says", "writes"]
Segment = Literal["enterprise", "smb"]
DealType = Literal["new_business", "existing_business"]

SIZES: dict[str, int] = {"small": 300, "medium": 10_000, "large": 100_000}
"""Opportunities created up to `now`, per size name."""

DEFAULT_NOW = datetime(2025, 7, 1, tzinfo=UTC)
"""`now` when none is given: fixed, so the same options always give the same bytes."""


@dataclass(frozen=True)
class Step:
    """One milestone of a process: a customer action, reached with `probability` once the
    previous one was, after a log-normal gap of `gap_median_days` business days."""

    key: str
    name: str
    kind: MilestoneKind
    probability: float
    gap_median_days: float
    gap_sigma: float


@dataclass(frozen=True)
class Stage:
    """A rung of the reps' stage ladder (Salesforce's default opportunity stages)."""

    label: str
    probability: int
    forecast: str
    is_closed: bool
    is_won: bool


STAGES: tuple[Stage, ...] = (
    Stage("Prospecting", 10, "Pipeline", False, False),
    Stage("Qualification", 10, "Pipeline", False, False),
    Stage("Needs Analysis", 20, "Pipeline", False, False),
    Stage("Value Proposition", 50, "Pipeline", False, False),
    Stage("Id. Decision Makers", 60, "Pipeline", False, False),
    Stage("Perception Analysis", 70, "Pipeline", False, False),
    Stage("Proposal/Price Quote", 75, "Pipeline", False, False),
    Stage("Negotiation/Review", 90, "Pipeline", False, False),
    Stage("Closed Won", 100, "Closed", True, True),
    Stage("Closed Lost", 0, "Omitted", True, False),
)
WON_STAGE = 8
LOST_STAGE = 9


@dataclass(frozen=True)
class Process:
    """A sales process for one market segment and deal type, with the reps' habits in it."""

    key: str
    name: str
    segment: Segment
    deal_type: DealType
    share: float
    amount_median: float
    amount_sigma: float
    steps: tuple[Step, ...]
    stage_after_step: tuple[int, ...]
    entry_stage: int
    cycle_days: int
    patience_days: float
    contacts_per_account: tuple[int, int]
    contacts_per_deal: tuple[int, int]
    deals_per_rep_year: float


@dataclass(frozen=True)
class Noise:
    """How untidy the CRM is: each rate is a probability per occasion named in its comment."""

    bounce: float = 0.05  # first outbound email of a deal bounces
    auto_reply: float = 0.07  # an outbound email draws an out-of-office reply
    call_attempt: float = 0.45  # a chase touch is a call attempt instead of an email
    connected_call: float = 0.3  # a step brings a connected call that is not a milestone
    meeting_rescheduled: float = 0.18  # a held meeting was first booked, then cancelled/moved
    no_show: float = 0.45  # a failed meeting step shows a booked meeting that was a no-show
    internal_note: float = 0.7  # a held meeting gets an internal note
    internal_email: float = 0.12  # a step brings an internal (forwarded) email
    rep_task: float = 0.65  # a step brings a rep to-do
    late_logging: float = 0.12  # a manually logged activity is logged days late
    late_logging_new_rep: float = 0.3  # the same for reps in their first 180 days
    late_logging_median_days: float = 2.0
    contact_only: float = 0.08  # an activity is linked to the contact only
    account_only: float = 0.04  # an activity is linked to the account only
    duplicate: float = 0.02  # an activity is logged twice
    edit: float = 0.06  # an activity is edited after it was logged
    delete: float = 0.01  # an activity is deleted
    explicit_no: float = 0.4  # a dropped deal ends with the customer writing "no"
    stale_open: float = 0.3  # a deal that went silent is left open for months, not weeks
    stage_ahead: float = 0.12  # a rep moves the stage one further than the customer went
    stage_update_skipped: float = 0.15  # a rep does not update the stage after a step
    stage_lag_median_days: float = 1.0
    early_commit: float = 0.15  # a rep forecasts Commit at proposal instead of at verbal yes
    junk_opportunity: float = 0.01  # a duplicate opportunity created by mistake, then deleted
    converted_lead: float = 0.6  # a new-business deal comes from a converted lead
    unconverted_lead: float = 0.5  # per deal: an extra lead that never converts
    repeat_account: float = 0.08  # a new-business deal goes to an account already known


@dataclass(frozen=True)
class Seasonality:
    """Inflow of new deals: monthly weights (Jan..Dec), yearly growth, business days only."""

    monthly: tuple[float, ...] = (1.05, 1.0, 1.1, 1.05, 1.0, 0.95, 0.85, 0.75, 1.1, 1.15, 1.1, 0.8)
    annual_growth: float = 0.15


def _step(key: str, kind: MilestoneKind, probability: float, median: float, sigma: float) -> Step:
    return Step(key, _STEP_NAMES[key], kind, probability, median, sigma)


_STEP_NAMES = {
    "reply": "Replied",
    "meeting_held": "Meeting held",
    "requirements_sent": "Requirements sent",
    "proposal_requested": "Proposal requested",
    "verbal_yes": "Verbal yes",
    "signed": "Signed",
}

DEFAULT_PROCESSES: tuple[Process, ...] = (
    Process(
        key="enterprise_new_business",
        name="Enterprise new business",
        segment="enterprise",
        deal_type="new_business",
        share=0.32,
        amount_median=48_000,
        amount_sigma=0.7,
        steps=(
            _step("reply", "writes", 0.55, 4.0, 0.8),
            _step("meeting_held", "does", 0.70, 7.0, 0.7),
            _step("requirements_sent", "writes", 0.70, 10.0, 0.8),
            _step("proposal_requested", "says", 0.75, 8.0, 0.7),
            _step("verbal_yes", "says", 0.65, 14.0, 0.8),
            _step("signed", "does", 0.85, 9.0, 0.6),
        ),
        stage_after_step=(1, 2, 3, 6, 7, WON_STAGE),
        entry_stage=0,
        cycle_days=100,
        patience_days=45,
        contacts_per_account=(3, 8),
        contacts_per_deal=(2, 4),
        deals_per_rep_year=45,
    ),
    Process(
        key="smb_new_business",
        name="SMB new business",
        segment="smb",
        deal_type="new_business",
        share=0.56,
        amount_median=6_500,
        amount_sigma=0.5,
        steps=(
            _step("reply", "writes", 0.60, 2.0, 0.8),
            _step("meeting_held", "does", 0.70, 4.0, 0.6),
            _step("proposal_requested", "says", 0.60, 4.0, 0.7),
            _step("signed", "does", 0.65, 5.0, 0.7),
        ),
        stage_after_step=(1, 2, 6, WON_STAGE),
        entry_stage=0,
        cycle_days=30,
        patience_days=25,
        contacts_per_account=(1, 3),
        contacts_per_deal=(1, 2),
        deals_per_rep_year=160,
    ),
    Process(
        key="expansion",
        name="Expansion (existing customers)",
        segment="enterprise",
        deal_type="existing_business",
        share=0.12,
        amount_median=15_000,
        amount_sigma=0.6,
        steps=(
            _step("meeting_held", "does", 0.80, 6.0, 0.6),
            _step("proposal_requested", "says", 0.70, 7.0, 0.7),
            _step("signed", "does", 0.75, 8.0, 0.7),
        ),
        stage_after_step=(2, 6, WON_STAGE),
        entry_stage=1,
        cycle_days=60,
        patience_days=40,
        contacts_per_account=(2, 4),
        contacts_per_deal=(1, 3),
        deals_per_rep_year=60,
    ),
)


@dataclass(frozen=True)
class GeneratorParams:
    """One run of the generator. `now` splits base files (state at `now`) from future ones."""

    seed: int
    size: str
    opportunities: int
    now: datetime
    future_days: int = 0
    history_days: int = 1095
    skill_effect: float = 0.15
    processes: tuple[Process, ...] = DEFAULT_PROCESSES
    noise: Noise = field(default_factory=Noise)
    seasonality: Seasonality = field(default_factory=Seasonality)
    scenario: Scenario = STEADY
    security_review: bool = False
    """Customers send a completed security questionnaire after the meeting, far more often
    in deals they go on to sign: a predictive action no shipped rule maps."""
    forms: bool = False
    """The deals' contacts fill in website forms (HubSpot form submissions), one of them far
    more often in deals they go on to sign (`sandbox.history.forms`)."""

    @property
    def now_t(self) -> int:
        return epoch(self.now)

    @property
    def history_start_t(self) -> int:
        return self.now_t - self.history_days * DAY

    @property
    def future_until_t(self) -> int:
        return self.now_t + self.future_days * DAY

    @property
    def change_t(self) -> int:
        """When the scenario's market change happens: midnight of the history's middle day."""
        return self.history_start_t + (self.history_days // 2) * DAY

    @property
    def market(self) -> Market:
        return Market(self.scenario, self.change_t)

    def process(self, key: str) -> Process:
        for process in self.processes:
            if process.key == key:
                return process
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        """Every parameter, as written to truth/parameters.json."""
        data = asdict(self)
        data["now"] = format_datetime(self.now_t)
        data["history_start"] = format_datetime(self.history_start_t)
        data["future_until"] = format_datetime(self.future_until_t)
        data["scenario_changes_at"] = format_datetime(self.change_t)
        data["stages"] = [asdict(stage) for stage in STAGES]
        data["business_hours"] = "Monday-Friday 08:00-18:00 UTC; gaps are in business days"
        return data


def build_params(
    *,
    seed: int,
    size: str = "small",
    opportunities: int | None = None,
    now: datetime | None = None,
    future_days: int = 0,
    scenario: str = "steady",
    security_review: bool = False,
    forms: bool = False,
) -> GeneratorParams:
    """Validated parameters; `InvalidParameters` names the offending option."""
    if size not in SIZES:
        raise InvalidParameters(f"unknown size {size!r}: choose one of {', '.join(SIZES)}")
    if opportunities is not None and opportunities < 0:
        raise InvalidParameters(f"--opportunities must be >= 0, got {opportunities}")
    if future_days < 0:
        raise InvalidParameters(f"--future-days must be >= 0, got {future_days}")
    if scenario not in SCENARIOS:
        raise InvalidParameters(
            f"unknown scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}"
        )
    if seed < 0:
        raise InvalidParameters(f"--seed must be >= 0, got {seed}")
    if now is not None and now.tzinfo is None:
        raise InvalidParameters("--now needs a time zone, e.g. 2025-07-01T00:00:00Z")
    moment = (now or DEFAULT_NOW).astimezone(UTC).replace(microsecond=0)
    count = SIZES[size] if opportunities is None else opportunities
    name = size if count == SIZES[size] else "custom"
    return GeneratorParams(
        seed=seed,
        size=name,
        opportunities=count,
        now=moment,
        future_days=future_days,
        scenario=SCENARIOS[scenario],
        security_review=security_review,
        forms=forms,
    )
