"""The CRM-neutral simulation: one `Story` per new deal, in creation order, from one seed.

    >>> from connectors.generator.params import build_params
    >>> sim = Simulation(build_params(seed=1, opportunities=20))
    >>> stories = list(sim.stories())
    >>> len([s for s in stories if s.deal.created_at <= sim.params.now_t])
    20

Memory stays flat: a story is yielded and forgotten; only bounded pools of recent accounts and
customers (for repeat and expansion deals) and the org chart are kept.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterator
from random import Random

from connectors.generator.clock import DAY
from connectors.generator.crm_fields import build_states
from connectors.generator.inflow import Inflow
from connectors.generator.journey import Journey
from connectors.generator.model import Account, Activity, Contact, Deal, DealState, Lead, Rep, Story
from connectors.generator.names import Names
from connectors.generator.noise import apply_logging_noise
from connectors.generator.org import Org
from connectors.generator.params import GeneratorParams, Process

__all__ = ["LEAD_SOURCES", "ROLES", "Simulation"]

LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Trade Show", "Other")
ROLES = ("Economic Buyer", "Technical Buyer", "Influencer", "Evaluator", "Business User")
_POOL = 4000
_MINUTE = 60


class Simulation:
    def __init__(self, params: GeneratorParams) -> None:
        self.params = params
        self.rng = Random(params.seed)
        self.names = Names(self.rng)
        self.org = Org(params, self.rng, self.names)
        self._inflow = Inflow(params.seasonality, params.history_start_t, params.future_until_t)
        self._deal_keys = itertools.count(1).__next__
        self._account_keys = itertools.count(1).__next__
        self._contact_keys = itertools.count(1).__next__
        self._lead_keys = itertools.count(1).__next__
        self.next_activity_key = itertools.count(1).__next__
        self._recent: dict[str, deque[Account]] = {}
        self._customers: deque[Account] = deque(maxlen=_POOL)
        self._handover: dict[int, Rep] = {}
        # Records that precede a deal (its account, contacts, leads) never reach back across
        # `now` for a deal created after it: the state at `now` must not depend on the horizon.
        self._floor = 0
        self._journey = Journey(
            self.rng,
            params.noise,
            params.skill_effect,
            self.next_activity_key,
            self.owner_at,
        )
        self._new_business = [p for p in params.processes if p.deal_type == "new_business"]
        self._expansion = [p for p in params.processes if p.deal_type == "existing_business"]

    # -- public ---------------------------------------------------------------------------------

    def future_count(self) -> int:
        p = self.params
        return self._inflow.expected_count(
            p.opportunities, (p.history_start_t, p.now_t), (p.now_t, p.future_until_t)
        )

    def total(self) -> int:
        return self.params.opportunities + self.future_count()

    def stories(self) -> Iterator[Story]:
        p = self.params
        windows = (
            (p.history_start_t, p.now_t, p.opportunities),
            (p.now_t + 1, p.future_until_t, self.future_count()),
        )
        for start, end, count in windows:
            if count <= 0 or end <= start:
                continue
            for created in self._inflow.times(self.rng, start, end, count):
                yield self._story(created)

    def owner_at(self, deal: Deal, at: int) -> Rep:
        """The deal's owner at `at`: a rep who left hands the deal to a colleague."""
        owner = deal.owner
        if owner.left_at is None or at < owner.left_at:
            return owner
        successor = self._handover.get(deal.key)
        if successor is None:
            successor = self.org.pick(deal.account.segment, owner.left_at)
            self._handover[deal.key] = successor
        return successor

    # -- one deal ----------------------------------------------------------------------------------

    def _choose_process(self) -> Process:
        draw = self.rng.random()
        for process in self.params.processes:
            draw -= process.share
            if draw < 0:
                return process
        return self.params.processes[-1]

    def _story(self, created: int) -> Story:
        rng, noise = self.rng, self.params.noise
        self._floor = self.params.now_t + 1 if created > self.params.now_t else 0
        process = self._choose_process()
        account: Account | None = None
        new_contacts: list[Contact] = []
        story_accounts: list[Account] = []
        if process.deal_type == "existing_business":
            account = self._customer(created)
            if account is None:
                process = self._new_business[0] if rng.random() < 0.4 else self._new_business[-1]
        elif rng.random() < noise.repeat_account:
            recent = self._recent.get(process.segment)
            if recent:
                candidate = recent[int(rng.random() * len(recent))]
                if candidate.created_at < created:
                    account = candidate
        if account is None:
            account = self._new_account(process, created)
            story_accounts.append(account)
            new_contacts.extend(account.contacts)
        elif rng.random() < 0.3:
            at = max(created - int(rng.random() * 5 * DAY), self._floor)
            contact = self._new_contact(account, at, False)
            new_contacts.append(contact)
        owner = account.owner
        if not Org.employed(owner, created):
            owner = self.org.pick(account.segment, created)
        contacts = self._deal_contacts(account, process)
        deal = Deal(
            key=self._deal_keys(),
            name=self._deal_name(account, process),
            process=process,
            account=account,
            owner=owner,
            contacts=contacts,
            created_at=created,
            source=LEAD_SOURCES[int(rng.random() * len(LEAD_SOURCES))],
            true_amount=self._amount(process),
        )
        deal.roles = ["Decision Maker"] + [
            ROLES[int(rng.random() * len(ROLES))] for _ in contacts[1:]
        ]
        story = Story(deal=deal, new_accounts=story_accounts, new_contacts=new_contacts)
        if (
            story_accounts
            and process.deal_type == "new_business"
            and rng.random() < noise.converted_lead
        ):
            story.leads.append(self._converted_lead(deal))
            # Converting the lead is what creates the account and its contacts.
            account.created_at = created
            for contact in account.contacts:
                contact.created_at = created
        events = self._journey.run(deal)
        apply_logging_noise(deal.activities, rng, noise, self.next_activity_key)
        deal.states = build_states(deal, events, rng, noise, self.owner_at)
        if deal.outcome == "won" and deal.closed_at is not None:
            if account.customer_since is None:
                account.customer_since = deal.closed_at
                for contact in contacts[:1]:
                    contact.became_customer_at = deal.closed_at
            self._customers.append(account)
        if rng.random() < noise.junk_opportunity:
            story.junk = self._junk(deal)
        if rng.random() < noise.unconverted_lead:
            lead, activity = self._unconverted_lead(owner, created)
            story.leads.append(lead)
            if activity is not None:
                story.loose_activities.append(activity)
        self._handover.pop(deal.key, None)
        return story

    def _customer(self, created: int) -> Account | None:
        pool = self._customers
        for _ in range(8):
            if not pool:
                return None
            account = pool[int(self.rng.random() * len(pool))]
            if account.customer_since is not None and account.customer_since < created:
                return account
        return None

    def _new_account(self, process: Process, created: int) -> Account:
        rng, names = self.rng, self.names
        key = self._account_keys()
        name, domain = names.company(key)
        city, country = names.city()
        enterprise = process.segment == "enterprise"
        employees = int(rng.lognormvariate(math.log(2500 if enterprise else 60), 0.8))
        account_created = max(created - int(rng.random() * 3 * DAY), self._floor)
        account = Account(
            key=key,
            name=name,
            domain=domain,
            segment=process.segment,
            industry=names.industry(),
            employees=max(employees, 5),
            city=city,
            country=country,
            owner=self.org.pick(process.segment, created),
            created_at=account_created,
        )
        low, high = process.contacts_per_account
        for index in range(low + int(rng.random() * (high - low + 1))):
            at = min(account_created + index * _MINUTE, created)
            self._new_contact(account, at, index == 0)
        self._recent.setdefault(process.segment, deque(maxlen=_POOL)).append(account)
        return account

    def _new_contact(self, account: Account, created: int, senior: bool) -> Contact:
        names = self.names
        first, last = names.person()
        key = self._contact_keys()
        contact = Contact(
            key=key,
            account=account,
            first_name=first,
            last_name=last,
            email=Names.email(first, last, account.domain).replace("@", f"{key % 97}@"),
            title=names.title(senior),
            phone=names.phone(),
            created_at=created,
            source=LEAD_SOURCES[int(self.rng.random() * len(LEAD_SOURCES))],
        )
        account.contacts.append(contact)
        return contact

    def _deal_contacts(self, account: Account, process: Process) -> list[Contact]:
        rng = self.rng
        low, high = process.contacts_per_deal
        wanted = min(len(account.contacts), low + int(rng.random() * (high - low + 1)))
        pool = account.contacts
        chosen = [pool[0]] if len(pool) < 3 or rng.random() < 0.7 else [pool[-1]]
        for contact in pool:
            if len(chosen) >= wanted:
                break
            if contact not in chosen:
                chosen.append(contact)
        return chosen

    def _deal_name(self, account: Account, process: Process) -> str:
        short = account.name.rsplit(" ", 1)[0]
        if process.deal_type == "existing_business":
            return f"{short} - Expansion"
        return f"{short} - {'Platform' if process.segment == 'enterprise' else 'Starter'}"

    def _amount(self, process: Process) -> float:
        value = self.rng.lognormvariate(math.log(process.amount_median), process.amount_sigma)
        return round(value, 2)

    def _converted_lead(self, deal: Deal) -> Lead:
        rng = self.rng
        contact = deal.contacts[0]
        created = max(deal.created_at - int((1 + rng.random() * 30) * DAY), self._floor)
        lead = Lead(
            key=self._lead_keys(),
            first_name=contact.first_name,
            last_name=contact.last_name,
            email=contact.email,
            title=contact.title,
            company=deal.account.name,
            source=deal.source,
            owner=deal.owner,
            created_at=created,
            status="Closed - Converted",
            worked_at=created + int(rng.random() * (deal.created_at - created)),
            converted_at=deal.created_at,
            account=deal.account,
            contact=contact,
            deal=deal,
        )
        contact.lead = lead
        contact.source = deal.source
        deal.lead = lead
        return lead

    def _unconverted_lead(self, owner: Rep, around: int) -> tuple[Lead, Activity | None]:
        rng, names = self.rng, self.names
        first, last = names.person()
        key = self._lead_keys()
        company, domain = names.company(100_000_000 + key)
        created = max(around - int(rng.random() * 20 * DAY), self._floor)
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
        activity = None
        if worked is not None:
            activity = Activity(
                key=self.next_activity_key(),
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

    def _junk(self, deal: Deal) -> Deal:
        """A duplicate opportunity a rep created by mistake and deleted within days."""
        rng = self.rng
        created = deal.created_at + 120 + int(rng.random() * 3600)
        first = deal.states[0]
        junk = Deal(
            key=self._deal_keys(),
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
            DealState(
                created, first.stage, first.amount, first.close_day, first.forecast, first.owner
            )
        ]
        junk.outcome = "open"
        return junk
