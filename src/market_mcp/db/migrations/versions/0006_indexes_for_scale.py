"""indexes for scale

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

What bench/ found at 300,000 bookings: a vendor's booking count fell back on every confirmed booking of the
organisation, and a vendor's balance every live credit of it (now both indexes lead with the vendor and name
the organisation, so they win with or without statistics), money taken this month scanned every order, and
every approval's credit expiry walked every credit that ever expired.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXPIRING = sa.text("remaining_cents > 0 AND deleted_at IS NULL")


def upgrade() -> None:
    op.drop_index("ix_booking_vendor", table_name="booking")
    op.create_index("ix_booking_vendor_status", "booking", ["vendor_id", "organization_id", "status"])
    op.create_index("ix_order_org_paid", "vendor_order", ["organization_id", "paid_at"])
    op.drop_index("ix_credit_vendor", table_name="credit")
    op.create_index("ix_credit_vendor_org", "credit", ["vendor_id", "organization_id", "expires_at"])
    op.create_index(
        "ix_credit_expiring",
        "credit",
        ["organization_id", "expires_at"],
        sqlite_where=EXPIRING,
        postgresql_where=EXPIRING,
    )


def downgrade() -> None:
    op.drop_index("ix_credit_expiring", table_name="credit")
    op.drop_index("ix_credit_vendor_org", table_name="credit")
    op.create_index("ix_credit_vendor", "credit", ["vendor_id", "expires_at"])
    op.drop_index("ix_order_org_paid", table_name="vendor_order")
    op.drop_index("ix_booking_vendor_status", table_name="booking")
    op.create_index("ix_booking_vendor", "booking", ["vendor_id"])
