"""site plans

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

A market's site plan (services/site.py): stalls (code, position and size in metres, facing, attributes) and
features drawn beside them; priced stall types and add-ons on the market, and whether auto-assignment keeps one
category out of neighbouring stalls; what a vendor needs of a stall; what an order's dates are priced as. A booking
holds a stall by its code in space_number, as before, so existing bookings and clients are unchanged; markets
without a plan or types keep their free-text spaces and flat fee.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _org_and_market() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "organization_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("market_id", sa.Integer(), sa.ForeignKey("market.id", ondelete="CASCADE"), nullable=False),
    ]


def _box() -> list[sa.Column]:
    return [sa.Column(name, sa.Float(), nullable=False) for name in ("x", "y", "width", "depth")]


def upgrade() -> None:
    # ADD COLUMN, not a batch copy: vendor_order keeps its dashboard triggers (migration 0012).
    op.add_column("market", sa.Column("stall_types", sa.JSON(), nullable=True))
    op.add_column("market", sa.Column("add_ons", sa.JSON(), nullable=True))
    op.add_column("market", sa.Column("separate_categories", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("vendor", sa.Column("needs", sa.JSON(), nullable=True))
    op.add_column("vendor_order", sa.Column("stall_type", sa.String(50), nullable=True))
    op.add_column("vendor_order", sa.Column("add_ons", sa.JSON(), nullable=True))
    op.create_table(
        "stall",
        *_org_and_market(),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("row_label", sa.String(20), nullable=False),
        sa.Column("stall_type", sa.String(50), nullable=True),
        *_box(),
        sa.Column("facing", sa.String(1), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.UniqueConstraint("market_id", "code", name="ux_stall_market_code"),
        sa.CheckConstraint("width > 0 AND depth > 0", name="ck_stall_size"),
        sa.CheckConstraint("facing IN ('N', 'E', 'S', 'W')", name="ck_stall_facing"),
    )
    op.create_index("ix_stall_org_market", "stall", ["organization_id", "market_id"])
    op.create_table(
        "site_feature",
        *_org_and_market(),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        *_box(),
    )
    op.create_index("ix_site_feature_market", "site_feature", ["market_id"])


def downgrade() -> None:
    op.drop_table("site_feature")
    op.drop_table("stall")
    for table, column in (
        ("vendor_order", "add_ons"),
        ("vendor_order", "stall_type"),
        ("vendor", "needs"),
        ("market", "separate_categories"),
        ("market", "add_ons"),
        ("market", "stall_types"),
    ):  # SQLite 3.35+: in place, triggers kept
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
