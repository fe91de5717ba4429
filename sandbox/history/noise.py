"""How activities land in a CRM: late, on the wrong record, twice, edited, deleted.

Applied to a deal's activities after its story is simulated. Milestone evidence can be logged
late, linked to the contact or account only, or logged twice, but is never deleted: the truth
must stay recoverable from the data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from random import Random

from sandbox.history.clock import DAY
from sandbox.history.model import Activity
from sandbox.history.params import Noise

__all__ = ["NEW_REP_DAYS", "apply_logging_noise"]

NEW_REP_DAYS = 180


def apply_logging_noise(
    activities: list[Activity], rng: Random, noise: Noise, next_key: Callable[[], int]
) -> None:
    """Mutates `activities` in place (and appends duplicates)."""
    late_median = math.log(noise.late_logging_median_days)
    extra: list[Activity] = []
    for activity in activities:
        if activity.manual:
            new_rep = activity.occurred_at - activity.owner.hired_at < NEW_REP_DAYS * DAY
            rate = noise.late_logging_new_rep if new_rep else noise.late_logging
            if rng.random() < rate:
                delay = rng.lognormvariate(late_median, 0.8) * DAY
                activity.logged_at = max(activity.logged_at, activity.occurred_at + int(delay))
        draw = rng.random()
        if activity.deal is not None:
            if draw < noise.contact_only:
                activity.link = "contact"
            elif draw < noise.contact_only + noise.account_only:
                activity.link = "account"
                activity.contact = None
        if activity.edited_at is None and rng.random() < noise.edit:
            activity.edited_at = activity.logged_at + 3600 + int(rng.random() * 5 * DAY)
            activity.edit_note = " (edited)"
        last = activity.edited_at or activity.logged_at
        if activity.milestone is None and rng.random() < noise.delete:
            activity.deleted_at = last + DAY + int(rng.random() * 30 * DAY)
        if rng.random() < noise.duplicate:
            logged = activity.logged_at + 60 + int(rng.random() * 7200)
            edited = activity.edited_at
            copy = replace(
                activity,
                key=next_key(),
                logged_at=logged,
                milestone=None,
                edited_at=None if edited is None else max(edited, logged + 60),
                deleted_at=None,
            )
            if rng.random() < 0.5:
                copy.deleted_at = copy.logged_at + DAY + int(rng.random() * 10 * DAY)
            extra.append(copy)
    activities.extend(extra)
