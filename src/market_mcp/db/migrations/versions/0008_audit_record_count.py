"""audit entries count every record a call changed

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

An audit entry keeps the first 1,000 records a call changed; a bulk cancellation with credits changes two a
booking, so the list alone could not say how many there were. record_count does (null on entries written
before it: their list is their count, since none of them reached the cut).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entry") as batch_op:
        batch_op.add_column(sa.Column("record_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_entry") as batch_op:
        batch_op.drop_column("record_count")
