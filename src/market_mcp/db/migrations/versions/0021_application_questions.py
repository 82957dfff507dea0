"""application questions, answers and jury scores

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03

What a market asks an applicant (a JSON list on the market; none on existing markets), each answer an application
gives as a row of its own (so lists filter by answer with plain indexed SQL on SQLite and PostgreSQL alike), and the
jury's scores and notes, one per author. Existing applications have no answers and no scores.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _org_and_application() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "organization_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("application.id", ondelete="CASCADE"), nullable=False),
    ]


def upgrade() -> None:
    # ADD COLUMN, not a batch copy: the market keeps what earlier migrations gave it.
    op.add_column("market", sa.Column("application_questions", sa.JSON(), nullable=True))
    op.create_table(
        "application_answer",
        *_org_and_application(),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("question", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(2000), nullable=False),
        sa.Column("folded", sa.String(2000), nullable=False),
        sa.UniqueConstraint("application_id", "key", name="ux_application_answer_key"),
        sa.CheckConstraint("kind IN ('text', 'choice', 'yes_no', 'number')", name="ck_application_answer_kind"),
    )
    op.create_index("ix_application_answer_org_key", "application_answer", ["organization_id", "key"])
    op.create_table(
        "application_score",
        *_org_and_application(),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(2000), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("application_id", "author", name="ux_application_score_author"),
        sa.CheckConstraint("score >= 0 AND score <= 10", name="ck_application_score_range"),
    )


def downgrade() -> None:
    op.drop_table("application_score")
    op.drop_table("application_answer")
    op.execute("ALTER TABLE market DROP COLUMN application_questions")  # SQLite 3.35+: in place
