"""The next step a deal is given: the milestone's method, revive-or-close when it has sat far
beyond the time nearly every deal there moved on, and nothing once it is closed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from app.services.kpis.queries import next_step
from app.services.kpis.snapshot import MilestoneInfo, ProcessInfo, Snapshot

PROCESS = ProcessInfo(
    1,
    "smb",
    "SMB",
    None,
    1,
    (
        MilestoneInfo(11, "reply", "Customer replied", 1, "says", "Next: book the discovery call."),
        MilestoneInfo(12, "meeting", "Meeting held", 2, "does", "Next: send the proposal."),
    ),
)


@dataclass
class _Model:
    """Deals leave `reply` within 10 days at the 80th percentile, 30 days at the 95th."""

    def stall_threshold(self, process: int | None, position: int, quantile: float = 0.8) -> float:
        return 10.0 if quantile == 0.8 else 30.0


@dataclass
class _Snapshot:
    model: _Model


SNAPSHOT = cast(Snapshot, _Snapshot(_Model()))


def test_a_deal_gets_its_milestones_method_while_stalled_within_the_usual_range() -> None:
    assert next_step(SNAPSHOT, PROCESS, 1, "open", 3.0) == "Next: book the discovery call."
    assert next_step(SNAPSHOT, PROCESS, 1, "open", 25.0) == "Next: book the discovery call."


def test_a_deal_far_beyond_the_usual_time_is_told_to_revive_or_close() -> None:
    step = next_step(SNAPSHOT, PROCESS, 1, "open", 321.0)
    assert step.startswith("No customer movement for 321 days, far beyond the 30 days")
    assert step.endswith(
        "revive it with a direct question to the decision-maker, or close it as lost."
    )


def test_a_closed_deal_has_no_next_step() -> None:
    assert next_step(SNAPSHOT, PROCESS, 2, "won", 400.0) == ""
    assert next_step(SNAPSHOT, PROCESS, 1, "lost", 3.0) == ""
