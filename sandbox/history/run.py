"""Run the generator: simulate, render both CRMs, write truth, manifest and summary.

    >>> from sandbox.history import build_params, generate
    >>> params = build_params(seed=1, size="small")
    >>> summary = generate(params, Path("/tmp/history"))  # doctest: +SKIP

Every deal is a pure function of (seed, index), so with `workers=2` a second process renders
the second half of the deals into a scratch folder whose rows are then appended to the first
half's files. The bytes written are the same as with one worker.
"""

from __future__ import annotations

import multiprocessing
import shutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

from sandbox.history.errors import GeneratorError
from sandbox.history.forms import FORMS
from sandbox.history.hubspot import HubSpotRenderer
from sandbox.history.hubspot_schema import forms_json, pipelines_json
from sandbox.history.params import GeneratorParams
from sandbox.history.salesforce import SalesforceRenderer
from sandbox.history.salesforce_schema import describe
from sandbox.history.simulation import Simulation
from sandbox.history.summary import SummaryBuilder
from sandbox.history.truth import TruthWriter, truth_of
from sandbox.history.writer import Export, prepare_output, write_json

__all__ = ["FORMAT", "Progress", "generate"]

FORMAT = "milestone-sync-export/1"
Progress = Callable[[int, int], None]
"""Called with (deals done, deals in total) every few hundred deals."""

_TICK = 256
_SCRATCH = ".second-half"  # one of writer.EXPORT_ENTRIES, so --force clears a leftover


@dataclass
class _Part:
    """What rendering one range of deals produced: row counts per file and the statistics."""

    counts: dict[tuple[str, str], tuple[int, int]]
    summary: SummaryBuilder

    def merge(self, other: _Part) -> None:
        for key, (base, future) in other.counts.items():
            mine = self.counts.get(key, (0, 0))
            self.counts[key] = (mine[0] + base, mine[1] + future)
        self.summary.merge(other.summary)


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
    total = Simulation(params).total()
    if workers <= 1 or total < 2:
        part = _render(params, out, 0, total, progress=progress)
        return _finish(params, out, part)
    split = total // 2
    scratch = out / _SCRATCH
    context = multiprocessing.get_context("spawn")
    done_there = context.Value("q", 0)
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_second_half, args=(params, str(scratch), split, total, sender, done_there)
    )
    child.start()
    sender.close()

    def both(done: int, _: int) -> None:
        if progress is not None:
            progress(done + done_there.value, total)

    try:
        part = _render(params, out, 0, split, progress=both)
        while not receiver.poll(0.2):
            both(split, total)
        try:
            result = receiver.recv()
        except EOFError:
            raise GeneratorError("the second rendering process died") from None
        if isinstance(result, str):
            raise GeneratorError(f"rendering the second half failed:\n{result}")
        _append_rows(scratch, out)
    finally:
        child.join()
        shutil.rmtree(scratch, ignore_errors=True)
    part.merge(result)
    both(split, total)
    return _finish(params, out, part)


def _render(
    params: GeneratorParams,
    out: Path,
    start: int,
    stop: int,
    *,
    progress: Progress | None = None,
) -> _Part:
    """Render deals `start .. stop-1` to both CRMs and the truth; the first range also writes
    the org (users, stages, owners)."""
    export = Export(out, params.now_t, params.future_until_t)
    sim = Simulation(params)
    sf = SalesforceRenderer(export, params)
    hs = HubSpotRenderer(export, params)
    truth = TruthWriter(out, params)
    summary = SummaryBuilder(params)
    until = params.future_until_t
    count = stop - start
    if progress is not None:
        progress(0, count)
    try:
        if start == 0:
            users = sim.org.users
            sf.users(users)
            sf.stages()
            hs.owners(users)
        for done, story in enumerate(sim.stories(start, stop), start=1):
            sf.story(story)
            hs.story(story)
            deal_truth = truth_of(story.deal, until)
            truth.deal(deal_truth)
            summary.add(deal_truth)
            if progress is not None and (done % _TICK == 0 or done == count):
                progress(done, count)
    finally:
        export.close()
        truth.close()
    counts = {key: (table.base_count, table.future_count) for key, table in export.tables.items()}
    return _Part(counts, summary)


def _second_half(
    params: GeneratorParams,
    scratch: str,
    start: int,
    stop: int,
    sender: Connection,
    done: Synchronized[int],
) -> None:
    def report(count: int, _: int) -> None:
        done.value = count

    try:
        sender.send(_render(params, Path(scratch), start, stop, progress=report))
    except BaseException:  # reported to the parent, which raises
        sender.send(traceback.format_exc())
    finally:
        sender.close()


def _append_rows(scratch: Path, out: Path) -> None:
    """Append every CSV of `scratch` (minus its header) to the same file under `out`."""
    for source in sorted(scratch.rglob("*.csv")):
        target = out / source.relative_to(scratch)
        with source.open("rb") as rows, target.open("ab") as into:
            rows.readline()
            shutil.copyfileobj(rows, into, 1 << 20)


_OBJECT_FILES = ("associations", "property_history")


def _finish(params: GeneratorParams, out: Path, part: _Part) -> dict[str, Any]:
    write_json(out / "salesforce" / "describe.json", describe())
    write_json(out / "hubspot" / "pipelines.json", pipelines_json(params.history_start_t))
    if params.forms:
        write_json(out / "hubspot" / "forms.json", forms_json(FORMS, params.history_start_t))
    write_json(out / "truth" / "parameters.json", params.to_json())
    write_json(out / "truth" / "scenario.json", params.market.truth())
    stamps = params.to_json()

    def counts(crm: str, future: bool) -> dict[str, int]:
        return {
            name: values[1 if future else 0]
            for (owner, name), values in part.counts.items()
            if owner == crm
        }

    salesforce, hubspot = counts("salesforce", False), counts("hubspot", False)
    manifest = {
        "format": FORMAT,
        "seed": params.seed,
        "size": params.size,
        "now": stamps["now"],
        "history_start": stamps["history_start"],
        "future_until": stamps["future_until"],
        "counts": {
            "salesforce": salesforce,
            "hubspot": {k: v for k, v in hubspot.items() if k not in _OBJECT_FILES},
        },
    }
    write_json(out / "manifest.json", manifest)
    result = part.summary.result(
        {
            "salesforce": salesforce,
            "hubspot": hubspot,
            "future": {
                "salesforce": counts("salesforce", True),
                "hubspot": counts("hubspot", True),
            },
        }
    )
    write_json(out / "summary.json", result)
    return result
