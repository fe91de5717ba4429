"""A peer's discovered catalog is narrowed to this project's streams, as a user would tick them."""

from __future__ import annotations

from typing import Any

import pytest

from bench.peers.catalogs import airbyte_configure, singer_select


def test_singer_selects_the_streams_asked_for_and_no_other() -> None:
    catalog: dict[str, Any] = {
        "streams": [
            {"tap_stream_id": "Task", "stream": "Task", "metadata": [
                {"breadcrumb": [], "metadata": {"selected": False}}]},
            {"tap_stream_id": "Case", "stream": "Case", "metadata": [], "selected": True},
        ]
    }  # fmt: skip
    chosen = singer_select(catalog, {"Task"})
    task, case = chosen["streams"]
    assert task["metadata"][0]["metadata"]["selected"] is True and task["selected"] is True
    assert case["metadata"] == [{"breadcrumb": [], "metadata": {"selected": False}}]
    assert "selected" not in case
    assert catalog["streams"][0]["metadata"][0]["metadata"]["selected"] is False  # untouched


def test_airbyte_reads_incrementally_where_the_stream_can() -> None:
    catalog = {
        "streams": [
            {"name": "deals", "supported_sync_modes": ["full_refresh", "incremental"],
             "default_cursor_field": ["updatedAt"], "source_defined_primary_key": [["id"]]},
            {"name": "owners", "supported_sync_modes": ["full_refresh"]},
            {"name": "forms", "supported_sync_modes": ["full_refresh"]},
        ]
    }  # fmt: skip
    configured = airbyte_configure(catalog, {"deals", "owners"})["streams"]
    assert [(c["stream"]["name"], c["sync_mode"]) for c in configured] == [
        ("deals", "incremental"),
        ("owners", "full_refresh"),
    ]
    assert configured[0]["cursor_field"] == ["updatedAt"]
    assert configured[0]["primary_key"] == [["id"]]


def test_a_stream_the_peer_does_not_have_is_an_error() -> None:
    with pytest.raises(ValueError, match="EmailMessage"):
        singer_select({"streams": []}, {"EmailMessage"})
    with pytest.raises(ValueError, match="leads"):
        airbyte_configure({"streams": []}, {"leads"})
