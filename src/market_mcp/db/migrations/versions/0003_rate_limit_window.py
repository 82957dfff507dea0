"""rate_limit_window

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

A per-token, per-minute call counter in the database, so replicas can share one rate limit.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import market_mcp.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_window",
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("window_start", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["token_id"], ["api_token.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_id", "window_start"),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_window")
