"""Choosing streams in a peer's discovered catalog: the same objects this project syncs.

    singer_select(catalog, {"Task", "Event"})      # Singer: metadata breadcrumb [] selected
    airbyte_configure(catalog_message, {"deals"})  # Airbyte: a ConfiguredAirbyteCatalog

A user of the peer would do the same: discover, tick the streams, run. Selecting a stream keeps
the fields the peer selects by default (all of them, for every peer here); the comparison is of
the same objects, not of the same columns, and BENCHMARKS.md says so.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from typing import Any

__all__ = ["airbyte_configure", "singer_select"]


def singer_select(catalog: dict[str, Any], streams: Collection[str]) -> dict[str, Any]:
    """The catalog with `streams` selected (all their fields) and every other stream not."""
    chosen = copy.deepcopy(catalog)
    found = set()
    for entry in chosen["streams"]:
        name = entry.get("tap_stream_id") or entry["stream"]
        selected = name in streams
        found.update([name] if selected else [])
        for item in entry.setdefault("metadata", []):
            if item.get("breadcrumb") == []:
                item.setdefault("metadata", {})["selected"] = selected
                break
        else:
            entry["metadata"].append({"breadcrumb": [], "metadata": {"selected": selected}})
        if selected:
            entry["selected"] = True  # older Singer taps read the flag on the entry itself
        else:
            entry.pop("selected", None)
    missing = sorted(set(streams) - found)
    if missing:
        raise ValueError(f"the peer's catalog has no stream(s) {', '.join(missing)}")
    return chosen


def airbyte_configure(
    catalog: dict[str, Any], streams: Collection[str], *, incremental: bool = True
) -> dict[str, Any]:
    """A configured catalog reading `streams`, incrementally where the stream can be."""
    configured = []
    found = set()
    for stream in catalog["streams"]:
        if stream["name"] not in streams:
            continue
        found.add(stream["name"])
        modes = stream.get("supported_sync_modes", ["full_refresh"])
        mode = "incremental" if incremental and "incremental" in modes else "full_refresh"
        entry: dict[str, Any] = {
            "stream": stream,
            "sync_mode": mode,
            "destination_sync_mode": "append" if mode == "incremental" else "overwrite",
        }
        if mode == "incremental" and stream.get("default_cursor_field"):
            entry["cursor_field"] = stream["default_cursor_field"]
        if stream.get("source_defined_primary_key"):
            entry["primary_key"] = stream["source_defined_primary_key"]
        configured.append(entry)
    missing = sorted(set(streams) - found)
    if missing:
        raise ValueError(f"the peer's catalog has no stream(s) {', '.join(missing)}")
    return {"streams": configured}
