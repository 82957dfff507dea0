"""vendor text index

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

search, list_vendors and list_credits find vendors by text anywhere in their names, email or category
(case-folded LIKE '%text%'), which read every vendor of the organisation. A trigram index finds them instead.

SQLite: an FTS5 table with the trigram tokenizer, vendor_search (rowid = vendor.id), holding each vendor's
case-folded business_name, contact_name, email and category, filled from the vendors there are and kept in
step by triggers on vendor: whatever writes a vendor updates the index in the same transaction. The triggers
call casefold(), the Python function every connection of market_mcp.db.Database registers (as search's
match does); a connection without it (the sqlite3 shell) cannot write vendors. A later migration that copies
the vendor table (a batch ALTER on SQLite) drops its triggers and must create them again. The trigram
tokenizer needs SQLite 3.34 or newer.

PostgreSQL: pg_trgm's GIN indexes on lower() of the same columns, which the LIKE uses as it stands. The
downgrade drops the indexes and leaves the extension (another schema may use it).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("business_name", "contact_name", "email", "category")
NAMES = ", ".join(COLUMNS)


def folded(row: str) -> str:
    return ", ".join(f"casefold({row}{column})" for column in COLUMNS)


SQLITE_UP = [
    f"CREATE VIRTUAL TABLE vendor_search USING fts5({NAMES}, tokenize = 'trigram')",
    f"INSERT INTO vendor_search (rowid, {NAMES}) SELECT id, {folded('')} FROM vendor",
    "CREATE TRIGGER vendor_search_insert AFTER INSERT ON vendor BEGIN "
    f"INSERT INTO vendor_search (rowid, {NAMES}) VALUES (new.id, {folded('new.')}); END",
    f"CREATE TRIGGER vendor_search_update AFTER UPDATE OF id, {NAMES} ON vendor BEGIN "
    "DELETE FROM vendor_search WHERE rowid = old.id; "
    f"INSERT INTO vendor_search (rowid, {NAMES}) VALUES (new.id, {folded('new.')}); END",
    "CREATE TRIGGER vendor_search_delete AFTER DELETE ON vendor BEGIN "
    "DELETE FROM vendor_search WHERE rowid = old.id; END",
]
SQLITE_DOWN = [
    "DROP TRIGGER vendor_search_delete",
    "DROP TRIGGER vendor_search_update",
    "DROP TRIGGER vendor_search_insert",
    "DROP TABLE vendor_search",
]
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    *(f"CREATE INDEX ix_vendor_{column}_trgm ON vendor USING gin (lower({column}) gin_trgm_ops)" for column in COLUMNS),
]
POSTGRES_DOWN = [f"DROP INDEX ix_vendor_{column}_trgm" for column in COLUMNS]


def upgrade() -> None:
    for statement in SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
