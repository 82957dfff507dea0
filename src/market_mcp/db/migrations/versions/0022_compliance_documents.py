"""compliance documents

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03

Compliance (services/compliance.py): the kinds of document an organisation asks vendors for (public liability
insurance, a food licence), required of every vendor, of some categories or at some markets, with how many days
before expiry the vendor is reminded; and each vendor's documents of a kind, the newest current and the older kept
as history, with an optional file (at most 5 MB) kept in the row. Nothing existing changes: an organisation without
kinds requires nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _org() -> sa.Column:
    return sa.Column(
        "organization_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "document_kind",
        sa.Column("id", sa.Integer(), primary_key=True),
        _org(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("required_for_all", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("required_for_categories", sa.JSON(), nullable=False),
        sa.Column("required_for_market_ids", sa.JSON(), nullable=False),
        sa.Column("remind_days_before", sa.Integer(), nullable=False, server_default="30"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ux_document_kind_org_name", "document_kind", ["organization_id", sa.text("lower(name)")], unique=True
    )
    op.create_table(
        "vendor_document",
        sa.Column("id", sa.Integer(), primary_key=True),
        _org(),
        sa.Column("vendor_id", sa.Integer(), sa.ForeignKey("vendor.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind_id", sa.Integer(), sa.ForeignKey("document_kind.id", ondelete="CASCADE"), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("number", sa.String(100), nullable=False),
        sa.Column("issuer", sa.String(200), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("filename", sa.String(200), nullable=True),
        sa.Column("content_type", sa.String(100), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_vendor_document_vendor", "vendor_document", ["organization_id", "vendor_id", "kind_id", "id"])
    op.create_index("ix_vendor_document_expiry", "vendor_document", ["organization_id", "is_current", "expires_on"])
    op.create_index(
        "ux_vendor_document_current",
        "vendor_document",
        ["vendor_id", "kind_id"],
        unique=True,
        sqlite_where=sa.text("is_current"),
        postgresql_where=sa.text("is_current"),
    )


def downgrade() -> None:
    op.drop_table("vendor_document")
    op.drop_table("document_kind")
