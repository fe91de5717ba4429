"""How a HubSpot answer pages: its `results` list and the `paging.next.after` token.

objects = results(body, "emails list")      # MalformedResponse when there is no list
after = next_after(body)                     # None on the last page
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.core import MalformedResponse

__all__ = ["next_after", "results"]


def results(body: Mapping[str, Any], what: str) -> list[Any]:
    found = body.get("results")
    if not isinstance(found, list):
        raise MalformedResponse(f"HubSpot {what} answer has no 'results' list: {str(body)[:200]}")
    return found


def next_after(body: Mapping[str, Any]) -> str | None:
    paging = body.get("paging")
    following = paging.get("next") if isinstance(paging, dict) else None
    after = following.get("after") if isinstance(following, dict) else None
    return str(after) if after not in (None, "") else None
