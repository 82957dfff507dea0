"""PostgreSQL for the bench: a server (the one `MARKET_MCP_BENCH_POSTGRES_URL` names, or one of our own on
loopback), and a scale's SQLite file copied into it.

Our own server: a cluster initialised once in bench/data/pg (gitignored; as the `postgres` user when running as
root, since PostgreSQL refuses root), started on a free loopback port for the run and stopped by its PID.

The copy: the database is migrated by the project's own migrations (`market_mcp.db.migrate.upgrade`), then
every table is copied from the SQLite file with COPY (asyncpg's `copy_records_to_table`), foreign-key triggers
off while it runs; then each id sequence is moved past the largest id, and the database ANALYZEd. The ids are the
SQLite file's, so the questions' ids (picked from the SQLite file) name the same records. A database already
holding the same file (same scale, seed, day built and schema: noted as the schema's comment) is reused.
A database named by `MARKET_MCP_BENCH_POSTGRES_URL` is the bench's: its public schema is dropped and rebuilt.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg

from market_mcp.db import Database
from market_mcp.db.migrate import upgrade

BENCH = Path(__file__).parent
CLUSTER = BENCH / "data" / "pg"
ENVIRONMENT = "MARKET_MCP_BENCH_POSTGRES_URL"


def binaries() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian's layout), if any."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def unavailable() -> str | None:
    """Why PostgreSQL figures cannot be made here (None: they can)."""
    if os.environ.get(ENVIRONMENT):
        return None
    if binaries() is None:
        return f"no {ENVIRONMENT} given and no PostgreSQL installed (/usr/lib/postgresql/*/bin)"
    return None


@contextmanager
def server(log: Callable[[str], None]) -> Iterator[str]:
    """A postgresql+asyncpg URL for the bench's database: the given one, or our own server's (stopped after)."""
    given = os.environ.get(ENVIRONMENT)
    if given:
        yield given.replace("postgresql://", "postgresql+asyncpg://", 1)
        return
    bin_dir = binaries()
    assert bin_dir is not None
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = CLUSTER / "data"
    if not (data / "PG_VERSION").exists():
        shutil.rmtree(CLUSTER, ignore_errors=True)
        CLUSTER.mkdir(parents=True)
        if as_postgres:
            shutil.chown(CLUSTER, "postgres")
        log(f"postgres: initdb {data}")
        subprocess.run(
            [*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
        )
    from bench.measure import free_port

    port = free_port()
    options = (
        f"-p {port} -k {CLUSTER} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB"
    )
    subprocess.run(
        [
            *as_postgres,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(CLUSTER / "server.log"),
            "-w",
            "-o",
            options,
            "start",
        ],
        check=True,
        capture_output=True,
    )
    pid = int((data / "postmaster.pid").read_text().split()[0])
    log(f"postgres: started on 127.0.0.1:{port} (pid {pid})")
    try:
        with _database(f"postgresql://postgres@127.0.0.1:{port}/postgres", "market_mcp_bench"):
            yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/market_mcp_bench"
    finally:
        os.kill(pid, signal.SIGINT)  # fast shutdown
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        log("postgres: stopped")


@contextmanager
def _database(admin_url: str, name: str) -> Iterator[None]:
    async def create() -> None:
        con = await asyncpg.connect(admin_url)
        try:
            if not await con.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await con.execute(f'CREATE DATABASE "{name}"')
        finally:
            await con.close()

    asyncio.run(create())
    yield


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def load(url: str, sqlite_path: Path, manifest: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """Copy the SQLite file into the database at `url` (unless it already holds it): what was done, how long."""
    key = json.dumps({k: manifest[k] for k in ("scale", "seed", "built_on", "schema")}, sort_keys=True)
    return asyncio.run(_load(url, sqlite_path, key, log))


async def _load(url: str, sqlite_path: Path, key: str, log: Callable[[str], None]) -> dict[str, Any]:
    started = time.monotonic()
    con = await asyncpg.connect(_plain(url))
    try:
        held = await con.fetchval("SELECT obj_description('public'::regnamespace, 'pg_namespace')")
        if held == key:
            log("postgres: reusing the loaded copy")
            return {"reused": True, "seconds": 0.0}
        await con.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await con.close()
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()
    con = await asyncpg.connect(_plain(url))
    lite = sqlite3.connect(sqlite_path)
    rows = 0
    try:
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, kind in await con.fetch(
            """SELECT table_name, column_name, data_type FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name <> 'alembic_version' ORDER BY table_name, ordinal_position"""
        ):
            columns.setdefault(table, []).append((column, kind))
        await con.execute("SET session_replication_role = replica")  # no foreign-key triggers while copying
        for table, cols in columns.items():
            names = [c for c, _ in cols]
            convert = [_converter(kind) for _, kind in cols]
            await con.execute(f'DELETE FROM "{table}"')  # rows a migration seeded (link_key) give way to the copy
            cursor = lite.execute(f'SELECT {", ".join(f"{chr(34)}{c}{chr(34)}" for c in names)} FROM "{table}"')
            while batch := cursor.fetchmany(50_000):
                records = [tuple(f(v) for f, v in zip(convert, row, strict=True)) for row in batch]
                await con.copy_records_to_table(table, records=records, columns=names)
                rows += len(records)
            if "id" in names:
                await con.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), coalesce(max(id), 0) + 1, false) "
                    f"FROM \"{table}\" HAVING pg_get_serial_sequence('\"{table}\"', 'id') IS NOT NULL"
                )
        await con.execute("SET session_replication_role = DEFAULT")
        await con.execute("ANALYZE")
        await con.execute(f"COMMENT ON SCHEMA public IS '{key}'")
    finally:
        lite.close()
        await con.close()
    seconds = round(time.monotonic() - started, 1)
    log(f"postgres: copied {rows:,} rows in {seconds} s")
    return {"reused": False, "seconds": seconds, "rows": rows}


def _converter(kind: str) -> Callable[[Any], Any]:
    def when(value: Any) -> Any:
        if value is None or isinstance(value, datetime):
            return value
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

    def day(value: Any) -> Any:
        return date.fromisoformat(value) if isinstance(value, str) else value

    def boolean(value: Any) -> Any:
        return None if value is None else bool(value)

    def as_json(value: Any) -> Any:
        return value if value is None or isinstance(value, str) else json.dumps(value)

    def text(value: Any) -> Any:
        return value if value is None or isinstance(value, str) else str(value)

    if kind.startswith("timestamp"):
        return when
    if kind == "date":
        return day
    if kind == "boolean":
        return boolean
    if kind in ("json", "jsonb"):
        return as_json
    if kind in ("text", "character varying"):
        return text
    return lambda value: value
