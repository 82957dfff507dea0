"""SQLite read transactions run on the event loop's own thread: no hop to a driver thread per statement.

aiosqlite runs each connection in a thread of its own and waits for it on every cursor, execute, fetch and
close: a tool call's reads cost a few dozen round trips between threads (about 0.1 ms each, several when the
machine is busy) around SQL that takes a fraction of that. A read transaction on a WAL database never waits
for a lock (readers do not block writers or each other), and the reads our tools make are bounded (indexed
lookups and pages), so they run here directly on the stdlib `sqlite3` connection; SQLAlchemy's aiosqlite
adapter drives this connection exactly as it drives aiosqlite's (same dialect, same statements, same rows).

Writes keep aiosqlite: a write transaction may wait on the busy timeout for another writer, and that wait
must not stop the event loop. A connection here is opened with `PRAGMA query_only`, so a write attempted in
a read transaction fails at once instead of waiting.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any


class _Cursor:
    """An aiosqlite cursor's surface over a sqlite3 cursor; every method completes before it is awaited."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Iterable[Any] = ()) -> _Cursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> _Cursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _Now:
    """aiosqlite's request queue, as SQLAlchemy's adapter uses it (to set isolation_level): done at once."""

    __slots__ = ()

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # noqa: BLE001  (handed to the awaiting adapter, as aiosqlite does)
            future.set_exception(error)


class Connection:
    """An aiosqlite connection's surface over a sqlite3 connection used on the event loop's thread."""

    _tx = _Now()

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection  # aiosqlite's name; None once closed

    def cursor(self) -> _Cursor:
        assert self._connection is not None
        return _Cursor(self._connection.cursor())

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def connector(database: str) -> Callable[[], Any]:
    """create_async_engine's async_creator: connections to `database` used on the calling thread (the engine's
    connect hook makes them read-only)."""

    async def connect() -> Connection:
        # check_same_thread off: the pool may close a connection from the garbage collector's thread.
        return Connection(sqlite3.connect(database, isolation_level=None, check_same_thread=False))

    return connect
