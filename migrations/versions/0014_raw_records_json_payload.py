"""raw_records.payload as `json` on PostgreSQL: stored as the text read, not parsed into jsonb

Revision ID: 0014_raw_records_json_payload
Revises: 0013_process_half_life
Create Date: 2026-12-05

Every synced record's payload was parsed into `jsonb` on the way in: a fifth of the server's
CPU per stored row (bench scale, raw part: 19.3 µs per row with `jsonb`, 15.3 with `json`).
Nothing queries a raw payload with an operator only `jsonb` has (no containment, no key-exists
test, no index on it): the payload is read whole, or one key of it with `->`, which `json`
has too. `json` keeps the canonical text the writer produced (sorted keys), which is also
what SQLite stores. The change rewrites the table once; the values stay the same documents.
SQLite stores JSON as text already.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_raw_records_json_payload"
down_revision: str | None = "0013_process_half_life"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE raw_records ALTER COLUMN payload TYPE json USING payload::json")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE raw_records ALTER COLUMN payload TYPE jsonb USING payload::jsonb")
