"""booking windows

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03

When a market date stops taking bookings (services/market_dates.py `booking_window`): a market's booking cutoff
(no new bookings within N hours of the start) and its bump-in (vendors set up N minutes before the start, so a
waitlist offer must be answered by then). Existing markets have neither, so nothing changes for them until set.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("market", sa.Column("booking_cutoff_hours", sa.Integer(), nullable=True))
    op.add_column("market", sa.Column("bump_in_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    for column in ("bump_in_minutes", "booking_cutoff_hours"):  # SQLite 3.35+: in place, triggers kept
        op.execute(f"ALTER TABLE market DROP COLUMN {column}")
