"""The selling organisation: reps with skill and tenure, in teams per segment, with managers.

Headcount follows the deal volume (`Process.deals_per_rep_year`). A few reps per segment are
there for the whole history, the rest join during it and some leave; a deal goes to a rep of its
segment who is employed on the day it is created.
"""

from __future__ import annotations

import math
from random import Random

from sandbox.history.clock import DAY
from sandbox.history.model import Rep
from sandbox.history.names import SELLER_DOMAIN, Names
from sandbox.history.params import GeneratorParams

__all__ = ["TEAM_SIZE", "Org"]

TEAM_SIZE = 8
REGIONS = ("North", "South", "East", "West", "Central", "DACH", "Nordics", "Benelux", "UK&I")
_ALWAYS_THERE = 3


class Org:
    def __init__(self, params: GeneratorParams, rng: Random, names: Names) -> None:
        self.reps: list[Rep] = []
        self.managers: list[Rep] = []
        self.by_segment: dict[str, list[Rep]] = {}
        years = params.history_days / 365.0
        start, now = params.history_start_t, params.now_t
        load: dict[str, float] = {}
        for process in params.processes:
            per_year = params.opportunities * process.share / years
            load[process.segment] = load.get(process.segment, 0.0) + (
                per_year / process.deals_per_rep_year
            )
        key = 0
        for segment in sorted(load):
            headcount = max(_ALWAYS_THERE, math.ceil(load[segment]))
            label = "Enterprise" if segment == "enterprise" else "SMB"
            members: list[Rep] = []
            teams = math.ceil(headcount / TEAM_SIZE)
            for team_index in range(teams):
                region = REGIONS[team_index % len(REGIONS)]
                suffix = "" if team_index < len(REGIONS) else f" {team_index // len(REGIONS) + 1}"
                team = f"{label} {region}{suffix}"
                key += 1
                first, last = names.person()
                manager = Rep(
                    key=key,
                    first_name=first,
                    last_name=last,
                    email=Names.email(first, last, SELLER_DOMAIN).replace("@", f"{key}@"),
                    team=team,
                    segment=segment,
                    skill=0.0,
                    hired_at=start - int((365 + rng.random() * 1500) * DAY),
                    left_at=None,
                    is_manager=True,
                )
                self.managers.append(manager)
                size = min(TEAM_SIZE, headcount - team_index * TEAM_SIZE)
                for _ in range(size):
                    key += 1
                    first, last = names.person()
                    veteran = len(members) < _ALWAYS_THERE or rng.random() < 0.7
                    if veteran:
                        hired = start - int(rng.random() * 4 * 365 * DAY)
                    else:
                        hired = start + int(rng.random() * (now - start))
                    left = None
                    if len(members) >= _ALWAYS_THERE and rng.random() < 0.12:
                        left_from = hired + 180 * DAY
                        if left_from < now:
                            left = left_from + int(rng.random() * (now - left_from))
                    skill = max(-1.0, min(1.0, rng.gauss(0.0, 0.45)))
                    rep = Rep(
                        key=key,
                        first_name=first,
                        last_name=last,
                        email=Names.email(first, last, SELLER_DOMAIN).replace("@", f"{key}@"),
                        team=team,
                        segment=segment,
                        skill=skill,
                        hired_at=hired,
                        left_at=left,
                        manager=manager,
                    )
                    members.append(rep)
            # Centre skill per segment: a segment's conversion matches its configured rates.
            mean_skill = sum(rep.skill for rep in members) / len(members)
            for rep in members:
                rep.skill = max(-1.0, min(1.0, rep.skill - mean_skill))
            self.by_segment[segment] = members
            self.reps.extend(members)

    @property
    def users(self) -> list[Rep]:
        """Everyone with a CRM login, in key order."""
        return sorted(self.reps + self.managers, key=lambda rep: rep.key)

    def pick(self, segment: str, at: int, rng: Random) -> Rep:
        """A rep of `segment` employed at `at` (the always-there reps guarantee one exists)."""
        members = self.by_segment[segment]
        for _ in range(12):
            rep = members[int(rng.random() * len(members))]
            if rep.hired_at <= at and (rep.left_at is None or at < rep.left_at):
                return rep
        return members[int(rng.random() * _ALWAYS_THERE)]

    @staticmethod
    def employed(rep: Rep, at: int) -> bool:
        return rep.hired_at <= at and (rep.left_at is None or at < rep.left_at)
