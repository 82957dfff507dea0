"""Alembic environment. Runs on the connection `market_mcp.db.migrate` hands it, or, from the
alembic command line, on MARKET_MCP_DATABASE_URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import market_mcp.db.tables  # noqa: F401  (registers every table on SQLModel.metadata)
from market_mcp.db.migrate import modelled

target_metadata = SQLModel.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
        include_name=modelled,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_settings() -> None:
    from market_mcp.config import Settings
    from market_mcp.db.engine import Database

    url = context.config.get_main_option("sqlalchemy.url") or Settings().database_url
    db = Database(url)
    async with db.engine.connect() as conn:
        await conn.run_sync(run_on)
        await conn.commit()
    await db.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    asyncio.run(run_from_settings())
