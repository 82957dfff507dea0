"""search walks

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

search reads applications, orders and bookings rank by rank in the answer's order and stops at ten (services/
connector.py). Two things it looks up had no index:

- a booking's space number, case-folded, equal to or starting with the query (either ranks the booking above
  its vendor's other bookings): an index on the organisation and the case-folded space number. On SQLite it is
  on casefold(space_number), the Python function every connection of market_mcp.db.Database registers (as the
  vendor text index's triggers call it, migration 0010): a connection without it (the sqlite3 shell) cannot
  write bookings. On PostgreSQL it is on lower(space_number) with text_pattern_ops, so that LIKE 'text%' is a
  range of it.
- an organisation's archived orders newest first (they come after the others of their rank): a partial index.

PostgreSQL also gets one trigram index over each vendor's four text columns joined by spaces, lower-cased
(ix_vendor_text_trgm, db/functions.py vendor_text_candidates): its planner costed the OR of one trigram index
scan per column (migration 0010) above a scan of every vendor, and chose the scan.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ARCHIVED = "CREATE INDEX ix_order_org_archived ON vendor_order (organization_id, id) WHERE status = 'archived'"
SQLITE_UP = ["CREATE INDEX ix_booking_org_space ON booking (organization_id, casefold(space_number))", ARCHIVED]
POSTGRES_UP = [
    "CREATE INDEX ix_booking_org_space ON booking (organization_id, lower(space_number) text_pattern_ops)",
    ARCHIVED,
    "CREATE INDEX ix_vendor_text_trgm ON vendor "
    "USING gin (lower(business_name || ' ' || contact_name || ' ' || email || ' ' || category) gin_trgm_ops)",
]
SQLITE_DOWN = ["DROP INDEX ix_order_org_archived", "DROP INDEX ix_booking_org_space"]
POSTGRES_DOWN = ["DROP INDEX ix_vendor_text_trgm", *SQLITE_DOWN]


def upgrade() -> None:
    for statement in SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
