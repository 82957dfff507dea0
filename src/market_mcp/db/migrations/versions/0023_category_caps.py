"""category caps

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03

A market's caps on categories of vendor (services/caps.py): at most N of a category approved and booked on a date,
optionally overridden for one date, and mix goals ("at least N produce") that are shown, never enforced. Existing
markets have no rules, so nothing they do changes until set_category_caps sets some.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "category_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "organization_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("market_id", sa.Integer(), sa.ForeignKey("market.id", ondelete="CASCADE"), nullable=False),
        sa.Column("market_date_id", sa.Integer(), sa.ForeignKey("market_date.id", ondelete="CASCADE"), nullable=True),
        sa.Column("category", sa.String(50), nullable=False),
        sa.Column("category_key", sa.String(200), nullable=False),
        sa.Column("max_vendors", sa.Integer(), nullable=True),
        sa.Column("min_vendors", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("max_vendors IS NULL OR max_vendors >= 0", name="ck_category_rule_max"),
        sa.CheckConstraint("min_vendors IS NULL OR min_vendors >= 1", name="ck_category_rule_min"),
    )
    op.create_index("ix_category_rule_market", "category_rule", ["organization_id", "market_id", "market_date_id"])
    op.create_index("ix_category_rule_date", "category_rule", ["market_date_id"])


def downgrade() -> None:
    op.drop_table("category_rule")
