"""Run the generator: simulate, render both CRMs, write truth, manifest and summary.

    >>> from connectors.generator import build_params, generate
    >>> params = build_params(seed=1, size="small")
    >>> summary = generate(params, Path("/tmp/history"))  # doctest: +SKIP

With `workers=2` the HubSpot rendering runs in a second process that replays the same
simulation from the same seed (the simulation is cheap next to rendering); the bytes written
are the same as with one worker.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from connectors.generator.errors import GeneratorError
from connectors.generator.hubspot import HubSpotRenderer
from connectors.generator.hubspot_schema import pipelines_json
from connectors.generator.params import GeneratorParams
from connectors.generator.salesforce import SalesforceRenderer
from connectors.generator.salesforce_schema import describe
from connectors.generator.simulation import Simulation
from connectors.generator.summary import SummaryBuilder
from connectors.generator.truth import TruthWriter, truth_of
from connectors.generator.writer import Export, prepare_output, write_json

__all__ = ["FORMAT", "Progress", "generate"]

FORMAT = "milestone-sync-export/1"
Progress = Callable[[int, int], None]
"""Called with (deals done, deals in total) every few hundred deals."""

_TICK = 500


def generate(
    params: GeneratorParams,
    out: Path,
    *,
    force: bool = False,
    workers: int = 1,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the export to `out` and return the summary (also written to OUT/summary.json)."""
    prepare_output(out, force)
    if workers <= 1:
        sf_counts, hs_result = _render(
            params, out, salesforce=True, hubspot=True, progress=progress
        )
        assert hs_result is not None
        return _finish(params, out, sf_counts, hs_result)
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_hubspot_worker, args=(params, str(out), sender))
    child.start()
    sender.close()
    try:
        sf_counts, _ = _render(params, out, salesforce=True, hubspot=False, progress=progress)
        result = receiver.recv()
    finally:
        child.join()
    if isinstance(result, str):
        raise GeneratorError(f"HubSpot rendering failed:\n{result}")
    return _finish(params, out, sf_counts, result)


_Counts = tuple[dict[str, int], dict[str, int]]
_HubSpotResult = tuple[_Counts, SummaryBuilder]


def _render(
    params: GeneratorParams,
    out: Path,
    *,
    salesforce: bool,
    hubspot: bool,
    progress: Progress | None = None,
) -> tuple[_Counts, _HubSpotResult | None]:
    """Simulate once and render one or both CRMs; the HubSpot side also writes the truth."""
    export = Export(out, params.now_t, params.future_until_t)
    sim = Simulation(params)
    sf = SalesforceRenderer(export, params) if salesforce else None
    hs = HubSpotRenderer(export, params) if hubspot else None
    truth = TruthWriter(out, params) if hubspot else None
    summary = SummaryBuilder(params)
    until = params.future_until_t
    total = sim.total()
    if progress is not None:
        progress(0, total)
    try:
        users = sim.org.users
        if sf is not None:
            sf.users(users)
            sf.stages()
        if hs is not None:
            hs.owners(users)
        for done, story in enumerate(sim.stories(), start=1):
            if sf is not None:
                sf.story(story)
            if hs is not None and truth is not None:
                hs.story(story)
                deal_truth = truth_of(story.deal, until)
                truth.deal(deal_truth)
                summary.add(deal_truth)
            if progress is not None and (done % _TICK == 0 or done == total):
                progress(done, total)
    finally:
        export.close()
        if truth is not None:
            truth.close()
    sf_counts = (export.counts("salesforce"), export.counts("salesforce", future=True))
    if hs is None:
        return sf_counts, None
    hs_counts = (export.counts("hubspot"), export.counts("hubspot", future=True))
    return sf_counts, (hs_counts, summary)


def _hubspot_worker(params: GeneratorParams, out: str, sender: Connection) -> None:
    try:
        _, result = _render(params, Path(out), salesforce=False, hubspot=True)
        sender.send(result)
    except BaseException:  # reported to the parent, which raises
        sender.send(traceback.format_exc())
    finally:
        sender.close()


_OBJECT_FILES = ("associations", "property_history")


def _finish(
    params: GeneratorParams, out: Path, sf_counts: _Counts, hs_result: _HubSpotResult
) -> dict[str, Any]:
    (hubspot_counts, hubspot_future), summary = hs_result
    salesforce_counts, salesforce_future = sf_counts
    write_json(out / "salesforce" / "describe.json", describe())
    write_json(out / "hubspot" / "pipelines.json", pipelines_json(params.history_start_t))
    write_json(out / "truth" / "parameters.json", params.to_json())
    stamps = params.to_json()
    manifest = {
        "format": FORMAT,
        "seed": params.seed,
        "size": params.size,
        "now": stamps["now"],
        "history_start": stamps["history_start"],
        "future_until": stamps["future_until"],
        "counts": {
            "salesforce": salesforce_counts,
            "hubspot": {k: v for k, v in hubspot_counts.items() if k not in _OBJECT_FILES},
        },
    }
    write_json(out / "manifest.json", manifest)
    counts = {
        "salesforce": salesforce_counts,
        "hubspot": hubspot_counts,
        "future": {"salesforce": salesforce_future, "hubspot": hubspot_future},
    }
    result = summary.result(counts)
    write_json(out / "summary.json", result)
    return result
