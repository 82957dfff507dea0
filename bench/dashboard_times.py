"""The dashboard's figures timed one by one on a bench file: p50 of each figure's subquery, then of get_dashboard.

    PYTHONPATH=src python -m bench.dashboard_times bench/data/scale-1-seed-7.db [runs]

Read-only on the file's rows, but opening it with the project's Database migrates it: time a copy. The figures
are those of market_mcp.services.dashboard._figures, taken from the statement it runs, so the same command times
any version of it (running totals since migration 0012; the aggregate before).
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

import anyio
from sqlalchemy import select

from market_mcp.auth import OrgContext
from market_mcp.db import Database
from market_mcp.db.tables import Organization
from market_mcp.services import dashboard


async def main(path: str, runs: int) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}")
    async with db.transaction() as session:
        o = (await session.execute(select(Organization).where(Organization.id == 1))).scalar_one()

    def context(session: Any) -> OrgContext:
        return OrgContext(
            session=session,
            organization_id=o.id,  # type: ignore[arg-type]
            organization_name=o.name,
            organization_slug=o.slug,
            currency=o.currency,
            timezone=o.timezone,
            token_id=1,
            token_name="bench",
            scope="read",
        )

    captured: dict[str, Any] = {}
    async with db.transaction() as session:
        run = session.execute

        async def capture(stmt: Any, *args: Any, **kwargs: Any) -> Any:
            captured["stmt"] = stmt
            return await run(stmt, *args, **kwargs)

        session.execute = capture  # type: ignore[method-assign]
        await dashboard._figures(context(session))
    for column in [*captured["stmt"].selected_columns, None]:
        times = []
        for _ in range(runs):
            async with db.transaction() as session:
                started = time.perf_counter()
                if column is None:
                    await dashboard.get_dashboard(context(session))
                else:
                    await session.execute(select(column))
                times.append((time.perf_counter() - started) * 1000)
        name = "get_dashboard (service)" if column is None else column.name
        sys.stdout.write(f"{name:32s} {statistics.median(times):9.2f} ms\n")
    await db.dispose()


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 7)
