"""dashboard totals

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

The dashboard's counts and sums read every pending application, unpaid order, vendor, market date and this
month's payments of the organisation, and "unpaid with a market in the next 7 days" joined the week's bookings
to their orders: all of them grew with the organisation. Now they read running totals: `org_total` (figure,
bucket, value per organisation) and `unpaid_link` (each unpaid order's trading days), kept by triggers on the
counted tables (SQLite triggers; PostgreSQL plpgsql trigger functions), described in market_mcp.db.totals, and
filled here from the rows there are. Open waitlist offers get an index on (organisation, status, expiry).

A later migration that copies one of the counted tables (a batch ALTER on SQLite) drops its triggers and must
create them again (market_mcp.db.totals.sqlite_triggers).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from market_mcp.db import totals

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "org_total",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "organization_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("bucket", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_org_total_figure", "org_total", ["organization_id", "name", "bucket"])
    op.create_table(
        "unpaid_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "organization_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("prev_day", sa.Date(), nullable=True),
    )
    op.create_index("ix_unpaid_link_order", "unpaid_link", ["order_id"])
    op.create_index("ix_waitlist_org_offer", "waitlist_entry", ["organization_id", "status", "offer_expires_at"])
    pg = op.get_bind().dialect.name != "sqlite"
    tables = totals.BEFORE_LEDGER  # the payments ledger's figure comes with its table (0013)
    for statement in totals.rebuild(pg=pg, tables=tables):
        op.execute(statement)
    for statement in totals.postgres_up(tables) if pg else totals.sqlite_triggers(tables):
        op.execute(statement)


def downgrade() -> None:
    pg = op.get_bind().dialect.name != "sqlite"
    for statement in totals.postgres_down(totals.BEFORE_LEDGER) if pg else totals.sqlite_drop_triggers():
        op.execute(statement)
    op.drop_index("ix_waitlist_org_offer", table_name="waitlist_entry")
    op.drop_table("unpaid_link")
    op.drop_table("org_total")
