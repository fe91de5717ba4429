"""milestone events say from when their attribution holds (a deletion can move a record)

Every stored event is derived again on the next mapping pass (no CRM call): the mapping
cursors are cleared, so that events a deletion moved get their `attributed_from`.

Revision ID: 0010_event_attribution_eras
Revises: 0009_targets
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_event_attribution_eras"
down_revision: str | None = "0009_targets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("milestone_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attributed_from", sa.DateTime(timezone=True), nullable=True))
    op.execute("DELETE FROM mapping_cursors")


def downgrade() -> None:
    with op.batch_alter_table("milestone_events", schema=None) as batch_op:
        batch_op.drop_column("attributed_from")
