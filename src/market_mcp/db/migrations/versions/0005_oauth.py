"""oauth

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

OAuth 2.1 for remote connectors: the applications (registered, or known by their metadata document's URL),
the organisers' grants to them, and the grants' codes and tokens (hashes only).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import market_mcp.db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oauth_client",
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("info", sa.JSON(), nullable=False),
        sa.Column("metadata_document", sa.Boolean(), nullable=False),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_table(
        "oauth_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("client_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("csrf_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("resource", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("api_token_id", sa.Integer(), nullable=True),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("approved_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IS NULL OR scope IN ('read', 'write')", name="ck_oauth_grant_scope"),
        sa.CheckConstraint("status IN ('pending', 'active', 'denied', 'revoked')", name="ck_oauth_grant_status"),
        sa.ForeignKeyConstraint(["api_token_id"], ["api_token.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_client.client_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_hash"),
    )
    with op.batch_alter_table("oauth_grant", schema=None) as batch_op:
        batch_op.create_index("ix_oauth_grant_organization", ["organization_id", "status"], unique=False)

    op.create_table(
        "oauth_token",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("created_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", market_mcp.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('code', 'access', 'refresh')", name="ck_oauth_token_kind"),
        sa.CheckConstraint("scope IN ('read', 'write')", name="ck_oauth_token_scope"),
        sa.ForeignKeyConstraint(["grant_id"], ["oauth_grant.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("oauth_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_token_grant_id"), ["grant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oauth_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_token_grant_id"))

    op.drop_table("oauth_token")
    with op.batch_alter_table("oauth_grant", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_grant_organization")

    op.drop_table("oauth_grant")
    op.drop_table("oauth_client")
