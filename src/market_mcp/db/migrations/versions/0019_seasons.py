"""seasons and standing bookings

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03

A market's seasons (a name, a first and a last day; names unique per market, and seasons of a market never
overlap: services/seasons.py checks that) and standing bookings: a vendor booked on every scheduled date of a
season (or every second week) from a first day, priced as create_order prices, active until ended. An order a
standing booking opened carries its id (a plain reference: standing bookings are ended, never deleted); orders
taken before this migration have none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(column: str, target: str) -> sa.Column:
    return sa.Column(column, sa.Integer(), sa.ForeignKey(f"{target}.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    # ADD COLUMN, not a batch copy: vendor_order keeps its dashboard triggers (migration 0012).
    op.add_column("vendor_order", sa.Column("standing_booking_id", sa.Integer(), nullable=True))
    op.create_index("ix_order_standing_booking", "vendor_order", ["standing_booking_id"])
    op.create_table(
        "season",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("organization_id", "organization"),
        _fk("market_id", "market"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("market_id", "name", name="ux_season_market_name"),
        sa.CheckConstraint("ends_on >= starts_on", name="ck_season_range"),
    )
    op.create_index("ix_season_org_market", "season", ["organization_id", "market_id", "starts_on"])
    op.create_table(
        "standing_booking",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("organization_id", "organization"),
        _fk("vendor_id", "vendor"),
        _fk("market_id", "market"),
        _fk("season_id", "season"),
        sa.Column("every_weeks", sa.Integer(), nullable=False),
        sa.Column("first_on", sa.Date(), nullable=False),
        sa.Column("stall_type", sa.String(50), nullable=True),
        sa.Column("add_ons", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("every_weeks IN (1, 2)", name="ck_standing_booking_every"),
        sa.CheckConstraint("status IN ('active', 'ended')", name="ck_standing_booking_status"),
    )
    op.create_index("ix_standing_booking_season", "standing_booking", ["season_id", "status"])
    op.create_index("ix_standing_booking_org_vendor", "standing_booking", ["organization_id", "vendor_id"])
    op.create_index(
        "ux_standing_booking_active",
        "standing_booking",
        ["season_id", "vendor_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_table("standing_booking")
    op.drop_table("season")
    op.drop_index("ix_order_standing_booking", table_name="vendor_order")
    op.execute("ALTER TABLE vendor_order DROP COLUMN standing_booking_id")  # SQLite 3.35+: in place, triggers kept
