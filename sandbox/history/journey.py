"""One deal's story: the customer's path through its process and the activities around it.

A deal moves forward only when the customer acts. At each step the customer either acts after a
log-normal gap (in business days) or drops; the rep works around that: outreach, chasing,
meeting bookings, proposals, contracts, call attempts, notes, to-dos. Only the customer's own
action for a step is its *evidence* (`Activity.milestone`); everything else is what a real CRM
holds besides. The rep's CRM fields are built from the same timeline in `crm_fields`.

The whole story is simulated regardless of `now` and of the horizon, so the past never depends
on how far into the future a run reaches; renderers cut at the horizon.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from random import Random

from sandbox.history.clock import DAY, add_business_days, next_business_moment
from sandbox.history.model import Activity, ActivityKind, Contact, Deal, Direction, Rep
from sandbox.history.names import SELLER_DOMAIN
from sandbox.history.params import Noise, Process, Step
from sandbox.history.scenarios import Market

__all__ = ["CrmEvent", "Fate", "Journey", "draw_fate"]

CrmEvent = tuple[int, str, int]
"""(time, kind, step index): what the rep reacts to. Kinds: step, lost, reopen, won, ahead."""

_CHASE_OFFSETS = (3.0, 7.0, 12.0, 18.0, 26.0)
_OUTREACH_OFFSETS = (0.0, *_CHASE_OFFSETS)
_MINUTE = 60


Fate = list[tuple[int, bool]]
"""The customer's path: per step tried, (when the customer acted or dropped, whether it acted)."""


def draw_fate(
    process: Process,
    created: int,
    skill: float,
    skill_effect: float,
    rng: Random,
    market: Market | None = None,
) -> tuple[Fate, dict[str, float]]:
    """The customer's path through `process`, and each step's probability for this deal.

    Drawn from a stream of its own, so a deal's fate can be recomputed cheaply (to know
    whether an account is a customer yet) without simulating its activities. A `market`
    change applies to a step from the moment the step before it was reached (or the deal
    created): its probability, and the gap to it.
    """
    fate: Fate = []
    expected: dict[str, float] = {}
    t_prev = created
    for step in process.steps:
        p = min(0.98, step.probability * (1.0 + skill_effect * skill))
        gap = rng.lognormvariate(math.log(step.gap_median_days), step.gap_sigma)
        if market is not None:
            p = market.probability(step.key, p, t_prev)
            gap = market.gap(gap, t_prev)
        expected[step.key] = p
        t_next = add_business_days(t_prev, gap)
        reached = rng.random() < p
        fate.append((t_next, reached))
        if not reached:
            break
        t_prev = t_next
    return fate, expected


