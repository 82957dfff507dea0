"""Alembic, driven from code: `market-mcp init` and every command that opens the store.

Opening a store whose schema is already the newest costs one SELECT: Alembic (a third of a second to import,
plus reading every migration script) is loaded only when there is something to upgrade. On SQLite, opening
also refreshes the query planner's statistics when a migration ran or the store has grown or shrunk twofold
since they were taken, so plans follow the store instead of guessing; PostgreSQL's autovacuum does the same.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from market_mcp.db.engine import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
ANALYSIS_LIMIT = 10_000  # rows ANALYZE samples per index: estimates good to the order of magnitude plans need
_REVISION = re.compile(r'^revision: str = "([^"]+)"', re.MULTILINE)
# The vendor text index (migration 0010) is not in the models: SQLite's FTS5 table with its shadow tables,
# PostgreSQL's pg_trgm indexes; nor is the index on bookings' case-folded space numbers (migration 0011), on an
# expression that differs by backend. Autogenerate leaves them alone, and so do the planner statistics.
_TEXT_INDEX = re.compile(r"vendor_search(_[a-z]+)?|ix_vendor_[a-z_]+_trgm|ix_booking_org_space")


def modelled(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's include_name: False for the vendor text index's tables and indexes, and the space index."""
    return not (name and _TEXT_INDEX.fullmatch(name))


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def head_revision() -> str:
    """The newest revision: the one named in the last migration file (they are numbered in order, one line of
    history; tests/test_migrations.py holds Alembic's own answer to the same)."""
    newest = sorted((MIGRATIONS / "versions").glob("[0-9]*.py"))[-1]
    found = _REVISION.search(newest.read_text())
    assert found is not None, f"{newest.name} names no revision"
    return found.group(1)


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_revision_of)


def _revision_of(sync: Connection) -> str | None:
    if not sync.dialect.has_table(sync, "alembic_version"):
        return None
    return sync.execute(text("SELECT version_num FROM alembic_version")).scalar()


async def upgrade(db: Database) -> tuple[str | None, str]:
    """Create or upgrade the schema to the newest revision; safe to run any number of times.

    Returns (revision before, revision after).
    """
    before = await current_revision(db)
    head = head_revision()
    if before != head:

        def run(sync: Connection) -> None:
            from alembic import command

            config = alembic_config()
            config.attributes["connection"] = sync
            with warnings.catch_warnings():  # SQLite batch migrations copy tables; expression indexes are rebuilt
                warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
                command.upgrade(config, "head")

        async with db.engine.begin() as conn:
            await conn.run_sync(run)
    if db.is_sqlite:
        await analyze(db, force=before != head)
    return before, head


async def analyze(db: Database, *, force: bool = False) -> bool:
    """Refresh SQLite's planner statistics when they are missing or the store has since grown or shrunk
    twofold (or when forced); True if it ran.

    Without them SQLite guesses from the shape of an index, and at scale it guesses wrong: fetching 1,000
    bookings by id through the organisation's index, say, which reads every booking. ANALYZE samples at most
    ANALYSIS_LIMIT rows per index (a quarter of a second on a 6-million-booking file), and is skipped (the old
    figures stay) when another process holds the write lock past the busy timeout.
    """
    try:
        async with db.engine.begin() as conn:
            if not force and not await conn.run_sync(_statistics_are_stale):
                return False
            await conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
            await conn.exec_driver_sql("ANALYZE")
            return True
    except DBAPIError as exc:
        if "locked" not in str(exc.orig):
            raise
        return False


def _statistics_are_stale(sync: Connection) -> bool:
    """Any table's size now (its largest id: no scan) against its size when last analysed."""
    if not sync.dialect.has_table(sync, "sqlite_stat1"):
        return True
    analysed: dict[str, int] = {}
    for table, stat in sync.exec_driver_sql("SELECT tbl, stat FROM sqlite_stat1").all():
        rows = int(str(stat).split()[0])
        analysed[table] = max(analysed.get(table, 0), rows)
    tables = sync.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name != 'alembic_version'"
    ).scalars()
    for table in filter(lambda name: modelled(name, "table", None), tables):  # FTS5's tables may have no rowid
        size = sync.exec_driver_sql(f'SELECT coalesce(max(rowid), 0) FROM "{table}"').scalar() or 0
        before = analysed.get(table, 0)
        if size >= 1000 and not before / 2 <= size <= before * 2:
            return True
    return False
