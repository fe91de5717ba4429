"""The CRM-neutral simulation: one `Story` per deal, each a pure function of (seed, index).

    >>> from sandbox.history.params import build_params
    >>> sim = Simulation(build_params(seed=1, opportunities=20))
    >>> stories = list(sim.stories())
    >>> len([s for s in stories if s.deal.created_at <= sim.params.now_t])
    20

Deal `i` draws from random streams seeded by (seed, i) alone, and its record keys are derived
from `i`, so any range of deals can be simulated on its own (in another process) and the
output does not depend on how the work was split. Deals `0 .. opportunities-1` are created up
to `now`; the rest, up to `future_until`, after it.

A new deal may go to an account an earlier deal opened (a repeat deal, or an expansion of a
customer's account): it picks deal `j` among the last few thousand and recomputes `j`'s opening
(account, contacts, owner and fate), which is pure and cached. Memory stays flat: the cache is
pruned to that window, and stories are yielded and forgotten.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from random import Random

from sandbox.history.clock import DAY
from sandbox.history.crm_fields import build_states
from sandbox.history.forms import submissions
from sandbox.history.inflow import Inflow
from sandbox.history.journey import Fate, Journey, draw_fate
from sandbox.history.model import Account, Activity, Contact, Deal, DealState, Lead, Rep, Story
from sandbox.history.names import Names
from sandbox.history.noise import apply_logging_noise
from sandbox.history.org import Org
from sandbox.history.params import GeneratorParams, Process

__all__ = ["ACTIVITIES_PER_DEAL", "JUNK_KEYS", "LEAD_SOURCES", "ROLES", "Simulation"]

LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Trade Show", "Other")
ROLES = ("Economic Buyer", "Technical Buyer", "Influencer", "Evaluator", "Business User")
LOOKBACK = 4000
"""How many earlier deals a repeat or expansion deal looks back over for its account."""
ACTIVITIES_PER_DEAL = 1024
"""Activity keys of deal i are i * 1024 + 1 ... (far more than any deal has)."""
JUNK_KEYS = 500_000_000
"""Deal keys of duplicate opportunities created by mistake start here."""
_CUSTOMER_TRIES = 32
_CONTACTS_PER_DEAL = 16
_NEW_CONTACT = 9
_MINUTE = 60
# Random streams of one deal.
_OPENING, _FATE, _STORY, _SECURITY_REVIEW, _FORMS = 1, 2, 3, 4, 5


def _stream(seed: int, index: int, stream: int) -> Random:
    return Random((seed << 44) | (index << 4) | stream)


@dataclass(slots=True)
class _Opening:
    """How deal `index` starts: a pure function of (seed, index)."""

    index: int
    created: int
    process: Process
    account: Account
    founder: bool
    contacts: list[Contact]
    new_contacts: list[Contact]
    owner: Rep
    source: str
    true_amount: float
    fate: Fate
    expected: dict[str, float]
    opener: bool = False
    lead: Lead | None = None
    won_at: int | None = None


class Simulation:
    def __init__(self, params: GeneratorParams) -> None:
        self.params = params
        master = Random(params.seed)
        self.org = Org(params, master, Names(master))
        self._inflow = Inflow(
            params.seasonality, params.history_start_t, params.future_until_t, params.market
        )
        self._future = self._inflow.expected_count(
            params.opportunities,
            (params.history_start_t, params.now_t),
            (params.now_t, params.future_until_t),
        )
        self._openings: dict[int, _Opening] = {}
        self._handover: dict[int, Rep] = {}
        self._rng = Random(0)
        self._journey = Journey(params.noise, self.owner_at)
        self._new_business = [p for p in params.processes if p.deal_type == "new_business"]

    # -- public ---------------------------------------------------------------------------------

    def future_count(self) -> int:
        return self._future

    def total(self) -> int:
        return self.params.opportunities + self._future

    def stories(self, start: int = 0, stop: int | None = None) -> Iterator[Story]:
        """The stories of deals `start .. stop-1` (all deals by default), in creation order."""
        stop = self.total() if stop is None else min(stop, self.total())
        for index in range(start, stop):
            yield self.story(index)
            if index % 1024 == 0:
                self._prune(index)

    def owner_at(self, deal: Deal, at: int) -> Rep:
        """The deal's owner at `at`: a rep who left hands the deal to a colleague."""
        owner = deal.owner
        if owner.left_at is None or at < owner.left_at:
            return owner
        successor = self._handover.get(deal.key)
        if successor is None:
            successor = self.org.pick(deal.account.segment, owner.left_at, self._rng)
            self._handover[deal.key] = successor
        return successor

    # -- one deal ----------------------------------------------------------------------------------

    def story(self, index: int) -> Story:
        opening = self._opening(index)
        params, noise = self.params, self.params.noise
        rng = self._rng = _stream(params.seed, index, _STORY)
        keys = iter(range(index * ACTIVITIES_PER_DEAL + 1, (index + 1) * ACTIVITIES_PER_DEAL))
        next_key: Callable[[], int] = keys.__next__
        account, process = opening.account, opening.process
        deal = Deal(
            key=index + 1,
            name=_deal_name(account, process),
            process=process,
            account=account,
            owner=opening.owner,
            contacts=opening.contacts,
            created_at=opening.created,
            source=opening.source,
            true_amount=opening.true_amount,
            expected=dict(opening.expected),
        )
        deal.roles = ["Decision Maker"] + [
            ROLES[int(rng.random() * len(ROLES))] for _ in opening.contacts[1:]
        ]
        story = Story(
            deal=deal,
            new_accounts=[account] if opening.founder else [],
            new_contacts=opening.new_contacts,
        )
        if opening.lead is not None:
            story.leads.append(opening.lead)
        events = self._journey.run(deal, opening.fate, rng, next_key)
        apply_logging_noise(deal.activities, rng, noise, next_key)
        deal.states = build_states(deal, events, rng, noise, self.owner_at)
        if rng.random() < noise.junk_opportunity:
            story.junk = _junk(deal, rng)
        if rng.random() < noise.unconverted_lead:
            lead, activity = self._unconverted_lead(index, deal.owner, deal.created_at, rng)
            story.leads.append(lead)
            if activity is not None:
                activity.key = next_key()
                story.loose_activities.append(activity)
        if params.security_review:  # last, so that nothing else draws or numbers differently
            review = _stream(params.seed, index, _SECURITY_REVIEW)
            self._journey.security_review(deal, opening.fate, review, next_key)
        if params.forms:  # its own stream too: every other record stays the same
            forms = _stream(params.seed, index, _FORMS)
            story.form_submissions = submissions(deal, opening.fate, forms)
        self._handover.pop(deal.key, None)
        return story

    def _prune(self, index: int) -> None:
        oldest = index - LOOKBACK - 1
        for key in [k for k in self._openings if k < oldest]:
            del self._openings[key]

    def _window(self, index: int) -> tuple[int, int, int, int]:
        """(position, count, start, end) of deal `index` in its creation window."""
        p = self.params
        if index < p.opportunities:
            return index, p.opportunities, p.history_start_t, p.now_t
        return index - p.opportunities, self._future, p.now_t + 1, p.future_until_t

    def _intent(self, index: int) -> tuple[Random, int, Process, str, str]:
        """The first draws of deal `index`: when, which process, lead source, and whether it
        opens an account ("new") or means to reuse one ("repeat", "expansion")."""
        params = self.params
        rng = _stream(params.seed, index, _OPENING)
        position, count, start, end = self._window(index)
        created = self._inflow.time_of(position, count, start, end, rng.random())
        process = _choose(params.processes, rng.random())
        source = LEAD_SOURCES[int(rng.random() * len(LEAD_SOURCES))]
        if process.deal_type == "existing_business":
            intent = "expansion"
        elif rng.random() < params.noise.repeat_account:
            intent = "repeat"
        else:
            intent = "new"
        return rng, created, process, source, intent

    def _opener(self, index: int, before: int) -> _Opening | None:
        """Deal `index`'s opening if that deal set out to open its own account, before `before`.

        Only such deals' accounts are reused, and their openings look nothing up, so finding
        an earlier account never recurses further back.
        """
        opening = self._openings.get(index)
        if opening is None:
            _, created, _, _, intent = self._intent(index)
            if intent != "new" or created >= before:
                return None
            opening = self._opening(index)
        return opening if opening.opener and opening.created < before else None

    def _opening(self, index: int) -> _Opening:
        cached = self._openings.get(index)
        if cached is not None:
            return cached
        params, noise = self.params, self.params.noise
        rng, created, process, source, intent = self._intent(index)
        # Records that precede a deal never reach back across `now` for a deal created after
        # it: the state at `now` must not depend on the horizon.
        floor = params.now_t + 1 if created > params.now_t else 0
        earlier: _Opening | None = None
        if intent == "expansion":
            earlier = self._customer(index, created, rng)
            if earlier is None:
                process = self._new_business[0 if rng.random() < 0.4 else -1]
        elif intent == "repeat" and index > 0:
            candidate = self._opener(_earlier_index(index, rng), created)
            if candidate is not None and candidate.account.segment == process.segment:
                earlier = candidate
        names = Names(rng)
        new_contacts: list[Contact] = []
        lead: Lead | None = None
        if earlier is None:
            founder = True
            account = self._new_account(index, process, created, floor, rng, names)
            pool = list(account.contacts)
            new_contacts.extend(pool)
        else:
            founder = False
            account = earlier.account
            pool = list(account.contacts)
            if rng.random() < 0.3:
                at = max(created - int(rng.random() * 5 * DAY), floor)
                key = index * _CONTACTS_PER_DEAL + _NEW_CONTACT
                contact = _contact(key, account, at, False, rng, names)
                new_contacts.append(contact)
                pool.append(contact)
        owner = account.owner
        if not Org.employed(owner, created):
            owner = self.org.pick(account.segment, created, rng)
        contacts = _deal_contacts(pool, process, rng)
        amount = rng.lognormvariate(math.log(process.amount_median), process.amount_sigma)
        if founder and process.deal_type == "new_business" and rng.random() < noise.converted_lead:
            lead = _converted_lead(index, contacts[0], account, source, owner, created, floor, rng)
            # Converting the lead is what creates the account and its contacts.
            account.created_at = created
            for contact in account.contacts:
                contact.created_at = created
        fate, expected = draw_fate(
            process,
            created,
            owner.skill,
            params.skill_effect,
            _stream(params.seed, index, _FATE),
            params.market,
        )
        won_at = fate[-1][0] if fate[-1][1] else None
        if founder and won_at is not None:
            account.customer_since = won_at
            contacts[0].became_customer_at = won_at
        opening = _Opening(
            index=index,
            created=created,
            process=process,
            account=account,
            founder=founder,
            contacts=contacts,
            new_contacts=new_contacts,
            owner=owner,
            source=source,
            true_amount=round(amount, 2),
            fate=fate,
            expected=expected,
            opener=intent == "new",
            lead=lead,
            won_at=won_at,
        )
        self._openings[index] = opening
        return opening

    def _customer(self, index: int, created: int, rng: Random) -> _Opening | None:
        """An earlier deal that opened an account and won it before `created`."""
        if index == 0:
            return None
        for _ in range(_CUSTOMER_TRIES):
            candidate = self._opener(_earlier_index(index, rng), created)
            if (
                candidate is not None
                and candidate.won_at is not None
                and candidate.won_at < created
            ):
                return candidate
        return None

    def _new_account(
        self, index: int, process: Process, created: int, floor: int, rng: Random, names: Names
    ) -> Account:
        key = index + 1
        name, domain = names.company(key)
        city, country = names.city()
        enterprise = process.segment == "enterprise"
        employees = int(rng.lognormvariate(math.log(2500 if enterprise else 60), 0.8))
        account_created = max(created - int(rng.random() * 3 * DAY), floor)
        account = Account(
            key=key,
            name=name,
            domain=domain,
            segment=process.segment,
            industry=names.industry(),
            employees=max(employees, 5),
            city=city,
            country=country,
            owner=self.org.pick(process.segment, created, rng),
            created_at=account_created,
        )
        low, high = process.contacts_per_account
        for position in range(low + int(rng.random() * (high - low + 1))):
            at = min(account_created + position * _MINUTE, created)
            key = index * _CONTACTS_PER_DEAL + position + 1
            account.contacts.append(_contact(key, account, at, position == 0, rng, names))
        return account

    def _unconverted_lead(
        self, index: int, owner: Rep, around: int, rng: Random
    ) -> tuple[Lead, Activity | None]:
        names = Names(rng)
        floor = self.params.now_t + 1 if around > self.params.now_t else 0
        first, last = names.person()
        key = index * 2 + 2
        company, domain = names.company(100_000_000 + key)
        created = max(around - int(rng.random() * 20 * DAY), floor)
        worked = created + int(rng.random() * 10 * DAY) if rng.random() < 0.6 else None
        status = "Open - Not Contacted"
        if worked is not None:
            status = "Closed - Not Converted" if rng.random() < 0.5 else "Working - Contacted"
        lead = Lead(
            key=key,
            first_name=first,
            last_name=last,
            email=Names.email(first, last, domain),
            title=names.title(rng.random() < 0.3),
            company=company,
            source=LEAD_SOURCES[int(rng.random() * len(LEAD_SOURCES))],
            owner=owner,
            created_at=created,
            status=status,
            worked_at=worked,
        )
        if worked is None:
            return lead, None
        activity = Activity(
            key=0,
            kind="email",
            occurred_at=worked,
            logged_at=worked + 30,
            owner=owner,
            account=None,
            contact=None,
            deal=None,
            link="contact",
            direction="out",
            subject=f"{company}: faster onboarding",
            body="Would a short call next week be useful?",
            status="SENT",
            lead=lead,
        )
        return lead, activity


