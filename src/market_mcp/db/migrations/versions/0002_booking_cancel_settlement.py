"""booking.cancel_settlement

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

What cancelling a booking did with its money ("credit": the vendor was credited; "release": an unpaid
order stopped charging for it), so restoring the booking can undo exactly that.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("booking") as batch:
        batch.add_column(sa.Column("cancel_settlement", sa.String(length=16), nullable=True))
        batch.create_check_constraint(
            "ck_booking_cancel_settlement", "cancel_settlement IS NULL OR cancel_settlement IN ('credit', 'release')"
        )


def downgrade() -> None:
    with op.batch_alter_table("booking") as batch:
        batch.drop_constraint("ck_booking_cancel_settlement", type_="check")
        batch.drop_column("cancel_settlement")
