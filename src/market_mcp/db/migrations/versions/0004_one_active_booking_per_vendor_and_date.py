"""one active booking per vendor and date

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

The check in create_order and restore_booking, made a guarantee: two calls racing cannot give a vendor two
pending or confirmed bookings on one market date.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("status IN ('pending', 'confirmed')")


def upgrade() -> None:
    op.create_index(
        "ux_booking_vendor_date",
        "booking",
        ["market_date_id", "vendor_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("ux_booking_vendor_date", table_name="booking")
