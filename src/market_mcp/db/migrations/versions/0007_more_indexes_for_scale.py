"""more indexes for scale

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

What bench/ found next. list_vendors pages through vendors in name order, ignoring case: sorting by a Python
case-folding function visited every vendor of the organisation on every page, while an index on
lower(business_name) gives the order directly, so a page reads only its own rows. Giving back the credit an
order used looked its ledger rows up by order, which had no index: every cancellation or rejection of a
credited booking read the organisation's whole ledger. And the dashboard's sums (money owed, money taken this
month, unpaid orders trading soon) now read only indexes, not a table row per order. list_orders pages newest
first, for the organisation or a market, and list_applications by submission date: each from an index in that
order, not by sorting every order or application of the organisation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_vendor_org_sort", "vendor", ["organization_id", sa.text("lower(business_name)"), "id"])
    op.create_index("ix_credit_transaction_order", "credit_transaction", ["order_id"])
    _replace_index(
        "vendor_order", "ix_order_org_status", ["organization_id", "status", "created_at", "amount_due_cents"]
    )
    _replace_index(
        "vendor_order", "ix_order_org_paid", ["organization_id", "paid_at", "total_cents", "credit_applied_cents"]
    )
    _replace_index("booking", "ix_booking_date_status", ["market_date_id", "status", "order_id"])
    op.create_index("ix_order_org", "vendor_order", ["organization_id", "id"])
    op.create_index("ix_order_market", "vendor_order", ["market_id", "id"])
    op.create_index("ix_application_org_submitted", "application", ["organization_id", "submitted_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_application_org_submitted", table_name="application")
    op.drop_index("ix_order_market", table_name="vendor_order")
    op.drop_index("ix_order_org", table_name="vendor_order")
    _replace_index("booking", "ix_booking_date_status", ["market_date_id", "status"])
    _replace_index("vendor_order", "ix_order_org_paid", ["organization_id", "paid_at"])
    _replace_index("vendor_order", "ix_order_org_status", ["organization_id", "status", "created_at"])
    op.drop_index("ix_credit_transaction_order", table_name="credit_transaction")
    op.drop_index("ix_vendor_org_sort", table_name="vendor")


def _replace_index(table: str, name: str, columns: list[str]) -> None:
    op.drop_index(name, table_name=table)
    op.create_index(name, table, columns)
