"""Alembic, driven from code: `market-mcp init` and every command that opens the store."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from market_mcp.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


async def upgrade(db: Database) -> tuple[str | None, str]:
    """Create or upgrade the schema to the newest revision; safe to run any number of times.

    Returns (revision before, revision after).
    """
    before = await current_revision(db)
    head = head_revision()
    if before != head:

        def run(sync: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = sync
            command.upgrade(config, "head")

        async with db.engine.begin() as conn:
            await conn.run_sync(run)
    return before, head
