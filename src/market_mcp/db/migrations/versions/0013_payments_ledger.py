"""payments ledger

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

A payment was a flag on its order (paid_at, payment_method, payment_reference), all of what was due at once. Now
every payment, refund and excess moved to credit is a row of `payment`, append-only (db/tables.py Payment), and
the order keeps their sums (amount_paid_cents, amount_refunded_cents) beside what is still due.

Orders paid before this migration get one payment row each, for what they paid (total − credit applied − still
due: a restored booking may have added to what is due since), by their recorded method and reference, received
on the day of paid_at in their organisation's timezone. Their totals do not change.

The dashboard's money taken is now the ledger's (payments less refunds paid out, by day received): its running
total moves from vendor_order's triggers to payment's (market_mcp.db.totals), rebuilt from the rows. A downgrade
leaves money taken out of the running totals.
"""

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from market_mcp.db import totals
from market_mcp.db.types import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METHODS = "'card', 'cash', 'bank_transfer', 'cheque', 'online', 'credit'"
PAID = "paid_at IS NOT NULL AND total_cents - credit_applied_cents - amount_due_cents > 0"


def upgrade() -> None:
    op.create_table(
        "payment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "organization_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("vendor_order.id", ondelete="CASCADE"), nullable=False),
        sa.Column("vendor_id", sa.Integer(), sa.ForeignKey("vendor.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("credit_id", sa.Integer(), sa.ForeignKey("credit.id", ondelete="SET NULL"), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('payment', 'refund', 'excess')", name="ck_payment_kind"),
        sa.CheckConstraint(f"method IN ({METHODS})", name="ck_payment_method"),
        sa.CheckConstraint("amount_cents > 0", name="ck_payment_money"),
    )
    op.create_index("ix_payment_org", "payment", ["organization_id", "id"])
    op.create_index("ix_payment_order", "payment", ["order_id", "id"])
    op.create_index("ix_payment_org_vendor", "payment", ["organization_id", "vendor_id", "id"])
    op.create_index("ix_payment_org_received", "payment", ["organization_id", "received_on"])
    # ADD COLUMN, not a batch copy: vendor_order keeps its dashboard triggers (migration 0012).
    for name in ("amount_paid_cents", "amount_refunded_cents"):
        op.add_column("vendor_order", sa.Column(name, sa.BigInteger(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE vendor_order SET amount_paid_cents = total_cents - credit_applied_cents - amount_due_cents "
        f"WHERE {PAID}"
    )
    day = "date(paid_at)" if op.get_bind().dialect.name == "sqlite" else "(paid_at AT TIME ZONE 'UTC')::date"
    op.execute(
        "INSERT INTO payment (organization_id, order_id, vendor_id, kind, amount_cents, method, "
        "reference, received_on, created_at) "
        "SELECT organization_id, id, vendor_id, 'payment', amount_paid_cents, "
        f"CASE WHEN payment_method IN ({METHODS}) THEN payment_method ELSE 'card' END, payment_reference, {day}, "
        f"paid_at FROM vendor_order WHERE {PAID} ORDER BY id"
    )
    _received_on_local_days()
    _totals(pg=op.get_bind().dialect.name != "sqlite", before=totals.BEFORE_LEDGER, after=totals.TABLES)


def _received_on_local_days() -> None:
    """The migrated payments' day received, on their organisation's calendar (SQLite has no time zones)."""
    bind = op.get_bind()
    zones = {
        org: ZoneInfo(zone or "UTC") for org, zone in bind.execute(sa.text("SELECT id, timezone FROM organization"))
    }
    payment = sa.table("payment", sa.column("id"), sa.column("organization_id"), sa.column("created_at", UTCDateTime()))
    days = [
        {"i": i, "day": moment.astimezone(zones[org]).date()}
        for i, org, moment in bind.execute(sa.select(payment.c.id, payment.c.organization_id, payment.c.created_at))
    ]
    if days:
        bind.execute(sa.text("UPDATE payment SET received_on = :day WHERE id = :i"), days)


def _totals(*, pg: bool, before: tuple[str, ...], after: tuple[str, ...]) -> None:
    """The dashboard's triggers and running totals, from those of the `before` tables to those of `after`."""
    for statement in totals.postgres_down(before) if pg else totals.sqlite_drop_triggers():
        op.execute(statement)
    for statement in totals.rebuild(pg=pg, tables=after):
        op.execute(statement)
    for statement in totals.postgres_up(after) if pg else totals.sqlite_triggers(after):
        op.execute(statement)


def downgrade() -> None:
    _totals(pg=op.get_bind().dialect.name != "sqlite", before=totals.TABLES, after=totals.BEFORE_LEDGER)
    for name in ("amount_refunded_cents", "amount_paid_cents"):  # SQLite 3.35+: in place, triggers kept
        op.execute(f"ALTER TABLE vendor_order DROP COLUMN {name}")
    op.drop_table("payment")
