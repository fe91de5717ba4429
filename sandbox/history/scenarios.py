"""Market changes: one thing about the business changes at a date in the middle of the history.

A forecast learnt from history is only as good as history is a guide to what comes next. Each
scenario changes one thing on `GeneratorParams.change_t` (midnight of the middle day of the
history) and keeps it changed up to the horizon:

- `steady`: nothing (the default; the same bytes as before scenarios existed);
- `lead_flow_stops`: no new deal is created from then on;
- `lead_flow_doubles`: twice as many new deals a day;
- `conversion_drop`: the chance of reaching `proposal_requested` (the mid-process milestone of
  every process) falls by 40 % for deals that reach the milestone before it on or after then;
- `velocity_halves`: every gap between milestones that starts on or after then doubles;
- `strong_seasonality`: the monthly inflow weights swing four times as far from 1.

What changed, and when, is ground truth: `truth/scenario.json`, `truth/parameters.json` and
the summary say it; the product sees only the CRM records.

    >>> market = Market(SCENARIOS["conversion_drop"], change_t=1_700_000_000)
    >>> market.probability("proposal_requested", 0.75, 1_700_000_001)
    0.45
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.history.clock import format_datetime

__all__ = ["SCENARIOS", "STEADY", "Market", "Scenario"]


@dataclass(frozen=True)
class Scenario:
    """One market change; factors of 1.0 (and no `monthly`) change nothing."""

    name: str
    description: str
    inflow_factor: float = 1.0
    """New deals per day from the change on, relative to before."""
    monthly: tuple[float, ...] | None = None
    """Monthly inflow weights (Jan..Dec) from the change on, instead of the configured ones."""
    step: str | None = None
    """The milestone whose probability changes."""
    step_factor: float = 1.0
    gap_factor: float = 1.0
    """Gaps between milestones (business days) that start from the change on, relative."""


STEADY = Scenario("steady", "Nothing changes: the market of the whole history is the same.")

_STRONG_MONTHLY = (1.2, 1.0, 1.4, 1.2, 1.0, 0.8, 0.4, 0.2, 1.4, 1.6, 1.4, 0.2)
"""1 + 4 * (w - 1) of the default weights, floored at 0.2."""

SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        STEADY,
        Scenario(
            "lead_flow_stops",
            "Lead flow stops: no new deal is created from the change date on.",
            inflow_factor=0.0,
        ),
        Scenario(
            "lead_flow_doubles",
            "Lead flow doubles: twice as many new deals a day from the change date on.",
            inflow_factor=2.0,
        ),
        Scenario(
            "conversion_drop",
            "Conversion at proposal_requested (the mid-process milestone) falls by 40 % for "
            "deals that reach the milestone before it on or after the change date.",
            step="proposal_requested",
            step_factor=0.6,
        ),
        Scenario(
            "velocity_halves",
            "Velocity halves: every gap between milestones that starts on or after the change "
            "date takes twice as long.",
            gap_factor=2.0,
        ),
        Scenario(
            "strong_seasonality",
            "Strong seasonality: from the change date on, the monthly inflow weights swing four "
            "times as far from 1 (August and December at 0.2, October at 1.6).",
            monthly=_STRONG_MONTHLY,
        ),
    )
}


@dataclass(frozen=True)
class Market:
    """A scenario bound to its change instant: what the simulation asks at each moment."""

    scenario: Scenario
    change_t: int

    def changed(self, t: int) -> bool:
        return t >= self.change_t

    def inflow(self, t: int, monthly: tuple[float, ...], month: int) -> float:
        """The inflow weight of a business day at `t` in `month` (1..12), before growth."""
        if not self.changed(t):
            return monthly[month - 1]
        weights = self.scenario.monthly or monthly
        return weights[month - 1] * self.scenario.inflow_factor

    def probability(self, step: str, p: float, previous_at: int) -> float:
        """The chance of reaching `step` for a deal that reached the one before at
        `previous_at` (or was created then)."""
        if self.scenario.step == step and self.changed(previous_at):
            return round(p * self.scenario.step_factor, 12)
        return p

    def gap(self, days: float, starts_at: int) -> float:
        return days * self.scenario.gap_factor if self.changed(starts_at) else days

    def truth(self) -> dict[str, object]:
        """What `truth/scenario.json` says."""
        s = self.scenario
        return {
            "scenario": s.name,
            "description": s.description,
            "changes_at": format_datetime(self.change_t),
            "inflow_factor": s.inflow_factor,
            "monthly_after": list(s.monthly) if s.monthly else None,
            "step": s.step,
            "step_factor": s.step_factor,
            "gap_factor": s.gap_factor,
        }
