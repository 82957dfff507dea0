"""OAuth client secrets kept as hashes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

A confidential client's secret was kept as issued, in oauth_client.info; from now on only "sha256:" and its
SHA-256 are (the secret is 256 random bits, so a fast hash is enough). No column changes: this rewrites the
secrets already stored. There is no way back: downgrading leaves the hashes, and those clients register again.
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECRET_HASH = "sha256:"  # as market_mcp.oauth.provider.SECRET_HASH, written out: a migration stays as it was
oauth_client = sa.table("oauth_client", sa.column("client_id", sa.String), sa.column("info", sa.JSON))


def upgrade() -> None:
    connection = op.get_bind()
    for client_id, info in connection.execute(sa.select(oauth_client.c.client_id, oauth_client.c.info)).all():
        secret = info.get("client_secret")
        if secret and not secret.startswith(SECRET_HASH):
            hashed = {**info, "client_secret": SECRET_HASH + hashlib.sha256(secret.encode()).hexdigest()}
            connection.execute(sa.update(oauth_client).where(oauth_client.c.client_id == client_id).values(info=hashed))


def downgrade() -> None:
    """Nothing to undo: a hash cannot become its secret again (those clients register anew)."""
