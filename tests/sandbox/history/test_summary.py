"""The summary tells counts, conversion, gaps and win rates, and agrees with the truth files."""

from __future__ import annotations

import json
from collections import Counter

from sandbox.history.summary import median_of
from tests.sandbox.history.conftest import Export


def test_summary_json_is_what_generate_returned(export: Export) -> None:
    written = json.loads((export.out / "summary.json").read_text())
    assert written == json.loads(json.dumps(export.summary))


def test_counts_agree_with_the_manifest_and_the_files(export: Export) -> None:
    manifest = json.loads((export.out / "manifest.json").read_text())
    counts = export.summary["counts"]
    assert counts["salesforce"] == manifest["counts"]["salesforce"]
    for name, count in manifest["counts"]["hubspot"].items():
        assert counts["hubspot"][name] == count
    assert counts["hubspot"]["associations"] == len(export.rows("hubspot/associations.csv"))
    future = counts["future"]["salesforce"]["Task"]
    assert future == len(export.rows("future/salesforce/Task.csv"))


def test_win_rates_and_reached_counts_agree_with_truth(export: Export) -> None:
    deals = export.rows("truth/deals.csv")
    for key, process in export.summary["processes"].items():
        mine = [d for d in deals if d["process"] == key]
        outcomes = Counter(d["outcome"] for d in mine)
        assert process["deals"] == len(mine)
        assert (process["won"], process["lost"], process["open"]) == (
            outcomes["won"],
            outcomes["lost"],
            outcomes["open"],
        )
        for step in process["steps"]:
            assert step["reached"] == sum(1 for d in mine if d[step["key"]])
            assert step["reached"] <= step["decided"]
    for name, segment in export.summary["segments"].items():
        assert segment["deals"] == sum(1 for d in deals if d["segment"] == name)


def test_median_of_a_histogram() -> None:
    assert median_of(Counter({1.0: 2, 5.0: 1})) == 1.0
    assert median_of(Counter({1.0: 1, 2.0: 1, 9.0: 2})) == 2.0
    assert median_of(Counter()) is None
