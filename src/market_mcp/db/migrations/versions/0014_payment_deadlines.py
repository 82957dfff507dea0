"""payment deadlines

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

A market's payment terms (services/deadlines.py): payment_due_days after approval, payment_due_days_before its
first date, release_unpaid at the deadline, and the days before it that reminders go out. An approved order keeps
its deadline (payment_due_on); payment_reminder records each rung of the ladder an order has reached, once.
Existing markets have no terms and existing orders no deadline, so nothing changes for them until terms are set.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN, not a batch copy: vendor_order keeps its dashboard triggers (migration 0012).
    op.add_column("market", sa.Column("payment_due_days", sa.Integer(), nullable=True))
    op.add_column("market", sa.Column("payment_due_days_before", sa.Integer(), nullable=True))
    op.add_column("market", sa.Column("release_unpaid", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("market", sa.Column("payment_reminders", sa.JSON(), nullable=True))
    op.add_column("vendor_order", sa.Column("payment_due_on", sa.Date(), nullable=True))
    op.create_index("ix_order_org_due", "vendor_order", ["organization_id", "status", "payment_due_on"])
    op.create_table(
        "payment_reminder",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "organization_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("vendor_order.id", ondelete="CASCADE"), nullable=False),
        sa.Column("days_before_due", sa.Integer(), nullable=False),
        sa.Column("email_id", sa.Integer(), sa.ForeignKey("email.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("order_id", "days_before_due", name="ux_payment_reminder_rung"),
    )


def downgrade() -> None:
    op.drop_table("payment_reminder")
    op.drop_index("ix_order_org_due", "vendor_order")
    for table, column in (
        ("vendor_order", "payment_due_on"),
        ("market", "payment_reminders"),
        ("market", "release_unpaid"),
        ("market", "payment_due_days_before"),
        ("market", "payment_due_days"),
    ):  # SQLite 3.35+: in place, triggers kept
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
