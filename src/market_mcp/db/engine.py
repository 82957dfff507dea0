"""The async engine and the one way to get a transaction.

SQLite runs in WAL mode with foreign keys on and a busy timeout. A write transaction
starts with BEGIN IMMEDIATE, so it takes the write lock before its first read: two
writers queue on the busy timeout instead of one failing when it tries to upgrade a
read lock (the classic SQLITE_BUSY of deferred transactions).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from market_mcp.db import onloop
from market_mcp.db.functions import sqlite_casefold

_WRITE = "market_mcp_write"
BUSY_TIMEOUT_MS = 10_000


class Database:
    def __init__(self, url: str, *, reads_on_loop: bool = True) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite and self.url.database and self.url.database != ":memory:":
            Path(self.url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {}
        if not self.is_sqlite:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
            if self.url.get_driver_name() == "asyncpg":
                # No JIT: our statements are short, but a walk's LIMIT hides that from its estimated cost, and
                # compiling it took 250 ms of a 13 ms search on PostgreSQL 15.
                kwargs["connect_args"] = {"server_settings": {"jit": "off"}}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self._writer = self.engine.execution_options(**{_WRITE: True})
        # Read transactions: on SQLite, on the event loop's thread (db/onloop.py); elsewhere the one engine.
        self._reader = self.engine
        if self.is_sqlite:
            _configure_sqlite(self.engine)
            if reads_on_loop and self.url.database and self.url.database != ":memory:" and not self.url.query:
                self._reader = create_async_engine(self.url, async_creator=onloop.connector(self.url.database))
                _configure_sqlite(self._reader, read_only=True)

    @asynccontextmanager
    async def transaction(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with AsyncSession(self._writer if write else self._reader, expire_on_commit=False) as session:
            async with session.begin():
                yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._reader is not self.engine:
            await self._reader.dispose()


def _configure_sqlite(engine: AsyncEngine, *, read_only: bool = False) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's own transaction handling would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if read_only:  # a write attempted in a read transaction fails at once, never waits on the event loop
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()
        dbapi_connection.create_function("casefold", 1, sqlite_casefold, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