def _earlier_index(index: int, rng: Random) -> int:
    return index - 1 - int(rng.random() * min(index, LOOKBACK))


def _choose(processes: tuple[Process, ...], draw: float) -> Process:
    for process in processes:
        draw -= process.share
        if draw < 0:
            return process
    return processes[-1]


def _contact(
    key: int, account: Account, created: int, senior: bool, rng: Random, names: Names
) -> Contact:
    first, last = names.person()
    return Contact(
        key=key,
        account=account,
        first_name=first,
        last_name=last,
        email=Names.email(first, last, account.domain).replace("@", f"{key % 97}@"),
        title=names.title(senior),
        phone=names.phone(),
        created_at=created,
        source=LEAD_SOURCES[int(rng.random() * len(LEAD_SOURCES))],
    )


def _deal_contacts(pool: list[Contact], process: Process, rng: Random) -> list[Contact]:
    low, high = process.contacts_per_deal
    wanted = min(len(pool), low + int(rng.random() * (high - low + 1)))
    chosen = [pool[0]] if len(pool) < 3 or rng.random() < 0.7 else [pool[-1]]
    for contact in pool:
        if len(chosen) >= wanted:
            break
        if contact not in chosen:
            chosen.append(contact)
    return chosen


def _deal_name(account: Account, process: Process) -> str:
    short = account.name.rsplit(" ", 1)[0]
    if process.deal_type == "existing_business":
        return f"{short} - Expansion"
    return f"{short} - {'Platform' if process.segment == 'enterprise' else 'Starter'}"


