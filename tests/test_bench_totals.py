"""bench/generate.py loads its rows with raw sqlite3 and the dashboard totals' triggers dropped: it rebuilds the
totals and creates the triggers again, so a generated file's dashboard equals its figures from the rows."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
from bench.generate import analyse, analysed, generate
from sqlalchemy import select

from market_mcp.auth import OrgContext, TokenIdentity
from market_mcp.db import Database, totals
from market_mcp.db.tables import Organization
from market_mcp.services import dashboard
from tests.conftest import sqlite_only
from tests.services.dashboard_reference import figures_from_rows


@sqlite_only
async def test_a_generated_bench_file_has_its_totals_and_their_triggers(tmp_path: Path) -> None:
    path = await anyio.to_thread.run_sync(generate, 0.05, 7, tmp_path / "bench.db")  # it runs its own loop
    with sqlite3.connect(path) as con:
        made = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        with_statistics = {table for (table,) in con.execute("SELECT tbl FROM sqlite_stat1 WHERE stat NOT LIKE '0 %'")}
    assert {"booking", "vendor", "vendor_order"} <= with_statistics, (
        "planner statistics of the rows, not of empty tables"
    )
    assert analysed(path)
    with sqlite3.connect(path) as con:  # a file built before the generator analysed, as `python -m bench` may reuse
        con.execute("DROP TABLE sqlite_stat1")
    assert not analysed(path)
    with sqlite3.connect(path) as con:
        analyse(con)
    assert analysed(path)
    assert {statement.split()[2] for statement in totals.sqlite_triggers()} <= made
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.transaction() as session:
            orgs = (await session.execute(select(Organization))).scalars().all()
        assert len(orgs) == 2
        for o in orgs:
            identity = TokenIdentity(
                token_id=1,
                token_name="t",
                scope="read",
                last_used_at=None,
                organization_id=o.id,  # type: ignore[arg-type]
                organization_name=o.name,
                organization_slug=o.slug,
                currency=o.currency,
                timezone=o.timezone,
            )
            for shift in (-20, 0, 4):
                moment = datetime.now(UTC) + timedelta(days=shift)
                async with db.transaction() as session:
                    org = OrgContext.of(session, identity, clock=lambda moment=moment: moment)
                    got = {name: int(value) for name, value in (await dashboard._figures(org))._mapping.items()}
                    assert got == await figures_from_rows(org)
    finally:
        await db.dispose()
