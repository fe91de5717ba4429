"""When a record's versions are stamped: shared by the Salesforce and HubSpot renderings."""

from __future__ import annotations

from sandbox.history.model import Activity, Deal

__all__ = ["body_at", "deal_stamps", "edited_second", "version_stamps"]


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


def edited_second(activity: Activity, stamps: list[int]) -> bool:
    """Whether the activity's second version is its edit (and not its deletion)."""
    return activity.edited_at is not None and len(stamps) > 1 and stamps[1] == activity.edited_at


def body_at(activity: Activity, edited: bool, version: int) -> str:
    """The activity's body in a version: with its edit note from an edit's version on."""
    if activity.edit_note and edited and version >= 1:
        return activity.body + activity.edit_note
    return activity.body
