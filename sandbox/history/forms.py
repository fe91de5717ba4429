"""Website forms the deals' contacts fill in (`--forms`): HubSpot keeps every submission.

Four forms, each with its own habit:

- Request a demo: 50 % of the deals from web search, 10 % of the others, up to two days
  before the deal is created (says nothing about winning);
- Contact us: 8 % of the deals, any time while the deal is open (nothing);
- Pricing inquiry: after the meeting is held, before the next step (or the drop), in 55 % of
  the deals that go on to be won and 8 % of the others (predicts winning);
- Newsletter sign-up: 6 % of the deals, from a month before the deal to a month after it
  ends (nothing).

Drawn from a random stream of their own, so the deals, their paths and outcomes, and every other
record are the same with or without forms. A submission never comes before its contact exists.
"""

from __future__ import annotations

import uuid
from random import Random

from sandbox.history.clock import DAY, add_business_days
from sandbox.history.journey import Fate
from sandbox.history.model import Deal, Form, FormSubmission

__all__ = ["CONTACT_US", "DEMO", "FORMS", "NEWSLETTER", "PRICING", "submissions"]

DEMO = Form("3c1b7a52-0d4e-4f0a-9c55-2b8f6e1d7a10", "Request a demo", "/demo")
CONTACT_US = Form("8e2f4c19-6a3b-4d7e-b1f0-5c9a2d4e8b21", "Contact us", "/contact")
PRICING = Form("b5d03e87-1f2c-4a96-8e4b-7d6c1a9f3e32", "Pricing inquiry", "/pricing")
NEWSLETTER = Form("f1a9c6d4-3e7b-4c28-a5d2-9b0e4f7c6a43", "Newsletter sign-up", "/blog")
FORMS: tuple[Form, ...] = (DEMO, CONTACT_US, PRICING, NEWSLETTER)

_DEMO_WEB, _DEMO_OTHER = 0.5, 0.1
_CONTACT_US = 0.08
_PRICING_WON, _PRICING_OTHER = 0.55, 0.08
_NEWSLETTER = 0.06
_OPEN_SPAN = 60 * DAY  # how long an open deal's "while open" lasts, for contact-us requests


def submissions(deal: Deal, fate: Fate, rng: Random) -> list[FormSubmission]:
    """The form submissions of one deal's contacts, in the order they are drawn."""
    found: list[FormSubmission] = []

    def submit(form: Form, at: int) -> None:
        contact = deal.contacts[int(rng.random() * len(deal.contacts))]
        moment = max(at, contact.created_at)
        found.append(
            FormSubmission(
                str(uuid.UUID(int=rng.getrandbits(128), version=4)), form, contact, moment
            )
        )

    created = deal.created_at
    ended = deal.closed_at if deal.closed_at is not None else created + _OPEN_SPAN
    demo = _DEMO_WEB if deal.source == "Web" else _DEMO_OTHER
    if rng.random() < demo:
        submit(DEMO, created - int(rng.random() * 2 * DAY))
    if rng.random() < _CONTACT_US:
        submit(CONTACT_US, created + int(rng.random() * max(ended - created, DAY)))
    held = next((i for i, s in enumerate(deal.process.steps) if s.key == "meeting_held"), -1)
    pricing = _PRICING_WON if deal.outcome == "won" else _PRICING_OTHER
    if 0 <= held < len(fate) and fate[held][1] and rng.random() < pricing:
        start = fate[held][0]
        following = fate[held + 1][0] if held + 1 < len(fate) else start + 10 * DAY
        gap = max(following - start, DAY)
        submit(PRICING, add_business_days(start, 0.1) + int((0.1 + 0.6 * rng.random()) * gap))
    if rng.random() < _NEWSLETTER:
        span = ended - created + 60 * DAY
        submit(NEWSLETTER, created - 30 * DAY + int(rng.random() * span))
    return found
