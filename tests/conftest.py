from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from market_mcp.db import Database
from market_mcp.db.migrate import upgrade
from tests.factories import Tenant, make_tenant


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated to head; each test gets a copy (migrating per test would dominate the run)."""
    path = tmp_path_factory.mktemp("template") / "market.db"

    async def build() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await upgrade(db)
        await db.dispose()

    asyncio.run(build())
    return path


@pytest.fixture
async def db(tmp_path: Path, migrated_template: Path):
    path = tmp_path / "market.db"
    shutil.copy(migrated_template, path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    yield database
    await database.dispose()


@pytest.fixture
async def alice(db: Database) -> Tenant:
    return await make_tenant(db, "alice")


@pytest.fixture
async def bob(db: Database) -> Tenant:
    return await make_tenant(db, "bob")
