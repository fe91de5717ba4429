"""raw_records at scale: vacuum and analyse by a small share of the table, on PostgreSQL

Revision ID: 0011_raw_records_scale
Revises: 0010_event_attribution_eras
Create Date: 2026-12-05

raw_records is the one table that reaches tens of millions of rows. PostgreSQL's defaults
wait for 20 % of a table to be dead before vacuuming it and 10 % to change before analysing
it: at 10M rows, 2M dead versions of re-synced records, and statistics that lag a first load
by a million rows (a join planned while the statistics said a stream held one row hashed the
whole stream for every page). Fixed counts instead: vacuum after ~100,000 dead rows,
analyse after ~50,000 changes, and vacuum after inserts too, so that a first load's pages
are marked all-visible for the mapping runs' index-only reads. SQLite has no such settings.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_raw_records_scale"
down_revision: str | None = "0010_event_attribution_eras"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTINGS = {
    "autovacuum_vacuum_scale_factor": "0",
    "autovacuum_vacuum_threshold": "100000",
    "autovacuum_analyze_scale_factor": "0",
    "autovacuum_analyze_threshold": "50000",
    "autovacuum_vacuum_insert_scale_factor": "0",
    "autovacuum_vacuum_insert_threshold": "200000",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    values = ", ".join(f"{name} = {value}" for name, value in SETTINGS.items())
    op.execute(f"ALTER TABLE raw_records SET ({values})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE raw_records RESET ({', '.join(SETTINGS)})")
