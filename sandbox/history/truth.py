"""Ground truth beside the CRM data: what really happened to every deal, for tests and scoring.

`truth/deals.csv` has one row per real deal (junk duplicates are not deals) with the true time
of each milestone step, the outcome and the final amount, all as of `future_until` (the end of
the generated data). `truth/milestones.csv` names the evidence record of each milestone in both
CRMs. Nothing here is visible to the product; it only scores it.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Any

from sandbox.history import hubspot, salesforce
from sandbox.history.clock import format_datetime
from sandbox.history.model import Deal
from sandbox.history.params import GeneratorParams

__all__ = ["STEP_KEYS", "DealTruth", "TruthWriter", "truth_of"]

STEP_KEYS = (
    "reply",
    "meeting_held",
    "requirements_sent",
    "proposal_requested",
    "verbal_yes",
    "signed",
)
DEAL_COLUMNS = (
    "deal_key",
    "salesforce_opportunity_id",
    "hubspot_deal_id",
    "segment",
    "process",
    "owner",
    "owner_salesforce_id",
    "owner_hubspot_id",
    "team",
    "created_at",
    *STEP_KEYS,
    "dropped_at",
    "outcome",
    "closed_at",
    "amount",
)
MILESTONE_COLUMNS = (
    "deal_key",
    "step",
    "kind",
    "occurred_at",
    "salesforce_object",
    "salesforce_id",
    "hubspot_object",
    "hubspot_id",
)


class DealTruth:
    """A deal as it stands at the horizon: milestones reached, drop, outcome, amount."""

    __slots__ = ("amount", "closed_at", "deal", "dropped_at", "milestones", "outcome")

    def __init__(self, deal: Deal, until: int) -> None:
        self.deal = deal
        self.outcome: str
        self.closed_at: int | None
        self.milestones = {k: t for k, t in deal.milestones.items() if t <= until}
        dropped = deal.dropped_at
        self.dropped_at = dropped if dropped is not None and dropped <= until else None
        closed = deal.closed_at
        if closed is not None and closed <= until:
            self.outcome, self.closed_at = deal.outcome, closed
        else:
            self.outcome, self.closed_at = "open", None
        amount = deal.states[0].amount
        for state in deal.states:
            if state.at > until:
                break
            amount = state.amount
        if self.outcome == "won":
            amount = deal.states[-1].amount
        self.amount = amount


def truth_of(deal: Deal, until: int) -> DealTruth:
    return DealTruth(deal, until)


def _t(value: int | None) -> str:
    return format_datetime(value) if value is not None else ""


class TruthWriter:
    def __init__(self, out: Path, params: GeneratorParams) -> None:
        folder = out / "truth"
        folder.mkdir(parents=True, exist_ok=True)
        self._until = params.future_until_t
        self._files: list[IO[str]] = []
        self._deals = self._open(folder / "deals.csv", DEAL_COLUMNS)
        self._milestones = self._open(folder / "milestones.csv", MILESTONE_COLUMNS)
        self.count = 0

    def _open(self, path: Path, header: tuple[str, ...]) -> Any:
        handle = path.open("w", encoding="utf-8", newline="", buffering=1 << 20)
        self._files.append(handle)
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        return writer

    def deal(self, truth: DealTruth) -> None:
        deal = truth.deal
        owner = deal.owner
        self.count += 1
        self._deals.writerow(
            (
                str(deal.key),
                salesforce.opportunity_id(deal),
                hubspot.deal_id(deal),
                deal.account.segment,
                deal.process.key,
                f"rep-{owner.key:04d}",
                salesforce.user_id(owner),
                hubspot.owner_id(owner),
                owner.team,
                format_datetime(deal.created_at),
                *(_t(truth.milestones.get(key)) for key in STEP_KEYS),
                _t(truth.dropped_at),
                truth.outcome,
                _t(truth.closed_at),
                f"{truth.amount:.0f}",
            )
        )
        kinds = {step.key: step.kind for step in deal.process.steps}
        for activity in deal.activities:
            step = activity.milestone
            if step is None or step not in truth.milestones:
                continue
            sf_object, sf_id = salesforce.evidence(activity)
            hs_object, hs_id = hubspot.engagement(activity)
            self._milestones.writerow(
                (
                    str(deal.key),
                    step,
                    kinds[step],
                    format_datetime(activity.occurred_at),
                    sf_object,
                    sf_id,
                    hs_object,
                    hs_id,
                )
            )

    def close(self) -> None:
        for handle in self._files:
            handle.close()
