"""Databases for tests: SQLite files by default; PostgreSQL when MARKET_MCP_TEST_POSTGRES_URL names a server.

Migrating per test would dominate the run, so each worker migrates one database once: on SQLite every test
gets a copy of the file; on PostgreSQL every test starts by emptying the worker's database (TRUNCATE … RESTART
IDENTITY, so ids start at 1 as they do on a fresh SQLite file).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import market_mcp.db.tables  # noqa: F401  (every table on SQLModel.metadata)
from market_mcp.db import Database
from market_mcp.db.migrate import upgrade
from tests.factories import Tenant, make_tenant

# Children first; then every id sequence back to 1, as on a fresh SQLite file.
EMPTY_POSTGRES = [f'DELETE FROM "{t.name}"' for t in reversed(SQLModel.metadata.sorted_tables)] + [
    f"SELECT setval(pg_get_serial_sequence('\"{t.name}\"', 'id'), 1, false)"
    for t in SQLModel.metadata.sorted_tables
    if "id" in t.c
]
POSTGRES_URL = os.environ.get(
    "MARKET_MCP_TEST_POSTGRES_URL"
)  # e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
_numbers = itertools.count()


def on_postgres() -> bool:
    return POSTGRES_URL is not None


async def _admin(statement: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")  # type: ignore[arg-type]
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def _postgres_url(name: str) -> str:
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)  # type: ignore[arg-type]


async def _new_postgres_database(template: str | None = None) -> tuple[str, str]:
    name = f"mm_{WORKER}_{os.getpid()}_{next(_numbers)}"
    await _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name, _postgres_url(name)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database migrated to head per worker: a file path on SQLite (copied for each test), a database
    name on PostgreSQL (emptied for each test)."""

    async def build(url: str) -> None:
        db = Database(url)
        await upgrade(db)
        await db.dispose()

    if on_postgres():
        name = f"mm_template_{WORKER}_{os.getpid()}"
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        asyncio.run(build(_postgres_url(name)))
        yield name
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return
    path = tmp_path_factory.mktemp("template") / "market.db"
    asyncio.run(build(f"sqlite+aiosqlite:///{path}"))
    yield str(path)


@pytest.fixture
async def db(tmp_path: Path, migrated_template: str) -> AsyncIterator[Database]:
    """A migrated database of the test's own (on PostgreSQL: the worker's database, emptied first)."""
    if on_postgres():
        database = Database(_postgres_url(migrated_template))
        async with database.engine.begin() as conn:  # far quicker than a database (or a TRUNCATE) per test
            for statement in EMPTY_POSTGRES:
                await conn.execute(text(statement))
        yield database
        await database.dispose()
        return
    path = tmp_path / "market.db"
    shutil.copy(migrated_template, path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    yield database
    await database.dispose()


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database, not migrated (for tests of the migrations themselves)."""
    if on_postgres():
        name, url = await _new_postgres_database()
        database = Database(url)
        yield database
        await database.dispose()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    yield database
    await database.dispose()


sqlite_only = pytest.mark.skipif(POSTGRES_URL is not None, reason="a property of the SQLite store")
postgres_only = pytest.mark.skipif(POSTGRES_URL is None, reason="needs MARKET_MCP_TEST_POSTGRES_URL")


@pytest.fixture
async def alice(db: Database) -> Tenant:
    return await make_tenant(db, "alice")


@pytest.fixture
async def bob(db: Database) -> Tenant:
    return await make_tenant(db, "bob")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, run only the tests that touch the store (through `db` or `fresh`): the others do exactly
    what they did in the SQLite pass, and CI's time is better spent elsewhere."""
    if POSTGRES_URL is None:
        return
    skip = pytest.mark.skip(reason="does not touch the store: it runs once, in the SQLite pass")
    for item in items:
        if not {"db", "fresh"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(skip)


@pytest.fixture
async def demo(db: Database) -> Tenant:
    """The demo organisation (`market-mcp demo`'s data) with a write and a read token."""
    from market_mcp.demo import populate_demo

    tenant = await make_tenant(db, "demo", name="Harbour & Hills Markets")
    async with db.transaction(write=True) as session:
        await populate_demo(session, tenant.org_id)
    return tenant
