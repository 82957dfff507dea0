"""payment links

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

Stripe payment links (optional, when MARKET_MCP_STRIPE_* are set): `payment_link`, the Checkout sessions made for
orders' amounts due, and `stripe_payment`, one row per Checkout session whose payment is on the ledger. Its unique
session id is what records a payment exactly once however often Stripe delivers the webhook.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "organization_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("vendor_order.id", ondelete="CASCADE"), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("session_id", name="ux_payment_link_session"),
    )
    op.create_index("ix_payment_link_order", "payment_link", ["organization_id", "order_id", "id"])
    op.create_table(
        "stripe_payment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "organization_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("payment_id", sa.Integer(), sa.ForeignKey("payment.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("session_id", name="ux_stripe_payment_session"),
    )


def downgrade() -> None:
    op.drop_table("stripe_payment")
    op.drop_index("ix_payment_link_order", table_name="payment_link")
    op.drop_table("payment_link")
