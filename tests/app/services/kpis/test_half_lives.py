"""Each process's recency half-life, as the view fits its model: set by ops on the process,
"auto" (chosen by backtest once per data generation), or the default; every answer built on
the view uses it and says which it used."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import update

from app.core.database import Database
from app.kpis.backtest import choose_half_life
from app.kpis.halflife import HalfLife
from app.models import Process
from app.services.kpis import halflives
from app.services.kpis.loader import load_processes
from app.services.kpis.queries import Filters, forecast_kpi, opportunity_row
from app.services.kpis.store import KpiStore
from app.services.mapping.rulesets import store_version
from mappings.schema import parse_ruleset
from tests.support.kpi_world import build


def _set(db: Database, process: int, value: str | None) -> None:
    with db.session() as session:
        session.execute(update(Process).where(Process.id == process).values(half_life_days=value))


def test_a_process_without_a_setting_uses_the_default(db: Database) -> None:
    ids = build(db)
    snapshot = KpiStore(db).snapshot()
    assert snapshot.half_lives == {ids["process"]: HalfLife(365.0, "default")}
    (used,) = forecast_kpi(snapshot, Filters(), 2).half_lives
    assert (used.process, used.half_life_days, used.why) == ("smb", 365.0, "default")


def test_the_half_life_ops_set_is_the_one_every_answer_uses(db: Database) -> None:
    ids = build(db)
    _set(db, ids["process"], "90")
    snapshot = KpiStore(db).snapshot()
    assert snapshot.half_lives == {ids["process"]: HalfLife(90.0, "set")}
    assert snapshot.derived.forecaster.half_life_days == {ids["process"]: 90.0}
    (used,) = forecast_kpi(snapshot, Filters(), 2).half_lives
    assert (used.half_life_days, used.why) == (90.0, "set")
    # The write-back's row of an open deal reads the same model as the view's rows.
    cols = snapshot.columns
    row = int(np.nonzero(cols.outcome == 0)[0][0])
    key = int(cols.key[row])
    process = snapshot.processes[ids["process"]]
    written = opportunity_row(
        snapshot, snapshot.deals[key], snapshot.info[key], process, snapshot.as_of
    )
    assert written.win_probability == pytest.approx(float(snapshot.derived.win[row]), abs=1e-4)
    _set(db, ids["process"], "none")
    assert KpiStore(db).snapshot().half_lives == {ids["process"]: HalfLife(None, "set")}


def test_auto_is_chosen_by_backtest_once_per_data_generation(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = build(db)
    _set(db, ids["process"], "auto")
    calls: list[int] = []

    def counted(*args: object, **kwargs: object) -> float | None:
        calls.append(1)
        return choose_half_life(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(halflives, "choose_half_life", counted)
    store = KpiStore(db)
    snapshot = store.snapshot()
    deals = [d for d in snapshot.deals.values() if d.process == ids["process"]]
    want = choose_half_life(deals, snapshot.as_of, selected={d.key for d in deals})
    assert snapshot.half_lives == {ids["process"]: HalfLife(want, "auto")}
    assert snapshot.derived.forecaster.half_life_days == {ids["process"]: want}
    # A refit on the same data does not choose again.
    store.snapshot(fresh=True)
    assert store.snapshot().half_lives == snapshot.half_lives
    assert len(calls) == 1


def test_the_half_life_written_in_the_ruleset_is_stored_and_read_with_the_process(
    db: Database,
) -> None:
    text = """\
name: x
source: salesforce
processes:
  - key: fast
    name: Fast
    half_life_days: 120
    milestones: &steps
      - key: m
        name: M
        kind: writes
        guidance: Next step.
        rules:
          - stream: EmailMessage
            when: {Incoming: true}
            occurred_at: MessageDate
  - key: chosen
    name: Chosen
    half_life_days: auto
    milestones: *steps
  - key: plain
    name: Plain
    milestones: *steps
"""
    ruleset, problems = parse_ruleset(text, "rules.yaml")
    assert ruleset is not None, problems
    with db.session() as session:
        version = store_version(session, ruleset, text)
        session.flush()
        loaded = load_processes(session, {version.id})
    settings = {p.key: p.half_life_days for p in loaded.values()}
    assert settings == {"fast": 120.0, "chosen": "auto", "plain": None}