def _converted_lead(
    index: int,
    contact: Contact,
    account: Account,
    source: str,
    owner: Rep,
    converted: int,
    floor: int,
    rng: Random,
) -> Lead:
    created = max(converted - int((1 + rng.random() * 30) * DAY), floor)
    lead = Lead(
        key=index * 2 + 1,
        first_name=contact.first_name,
        last_name=contact.last_name,
        email=contact.email,
        title=contact.title,
        company=account.name,
        source=source,
        owner=owner,
        created_at=created,
        status="Closed - Converted",
        worked_at=created + int(rng.random() * (converted - created)),
        converted_at=converted,
        account=account,
        contact=contact,
        deal_key=index + 1,
    )
    contact.lead = lead
    contact.source = source
    return lead


def _junk(deal: Deal, rng: Random) -> Deal:
    """A duplicate opportunity a rep created by mistake and deleted within days."""
    created = deal.created_at + 120 + int(rng.random() * 3600)
    first = deal.states[0]
    junk = Deal(
        key=JUNK_KEYS + deal.key,
        name=deal.name,
        process=deal.process,
        account=deal.account,
        owner=deal.owner,
        contacts=deal.contacts[:1],
        created_at=created,
        source=deal.source,
        true_amount=deal.true_amount,
        junk_of=deal,
        deleted_at=created + int((1 + rng.random() * 4) * DAY),
    )
    junk.states = [
        DealState(created, first.stage, first.amount, first.close_day, first.forecast, first.owner)
    ]
    return junk
