"""vendor links and calendar feeds

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03

Signed, single-use, expiring links in vendors' emails (services/vendor_links.py): only each token's hash is stored.
The key calendar feed addresses are signed with (services/calendars.py), made here once per store.
"""

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vendor_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "organization_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("vendor_id", sa.Integer(), sa.ForeignKey("vendor.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("token_hash", name="ux_vendor_link_token"),
        sa.CheckConstraint("action IN ('waitlist_offer', 'attendance', 'document')", name="ck_vendor_link_action"),
    )
    op.create_index("ix_vendor_link_org_used", "vendor_link", ["organization_id", "used_at"])
    key = op.create_table(
        "link_key",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.bulk_insert(key, [{"id": 1, "secret": secrets.token_hex(32), "created_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("link_key")
    op.drop_index("ix_vendor_link_org_used", table_name="vendor_link")
    op.drop_table("vendor_link")