class Journey:
    """Simulates the activities of one deal after another, each from its own random stream."""

    def __init__(self, noise: Noise, owner_at: Callable[[Deal, int], Rep]) -> None:
        self._rng = Random(0)
        self._noise = noise
        self._next_key: Callable[[], int] = int
        self._owner_at = owner_at

    # -- the customer's path -------------------------------------------------------------------

    def run(
        self, deal: Deal, fate: Fate, rng: Random, next_key: Callable[[], int]
    ) -> list[CrmEvent]:
        """Fill `deal` (milestones, outcome, activities) and return the events the rep sees."""
        self._rng, self._next_key = rng, next_key
        noise = self._noise
        process = deal.process
        patience = process.patience_days * rng.lognormvariate(0.0, 0.3)
        events: list[CrmEvent] = [(deal.created_at, "create", -1)]
        if rng.random() < noise.stage_ahead:
            events.append((add_business_days(deal.created_at, 1 + rng.random() * 4), "ahead", -1))
        t_prev = deal.created_at
        for index, (t_next, reached) in enumerate(fate):
            step = process.steps[index]
            self._step(deal, index, step, t_prev, t_next, reached, patience)
            if not reached:
                deal.dropped_at = t_next
                lost_at = next_business_moment(t_prev + int(patience * DAY))
                if rng.random() < noise.explicit_no:
                    self._email_in(
                        deal,
                        t_next,
                        f"RE: {deal.name}",
                        "Thank you for your time. We have decided not to move forward for now.",
                    )
                    lost_at = min(lost_at, add_business_days(t_next, 0.3 + rng.random() * 2.5))
                elif rng.random() < noise.stale_open:
                    # Nobody closes it: it sits in the pipeline, its close date slipping.
                    months = patience * rng.lognormvariate(math.log(4.0), 0.4)
                    lost_at = next_business_moment(t_prev + int(months * DAY))
                deal.outcome = "lost"
                deal.closed_at = lost_at
                events.append((lost_at, "lost", index))
                self._chase_after_loss(deal, lost_at)
                return events
            if t_next - t_prev > patience * DAY:
                closed = next_business_moment(t_prev + int(patience * DAY))
                events.append((closed, "lost", index))
                events.append((t_next, "reopen", index))
            deal.milestones[step.key] = t_next
            events.append((t_next, "step", index))
            t_prev = t_next
        deal.outcome = "won"
        deal.closed_at = t_prev
        events.append((add_business_days(t_prev, rng.random() * 2), "won", -1))
        return events

    # -- a customer action the example rules do not map ---------------------------------------

    def security_review(
        self, deal: Deal, fate: Fate, rng: Random, next_key: Callable[[], int]
    ) -> None:
        """After the meeting is held, the customer sends back a completed security
        questionnaire: 70 % of the deals that go on to be won, 10 % of the others, before
        the next step (or the drop). A milestone candidate that predicts winning and that no
        shipped rule maps (an incoming email whose customer has replied long before). Drawn
        from its own stream, `rng`, so the rest of the story is the same without it."""
        index = next((i for i, s in enumerate(deal.process.steps) if s.key == "meeting_held"), -1)
        if index < 0 or index >= len(fate) or not fate[index][1]:
            return
        held = fate[index][0]
        following = fate[index + 1][0] if index + 1 < len(fate) else held + 10 * DAY
        chance = 0.7 if deal.outcome == "won" else 0.1
        if rng.random() >= chance:
            return
        story_rng, story_key = self._rng, self._next_key
        self._rng, self._next_key = rng, next_key
        try:
            at = held + int((0.2 + 0.6 * rng.random()) * max(following - held, DAY))
            self._email_in(
                deal,
                at,
                f"Security questionnaire: {deal.account.name}",
                "Attached is our completed security questionnaire for your review.",
                attachment=True,
            )
        finally:
            self._rng, self._next_key = story_rng, story_key

    # -- activities per step --------------------------------------------------------------------

    def _step(
        self,
        deal: Deal,
        index: int,
        step: Step,
        t_from: int,
        t_to: int,
        reached: bool,
        patience: float,
    ) -> None:
        rng, noise = self._rng, self._noise
        key = step.key
        give_up = t_from + int(patience * DAY)
        chase_until = t_to if reached else min(t_to, give_up)
        if key == "reply":
            self._outreach(deal, t_from, chase_until)
            if reached:
                self._email_in(
                    deal,
                    t_to,
                    f"RE: {deal.account.name} and Brightwave",
                    "Thanks for reaching out. This is timely for us; happy to talk next week.",
                    milestone=key,
                )
        elif key == "meeting_held":
            opener = add_business_days(t_from, 0.05 + rng.random() * 0.8)
            self._email_out(deal, opener, "Proposed times for a first call", "How about ...?")
            self._meeting_step(deal, t_from, t_to, reached, key)
        elif key == "requirements_sent":
            opener = add_business_days(t_from, 0.2 + rng.random())
            self._email_out(
                deal, opener, "Next steps: your requirements", "Could you share your requirements?"
            )
            self._chase(deal, opener, chase_until)
            if reached:
                self._email_in(
                    deal,
                    t_to,
                    "RE: Next steps: your requirements",
                    "Please find our requirements document attached.",
                    attachment=True,
                    milestone=key,
                )
                self._task(deal, add_business_days(t_to, 0.1), "Review requirements document")
        elif key == "proposal_requested":
            opener = add_business_days(t_from, 0.2 + rng.random())
            self._email_out(deal, opener, "Following up on our conversation", "Any questions?")
            self._chase(deal, opener, chase_until)
            if reached:
                if rng.random() < 0.7:
                    self._email_in(
                        deal,
                        t_to,
                        "RE: Following up on our conversation",
                        "Could you send us a proposal with pricing for the full team?",
                        milestone=key,
                    )
                else:
                    self._call(
                        deal,
                        t_to,
                        "in",
                        "CONNECTED",
                        "Inbound call: customer asked for a proposal",
                        "Customer called and asked for a written proposal with pricing.",
                        milestone=key,
                    )
                self._task(deal, add_business_days(t_to, 0.05), "Prepare proposal")
                sent = add_business_days(t_to, 0.5 + rng.random() * 2.5)
                self._email_out(
                    deal, sent, f"Proposal: {deal.name}", "Please find our proposal attached.", True
                )
        elif key == "verbal_yes":
            opener = add_business_days(t_from, 0.5 + rng.random() * 2)
            self._call(
                deal, opener, "out", "VOICEMAIL", "Call: proposal follow-up", "Left voicemail"
            )
            self._chase(deal, opener, chase_until)
            if reached:
                if rng.random() < 0.7:
                    self._call(
                        deal,
                        t_to,
                        "out",
                        "CONNECTED",
                        "Call: decision on proposal",
                        "Customer confirmed verbally that they will go ahead with the proposal.",
                        milestone=key,
                    )
                else:
                    self._meeting(
                        deal,
                        booked=add_business_days(t_from, 0.5 + rng.random()),
                        start=t_to,
                        outcome="COMPLETED",
                        title="Decision meeting",
                        milestone=key,
                    )
        elif key == "signed":
            opener = add_business_days(t_from, 0.1 + rng.random() * 0.8)
            self._email_out(
                deal, opener, f"Order form: {deal.name}", "Order form for signature attached.", True
            )
            self._chase(deal, opener, chase_until)
            if reached:
                self._email_in(
                    deal,
                    t_to,
                    f"RE: Order form: {deal.name}",
                    "Signed order form attached. Looking forward to working together.",
                    attachment=True,
                    milestone=key,
                )
        # What happens around any step: to-dos, calls that connect, internal threads.
        if rng.random() < noise.rep_task:
            self._task(deal, add_business_days(t_from, 0.5 + rng.random()), "Follow up")
        if rng.random() < noise.connected_call:
            at = t_from + int(rng.random() * max(chase_until - t_from, 1))
            self._call(deal, at, "out", "CONNECTED", "Call: check-in", "Short check-in call.")
        if rng.random() < noise.internal_email:
            at = t_from + int(rng.random() * max(chase_until - t_from, 1))
            self._email(
                deal,
                at,
                "internal",
                "FORWARDED",
                f"FW: {deal.account.name}",
                "Can you help with this account?",
            )

    def _meeting_step(self, deal: Deal, t_from: int, t_to: int, reached: bool, key: str) -> None:
        rng, noise = self._rng, self._noise
        booked = t_from + int(rng.random() * max((t_to - t_from) // 2, 1))
        if reached:
            if rng.random() < noise.meeting_rescheduled:
                first_start = booked + int(rng.random() * max(t_to - booked, 1))
                outcome = "RESCHEDULED" if rng.random() < 0.5 else "CANCELED"
                self._meeting(deal, booked, first_start, outcome, "Introduction call")
            self._meeting(deal, booked, t_to, "COMPLETED", "Introduction call", milestone=key)
            if rng.random() < noise.internal_note:
                self._note(deal, t_to + 3600 + int(rng.random() * DAY), "Meeting recap")
            return
        draw = rng.random()
        if draw < noise.no_show:
            self._meeting(deal, booked, t_to, "NO_SHOW", "Introduction call")
        elif draw < noise.no_show + 0.25:
            self._meeting(deal, booked, t_to, "CANCELED", "Introduction call")
        else:
            self._chase(deal, booked, t_to)

    def _outreach(self, deal: Deal, start: int, until: int) -> None:
        rng, noise = self._rng, self._noise
        first = True
        for offset in _OUTREACH_OFFSETS:
            at = add_business_days(start, offset + rng.random() * 0.5)
            if at >= until and not first:
                break
            if not first and rng.random() < noise.call_attempt:
                status = "NO_ANSWER" if rng.random() < 0.6 else "VOICEMAIL"
                self._call(deal, at, "out", status, "Call attempt", "No answer")
                continue
            subject = f"{deal.account.name}: faster onboarding" if first else "Following up"
            bounced = first and rng.random() < noise.bounce
            self._email_out(
                deal, at, subject, "Would a short call next week be useful?", bounce=bounced
            )
            if bounced:
                self._email_out(deal, at + 600 + int(rng.random() * 7200), subject, "Resending.")
            first = False

    def _chase(self, deal: Deal, start: int, until: int) -> None:
        """Follow-ups that get no answer, until the customer acts or the rep gives up."""
        rng, noise = self._rng, self._noise
        for offset in _CHASE_OFFSETS:
            at = add_business_days(start, offset + rng.random() * 0.5)
            if at >= until:
                return
            if rng.random() < noise.call_attempt:
                status = "NO_ANSWER" if rng.random() < 0.6 else "VOICEMAIL"
                self._call(deal, at, "out", status, "Call attempt", "No answer")
            else:
                self._email_out(deal, at, "Checking in", "Just checking in on the above.")

    def _chase_after_loss(self, deal: Deal, lost_at: int) -> None:
        if self._rng.random() < 0.3:
            at = add_business_days(lost_at, 20 + self._rng.random() * 40)
            self._email_out(deal, at, "Is this still a priority?", "Reaching out once more.")

    # -- activity builders ----------------------------------------------------------------------

    def _contact(self, deal: Deal) -> Contact:
        contacts = deal.contacts
        if len(contacts) == 1 or self._rng.random() < 0.6:
            return contacts[0]
        return contacts[int(self._rng.random() * len(contacts))]

    def _new(
        self,
        deal: Deal,
        kind: ActivityKind,
        at: int,
        logged_at: int,
        direction: Direction,
        status: str,
        subject: str,
        body: str,
        *,
        end_at: int = 0,
        duration_s: int = 0,
        attachment: bool = False,
        milestone: str | None = None,
        edited_at: int | None = None,
        manual: bool = False,
    ) -> Activity:
        activity = Activity(
            key=self._next_key(),
            kind=kind,
            occurred_at=at,
            logged_at=max(logged_at, deal.created_at),
            owner=self._owner_at(deal, at),
            account=deal.account,
            contact=self._contact(deal),
            deal=deal,
            link="deal",
            direction=direction,
            subject=subject,
            body=body,
            status=status,
            end_at=end_at,
            duration_s=duration_s,
            attachment=attachment,
            milestone=milestone,
            edited_at=edited_at,
            manual=manual,
        )
        deal.activities.append(activity)
        return activity

    def _email(
        self,
        deal: Deal,
        at: int,
        direction: Direction,
        status: str,
        subject: str,
        body: str,
        attachment: bool = False,
        milestone: str | None = None,
    ) -> Activity:
        synced = at + 20 + int(self._rng.random() * 300)
        return self._new(
            deal,
            "email",
            at,
            synced,
            direction,
            status,
            subject,
            body,
            attachment=attachment,
            milestone=milestone,
        )

    def _email_out(
        self,
        deal: Deal,
        at: int,
        subject: str,
        body: str,
        attachment: bool = False,
        bounce: bool = False,
    ) -> None:
        rng = self._rng
        self._email(deal, at, "out", "BOUNCED" if bounce else "SENT", subject, body, attachment)
        if bounce:
            notice = self._email(
                deal,
                at + 30 + int(rng.random() * 120),
                "in",
                "BOUNCE_NOTICE",
                f"Undeliverable: {subject}",
                "Delivery has failed to these recipients.",
            )
            notice.counterpart = f"mailer-daemon@{SELLER_DOMAIN}"
        elif rng.random() < self._noise.auto_reply:
            self._email(
                deal,
                at + 5 + int(rng.random() * 300),
                "in",
                "AUTO_REPLY",
                f"Automatic reply: {subject}",
                "I am out of the office and will reply on my return.",
            )

    def _email_in(
        self,
        deal: Deal,
        at: int,
        subject: str,
        body: str,
        attachment: bool = False,
        milestone: str | None = None,
    ) -> None:
        self._email(deal, at, "in", "RECEIVED", subject, body, attachment, milestone)

    def _call(
        self,
        deal: Deal,
        at: int,
        direction: Direction,
        status: str,
        subject: str,
        body: str,
        milestone: str | None = None,
    ) -> None:
        rng = self._rng
        if status == "CONNECTED":
            duration = 120 + int(rng.lognormvariate(math.log(600), 0.6))
        elif status == "VOICEMAIL":
            duration = 20 + int(rng.random() * 40)
        else:
            duration = int(rng.random() * 25)
        self._new(
            deal,
            "call",
            at,
            at + duration + _MINUTE + int(rng.random() * 900),
            direction,
            status,
            subject,
            body,
            duration_s=duration,
            end_at=at + duration,
            milestone=milestone,
            manual=True,
        )

    def _meeting(
        self,
        deal: Deal,
        booked: int,
        start: int,
        outcome: str,
        title: str,
        milestone: str | None = None,
    ) -> None:
        rng = self._rng
        minutes = 30 if rng.random() < 0.5 else 60
        end = start + minutes * _MINUTE
        booked = min(booked, start - 3600)
        if outcome in ("CANCELED", "RESCHEDULED"):
            decided = booked + int(rng.random() * max(start - booked, 1))
        else:
            decided = end + 600 + int(rng.random() * 4 * 3600)
        self._new(
            deal,
            "meeting",
            start,
            booked,
            "out",
            outcome,
            f"{title}: {deal.account.name} / Brightwave",
            "Agenda: goals, current process, next steps.",
            end_at=end,
            duration_s=minutes * _MINUTE,
            edited_at=decided,
            milestone=milestone,
        )

    def _note(self, deal: Deal, at: int, title: str) -> None:
        self._new(
            deal,
            "note",
            at,
            at,
            "internal",
            "",
            title,
            f"{title}: discussed scope, timeline and stakeholders at {deal.account.name}.",
            manual=True,
        )

    def _task(self, deal: Deal, due: int, subject: str) -> None:
        rng = self._rng
        created = due - int(rng.random() * DAY)
        done = rng.random() < 0.8
        self._new(
            deal,
            "task",
            due,
            created,
            "internal",
            "COMPLETED" if done else "NOT_STARTED",
            f"{subject}: {deal.account.name}",
            "",
            edited_at=due + int(rng.random() * 2 * DAY) if done else None,
        )
