"""The KPI view's clock and its refresh from state changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from app.core.crypto import SecretBox
from app.core.database import Database
from app.models import Connection, OpportunityState, RawRecord, StreamCursor, SyncRun
from app.models.base import utcnow
from app.services.kpis.queries import Filters, opportunity_page
from app.services.kpis.rows import OpportunityKpis
from app.services.kpis.snapshot import Snapshot
from app.services.kpis.store import KpiStore
from app.services.state.clock import data_clock
from tests.support.kpi_world import build
from tests.support.waiting import wait_for
from tests.support.writeback_world import crm_world

HISTORY_END = datetime(2025, 7, 1, tzinfo=UTC)


def _connection(db: Database, kind: str, modified: datetime, synced: datetime) -> None:
    with db.session() as session:
        connection = Connection(name=f"crm-{kind}", kind=kind, credentials_sealed="-")
        session.add(connection)
        session.flush()
        session.add(StreamCursor(connection_id=connection.id, stream="Task", last_value=modified))
        for i, at in enumerate((modified - timedelta(days=3), modified)):
            session.add(
                RawRecord(
                    connection_id=connection.id,
                    stream="Task",
                    external_id=f"00T{i}",
                    modified_at=at,
                    payload={},
                    payload_hash="-",
                    synced_at=synced,
                )
            )


def test_the_clock_of_a_replayed_history_is_its_end_moving_on_with_real_time(
    db: Database,
) -> None:
    now = utcnow()
    _connection(db, "salesforce", HISTORY_END, now - timedelta(hours=1))
    with db.session() as session:
        clock = data_clock(session, "data", now)
        assert abs(clock - (HISTORY_END + timedelta(hours=1))) < timedelta(seconds=1)
        assert data_clock(session, "clock", now) == now
        assert data_clock(session, HISTORY_END, now) == HISTORY_END


def test_a_live_crm_runs_on_the_wall_clock_and_an_export_stops_where_it_was_taken(
    db: Database,
) -> None:
    now = utcnow()
    _connection(db, "export", HISTORY_END, now)
    with db.session() as session:
        assert data_clock(session, "data", now) == HISTORY_END
    _connection(db, "hubspot", now - timedelta(minutes=2), now - timedelta(minutes=1))
    with db.session() as session:
        assert now - data_clock(session, "data", now) < timedelta(minutes=2)


def test_without_raw_records_the_view_uses_the_wall_clock(db: Database) -> None:
    build(db)
    store = KpiStore(db)
    assert utcnow() - store.snapshot().as_of < timedelta(minutes=1)


def test_a_state_change_reaches_the_view_and_its_answers(db: Database) -> None:
    build(db)
    store = KpiStore(db, refresh_seconds=0.0)
    before = store.snapshot()
    assert before.info[1].name == "Deal 0"
    team_before = before.deals[1].team
    with db.session() as session:
        session.execute(
            update(OpportunityState)
            .where(OpportunityState.opportunity_id == 1)
            .values(team="West", updated_at=utcnow() + timedelta(seconds=1))
        )
    after = store.snapshot()
    assert after.generation > before.generation
    assert (team_before, after.deals[1].team) == ("North", "West")
    assert len(after.deals) == len(before.deals)


def test_a_fresh_snapshot_sees_a_change_made_within_the_refresh_interval(db: Database) -> None:
    build(db)
    store = KpiStore(db, refresh_seconds=3600.0)
    before = store.snapshot()
    with db.session() as session:
        session.execute(
            update(OpportunityState)
            .where(OpportunityState.opportunity_id == 1)
            .values(team="West", updated_at=utcnow() + timedelta(seconds=1))
        )
    assert store.snapshot() is before, "answers between refreshes come from memory"
    fresh = store.snapshot(fresh=True)  # what a write-back right after a pipeline pass asks
    assert fresh.deals[1].team == "West"


def test_a_past_view_is_cut_once_per_generation_and_never_sees_later_deals(db: Database) -> None:
    build(db)
    store = KpiStore(db, refresh_seconds=0.0)
    now = store.snapshot()
    moment = now.as_of - timedelta(days=200)
    past = store.at(moment)
    assert past.as_of == moment and past.generation == now.generation
    assert store.at(moment) is past, "kept for the generation"
    assert len(past.columns) < len(now.columns)
    assert (past.columns.created <= moment.timestamp()).all()
    assert not (past.columns.reach > moment.timestamp()).any()
    assert not (past.columns.closed > moment.timestamp()).any()
    with db.session() as session:
        session.execute(
            update(OpportunityState)
            .where(OpportunityState.opportunity_id == 1)
            .values(team="West", updated_at=utcnow() + timedelta(seconds=1))
        )
    assert store.snapshot().generation > now.generation
    assert store.at(moment) is not past, "a new generation is cut again"


def test_a_fixed_past_as_of_setting_serves_the_cut_view(db: Database) -> None:
    build(db)
    live = KpiStore(db).snapshot()
    moment = live.as_of - timedelta(days=100)
    fixed = KpiStore(db, as_of_setting=moment).snapshot()
    assert fixed.as_of == moment
    assert fixed.columns.key.tolist() == KpiStore(db).at(moment).columns.key.tolist()
    assert len(fixed.columns) < len(live.columns)


def _rows(snapshot: Snapshot | None) -> list[OpportunityKpis]:
    assert snapshot is not None
    return opportunity_page(snapshot, Filters(), outcome=None, limit=1000, after=0).data


def test_a_pass_that_only_moves_the_clock_refits_the_model_where_a_new_view_fits_it(
    db: Database, box: SecretBox, sales_history: Path
) -> None:
    """The model is censored at the view's instant: a view that only moved its instant
    (a sync that brought nothing new) would answer otherwise than one started then."""
    with crm_world(db, box, sales_history, "salesforce") as world:
        writing = world.store  # as write-back keeps it, never refitting on its own
        before = writing.snapshot(fresh=True)
        watching = KpiStore(db, background=True, watch_seconds=0.05).start()
        try:
            assert wait_for(lambda: watching.current is not None)
            with db.session() as session:
                connection_id = session.scalars(select(Connection.id)).one()
                finished = utcnow() + timedelta(days=5)  # the next pass, five quiet days on
                session.add(SyncRun(connection_id=connection_id, status="succeeded",
                                    finished_at=finished))  # fmt: skip
            written = writing.snapshot(fresh=True)
            started = KpiStore(db).snapshot()
            assert written.as_of == started.as_of > before.as_of + timedelta(days=4)
            assert _rows(written) == _rows(started)
            assert wait_for(lambda: _rows(watching.current) == _rows(started))
        finally:
            watching.stop()
