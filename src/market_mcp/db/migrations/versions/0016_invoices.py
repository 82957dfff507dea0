"""invoices and receipts

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03

An organisation's invoice details (legal name, tax number, tax rate and label: amounts are tax-inclusive) and two
counters, the last invoice and the last receipt number it issued. An order gets its invoice number when it is
first approved, a payment its receipt number when it is recorded (services.invoices); each number is unique in its
organisation, the index the backstop of the counter. A payment also keeps what was still due on its order once it
was recorded (due_after_cents), so its receipt says the same thing whenever it is rendered (unknown, so left null,
for payments recorded before this migration).

Orders approved before this migration are numbered 1, 2, … in each organisation in the order they were approved,
and payments received before it in the order they were recorded; the counters start after them. An email of the
outbox may name a document to attach at delivery (`attachment`, e.g. receipt:12).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN, not a batch copy: vendor_order and payment keep their dashboard triggers.
    op.add_column("organization", sa.Column("legal_name", sa.String(length=200), nullable=True))
    op.add_column("organization", sa.Column("tax_number", sa.String(length=40), nullable=True))
    op.add_column("organization", sa.Column("tax_label", sa.String(length=16), nullable=True))
    op.add_column("organization", sa.Column("tax_rate_basis_points", sa.Integer(), nullable=True))
    for name in ("invoices_issued", "receipts_issued"):
        op.add_column("organization", sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    op.add_column("vendor_order", sa.Column("invoice_number", sa.Integer(), nullable=True))
    op.add_column("payment", sa.Column("receipt_number", sa.Integer(), nullable=True))
    op.add_column("payment", sa.Column("due_after_cents", sa.BigInteger(), nullable=True))
    op.add_column("email", sa.Column("attachment", sa.String(length=40), nullable=True))

    _number("vendor_order", "invoice_number", "approved_at IS NOT NULL", "approved_at, id")
    _number("payment", "receipt_number", "kind = 'payment'", "id")
    for counter, table, column in (
        ("invoices_issued", "vendor_order", "invoice_number"),
        ("receipts_issued", "payment", "receipt_number"),
    ):
        op.execute(
            f"UPDATE organization SET {counter} = COALESCE((SELECT MAX({column}) FROM {table} "
            f"WHERE {table}.organization_id = organization.id), 0)"
        )
    op.create_index("ux_order_org_invoice", "vendor_order", ["organization_id", "invoice_number"], unique=True)
    op.create_index("ux_payment_org_receipt", "payment", ["organization_id", "receipt_number"], unique=True)


def _number(table: str, column: str, which: str, order: str) -> None:
    """Number the rows `which` 1, 2, … in each organisation, by `order`: one statement (SQLite 3.33+ and
    PostgreSQL both UPDATE … FROM)."""
    op.execute(
        f"UPDATE {table} SET {column} = numbered.n FROM (SELECT id, ROW_NUMBER() OVER "
        f"(PARTITION BY organization_id ORDER BY {order}) AS n FROM {table} WHERE {which}) AS numbered "
        f"WHERE numbered.id = {table}.id"
    )


def downgrade() -> None:
    op.drop_index("ux_payment_org_receipt", table_name="payment")
    op.drop_index("ux_order_org_invoice", table_name="vendor_order")
    # SQLite 3.35+: in place, so vendor_order's and payment's triggers are kept.
    for table, column in (
        ("email", "attachment"),
        ("payment", "due_after_cents"),
        ("payment", "receipt_number"),
        ("vendor_order", "invoice_number"),
        ("organization", "receipts_issued"),
        ("organization", "invoices_issued"),
        ("organization", "tax_rate_basis_points"),
        ("organization", "tax_label"),
        ("organization", "tax_number"),
        ("organization", "legal_name"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
