"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Every table of DOMAIN.md, with the constraints and indexes its state machines need.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import market_mcp.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organization",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'active')", name="ck_organization_status"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'staff')", name="ck_app_user_role"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "idempotency_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("tool", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "key", name="ux_idempotency_key"),
    )
    op.create_table(
        "market",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("market_type", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("booking_enabled", sa.Boolean(), nullable=False),
        sa.Column("waitlist_auto_notify", sa.Boolean(), nullable=False),
        sa.Column("default_fee_cents", sa.BigInteger(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("location", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('published', 'unpublished')", name="ck_market_status"),
        sa.CheckConstraint("capacity >= 0", name="ck_market_capacity"),
        sa.CheckConstraint("default_fee_cents >= 0", name="ck_market_fee"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "slug", name="ux_market_org_slug"),
    )
    with op.batch_alter_table("market", schema=None) as batch_op:
        batch_op.create_index("ix_market_org_status", ["organization_id", "status"], unique=False)

    op.create_table(
        "vendor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("business_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("contact_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("vendor", schema=None) as batch_op:
        batch_op.create_index("ix_vendor_org_name", ["organization_id", "business_name"], unique=False)

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IN ('read', 'write')", name="ck_api_token_scope"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("vendor_message", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
        sa.Column("decision_message", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
        sa.Column("starter_credit_cents", sa.BigInteger(), nullable=False),
        sa.Column("submitted_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'waitlisted')", name="ck_application_status"),
        sa.CheckConstraint("starter_credit_cents >= 0", name="ck_application_credit"),
        sa.ForeignKeyConstraint(["market_id"], ["market.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendor.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.create_index("ix_application_market", ["market_id"], unique=False)
        batch_op.create_index("ix_application_org_status", ["organization_id", "status", "submitted_at"], unique=False)
        batch_op.create_index("ix_application_vendor", ["vendor_id"], unique=False)
        batch_op.create_index(
            "ux_application_open",
            ["vendor_id", "market_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'waitlisted', 'approved')"),
            postgresql_where=sa.text("status IN ('pending', 'waitlisted', 'approved')"),
        )

    op.create_table(
        "email",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=True),
        sa.Column("to", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("record_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('queued', 'sent', 'failed')", name="ck_email_status"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendor.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("email", schema=None) as batch_op:
        batch_op.create_index("ix_email_delivery", ["status", "id"], unique=False)
        batch_op.create_index("ix_email_org_status", ["organization_id", "status", "id"], unique=False)
        batch_op.create_index("ix_email_vendor", ["vendor_id"], unique=False)

    op.create_table(
        "market_date",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", sa.Date(), nullable=False),
        sa.Column("starts_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("closed_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('scheduled', 'closed', 'cancelled')", name="ck_market_date_status"),
        sa.CheckConstraint("capacity >= 0", name="ck_market_date_capacity"),
        sa.ForeignKeyConstraint(["market_id"], ["market.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("market_id", "scheduled_at", name="ux_market_date_day"),
    )
    with op.batch_alter_table("market_date", schema=None) as batch_op:
        batch_op.create_index("ix_market_date_org_day", ["organization_id", "scheduled_at"], unique=False)

    op.create_table(
        "vendor_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendor.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("vendor_note", schema=None) as batch_op:
        batch_op.create_index("ix_vendor_note_vendor", ["vendor_id", "created_at"], unique=False)

    op.create_table(
        "vendor_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("previous_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("credit_applied_cents", sa.BigInteger(), nullable=False),
        sa.Column("amount_due_cents", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("payment_method", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("payment_reference", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("rejection_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("approved_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("archived_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "previous_status IS NULL OR previous_status IN ('pending', 'payment_pending', 'complete', 'rejected', 'archived')",
            name="ck_order_previous_status",
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'payment_pending', 'complete', 'rejected', 'archived')", name="ck_order_status"
        ),
        sa.CheckConstraint("credit_applied_cents <= total_cents", name="ck_order_credit_le_total"),
        sa.CheckConstraint(
            "total_cents >= 0 AND credit_applied_cents >= 0 AND amount_due_cents >= 0", name="ck_order_money"
        ),
        sa.ForeignKeyConstraint(["market_id"], ["market.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendor.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("vendor_order", schema=None) as batch_op:
        batch_op.create_index("ix_order_org_status", ["organization_id", "status", "created_at"], unique=False)
        batch_op.create_index("ix_order_vendor", ["vendor_id"], unique=False)

    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("token_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("tool", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("records", sa.JSON(), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["token_id"], ["api_token.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index("ix_audit_org_time", ["organization_id", "created_at"], unique=False)
        batch_op.create_index("ix_audit_org_tool", ["organization_id", "tool", "created_at"], unique=False)

    op.create_table(
        "booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("market_date_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("space_number", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.Column("cancelled_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("rebooked_to_id", sa.Integer(), nullable=True),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'confirmed', 'rejected', 'cancelled')", name="ck_booking_status"),
        sa.CheckConstraint("amount_cents >= 0", name="ck_booking_amount"),
        sa.ForeignKeyConstraint(["market_date_id"], ["market_date.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["order_id"], ["vendor_order.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rebooked_to_id"], ["booking.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendor.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.create_index("ix_booking_date_status", ["market_date_id", "status"], unique=False)
        batch_op.create_index("ix_booking_order", ["order_id"], unique=False)
        batch_op.create_index("ix_booking_org_status", ["organization_id", "status"], unique=False)
        batch_op.create_index("ix_booking_vendor", ["vendor_id"], unique=False)
        batch_op.create_index(
            "ux_booking_space",
            ["market_date_id", "space_number"],
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'confirmed') AND space_number IS NOT NULL"),
            postgresql_where=sa.text("status IN ('pending', 'confirmed') AND space_number IS NOT NULL"),
        )

    op.create_table(
        "credit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("remaining_cents", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("deleted_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('manual', 'application', 'rebook', 'cancellation', 'weather')", name="ck_credit_source"
        ),
        sa.CheckConstraint("amount_cents >= 0 AND remaining_cents >= 0", name="ck_credit_money"),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendor.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("credit", schema=None) as batch_op:
        batch_op.create_index("ix_credit_org_expiry", ["organization_id", "expires_at"], unique=False)
        batch_op.create_index("ix_credit_vendor", ["vendor_id", "expires_at"], unique=False)

    op.create_table(
        "credit_transaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("credit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("balance_after_cents", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('grant', 'use', 'adjust', 'expire', 'delete', 'refund')", name="ck_credit_transaction_kind"
        ),
        sa.CheckConstraint("balance_after_cents >= 0", name="ck_credit_transaction_balance"),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["credit_id"], ["credit.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["order_id"], ["vendor_order.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("credit_transaction", schema=None) as batch_op:
        batch_op.create_index("ix_credit_transaction_credit", ["credit_id", "id"], unique=False)

    op.create_table(
        "waitlist_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("market_date_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("notified_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("offer_expires_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("removed_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('waiting', 'notified', 'accepted', 'declined', 'expired', 'removed')", name="ck_waitlist_status"
        ),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["market_date_id"], ["market_date.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendor.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("market_date_id", "position", name="ux_waitlist_position"),
        sa.UniqueConstraint("market_date_id", "vendor_id", name="ux_waitlist_vendor_once"),
    )
    with op.batch_alter_table("waitlist_entry", schema=None) as batch_op:
        batch_op.create_index("ix_waitlist_date_status", ["market_date_id", "status", "position"], unique=False)

    # Expression indexes (autogenerate cannot compare them): emails are unique per organisation, any case.
    op.create_index("ux_app_user_org_email", "app_user", ["organization_id", sa.text("lower(email)")], unique=True)
    op.create_index("ux_vendor_org_email", "vendor", ["organization_id", sa.text("lower(email)")], unique=True)


def downgrade() -> None:
    op.drop_index("ux_vendor_org_email", table_name="vendor")
    op.drop_index("ux_app_user_org_email", table_name="app_user")
    with op.batch_alter_table("waitlist_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_waitlist_date_status")

    op.drop_table("waitlist_entry")
    with op.batch_alter_table("credit_transaction", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_transaction_credit")

    op.drop_table("credit_transaction")
    with op.batch_alter_table("credit", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_vendor")
        batch_op.drop_index("ix_credit_org_expiry")

    op.drop_table("credit")
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_booking_space",
            sqlite_where=sa.text("status IN ('pending', 'confirmed') AND space_number IS NOT NULL"),
            postgresql_where=sa.text("status IN ('pending', 'confirmed') AND space_number IS NOT NULL"),
        )
        batch_op.drop_index("ix_booking_vendor")
        batch_op.drop_index("ix_booking_org_status")
        batch_op.drop_index("ix_booking_order")
        batch_op.drop_index("ix_booking_date_status")

    op.drop_table("booking")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_org_tool")
        batch_op.drop_index("ix_audit_org_time")

    op.drop_table("audit_entry")
    with op.batch_alter_table("vendor_order", schema=None) as batch_op:
        batch_op.drop_index("ix_order_vendor")
        batch_op.drop_index("ix_order_org_status")

    op.drop_table("vendor_order")
    with op.batch_alter_table("vendor_note", schema=None) as batch_op:
        batch_op.drop_index("ix_vendor_note_vendor")

    op.drop_table("vendor_note")
    with op.batch_alter_table("market_date", schema=None) as batch_op:
        batch_op.drop_index("ix_market_date_org_day")

    op.drop_table("market_date")
    with op.batch_alter_table("email", schema=None) as batch_op:
        batch_op.drop_index("ix_email_vendor")
        batch_op.drop_index("ix_email_org_status")
        batch_op.drop_index("ix_email_delivery")

    op.drop_table("email")
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_application_open",
            sqlite_where=sa.text("status IN ('pending', 'waitlisted', 'approved')"),
            postgresql_where=sa.text("status IN ('pending', 'waitlisted', 'approved')"),
        )
        batch_op.drop_index("ix_application_vendor")
        batch_op.drop_index("ix_application_org_status")
        batch_op.drop_index("ix_application_market")

    op.drop_table("application")
    op.drop_table("api_token")
    with op.batch_alter_table("vendor", schema=None) as batch_op:
        batch_op.drop_index("ix_vendor_org_name")

    op.drop_table("vendor")
    with op.batch_alter_table("market", schema=None) as batch_op:
        batch_op.drop_index("ix_market_org_status")

    op.drop_table("market")
    op.drop_table("idempotency_record")
    op.drop_table("app_user")
    op.drop_table("organization")
