"""When a record's versions are stamped: shared by the Salesforce and HubSpot renderings."""

from __future__ import annotations

from connectors.generator.model import Deal

__all__ = ["deal_stamps", "version_stamps"]


def version_stamps(created: int, *later: int | None) -> list[int]:
    """The creation time, then each later change that comes after the one before it."""
    stamps = [created]
    for stamp in later:
        if stamp is not None and stamp > stamps[-1]:
            stamps.append(stamp)
    return stamps


def deal_stamps(deal: Deal) -> list[int]:
    """One version per CRM state of the deal, and a last one when it is deleted."""
    stamps = [state.at for state in deal.states]
    if deal.deleted_at is not None:
        stamps.append(max(deal.deleted_at, stamps[-1] + 1))
    return stamps
