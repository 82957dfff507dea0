"""The published input schemas, read once per process, and the integrity of a database after any calls."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from mcp import Client
from sqlalchemy import func, select
from sqlmodel import SQLModel

from market_mcp.config import Settings
from market_mcp.db import Database
from market_mcp.db.tables import Booking, Credit, CreditTransaction, MarketDate, WaitlistEntry
from market_mcp.db.types import utcnow
from market_mcp.server import build_server
from market_mcp.tools import TOOLSETS

_schemas: dict[str, dict[str, Any]] = {}


def input_schemas() -> dict[str, dict[str, Any]]:
    """Every registered tool's inputSchema exactly as tools/list publishes it (tools/list never touches the store)."""
    if not _schemas:

        async def read() -> None:
            db = Database("sqlite+aiosqlite:///:memory:")
            server = build_server(Settings(database_url=str(db.url)), db=db, token="mk_org_unused")
            async with Client(server) as client:
                _schemas.update({t.name: t.input_schema for t in (await client.list_tools()).tools})
            await db.dispose()

        asyncio.run(read())
    return _schemas


def registered_tools() -> list[str]:
    return [spec.name for toolset in TOOLSETS.values() for spec in toolset.tools]


def leaves(schema: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, sub-schema) of every value an argument can take: through anyOf branches and array items."""
    yield path, schema
    for n, branch in enumerate(schema.get("anyOf", [])):
        yield from leaves(branch, f"{path}|{n}")
    if "items" in schema:
        yield from leaves(schema["items"], f"{path}[]")


# ---------------------------------------------------------------- integrity: what no sequence of calls may break


async def integrity_problems(db: Database) -> list[str]:
    """Every broken invariant of the store, in words (an empty list: all hold)."""
    problems: list[str] = []
    async with db.transaction() as session:
        # A credit's remaining amount is the sum of its ledger, never below zero; each row's balance the running sum.
        ledger = (
            await session.execute(
                select(Credit.id, Credit.remaining_cents, func.coalesce(func.sum(CreditTransaction.amount_cents), 0))
                .outerjoin(CreditTransaction, CreditTransaction.credit_id == Credit.id)
                .group_by(Credit.id, Credit.remaining_cents)
            )
        ).all()
        problems += [f"credit {c}: remaining {r} but its ledger sums to {s}" for c, r, s in ledger if r != s or r < 0]
        rows = (
            await session.execute(
                select(
                    CreditTransaction.credit_id, CreditTransaction.amount_cents, CreditTransaction.balance_after_cents
                ).order_by(CreditTransaction.id)
            )
        ).all()
        running: dict[int, int] = {}
        for credit_id, amount, balance in rows:
            running[credit_id] = running.get(credit_id, 0) + amount
            if balance != running[credit_id] or balance < 0:
                problems.append(
                    f"credit {credit_id}: a row says balance {balance}, the running sum is {running[credit_id]}"
                )
        # A date never holds more confirmed bookings plus open offers than its capacity.
        now = utcnow()
        confirmed = (
            select(func.count())
            .where(Booking.market_date_id == MarketDate.id, Booking.status == "confirmed")
            .scalar_subquery()
        )
        offers = (
            select(func.count())
            .where(
                WaitlistEntry.market_date_id == MarketDate.id,
                WaitlistEntry.status == "notified",
                WaitlistEntry.offer_expires_at > now,  # type: ignore[operator]
            )
            .scalar_subquery()
        )
        over = (
            await session.execute(
                select(MarketDate.id, MarketDate.capacity, confirmed, offers).where(
                    confirmed + offers > MarketDate.capacity
                )
            )
        ).all()
        problems += [f"market date {d}: capacity {cap}, {c} confirmed and {o} open offers" for d, cap, c, o in over]
        # A space is held by one active booking on a date; a vendor has one active booking a date.
        active = Booking.status.in_(("pending", "confirmed"))  # type: ignore[attr-defined]
        for column in (Booking.space_number, Booking.vendor_id):
            twice = (
                await session.execute(
                    select(Booking.market_date_id, column, func.count())
                    .where(active, column.is_not(None))  # type: ignore[union-attr]
                    .group_by(Booking.market_date_id, column)
                    .having(func.count() > 1)
                )
            ).all()
            problems += [f"market date {d}: {column.key} {v} held by {n} active bookings" for d, v, n in twice]
        # No orphans, and no row pointing at another organisation's row.
        for table in SQLModel.metadata.sorted_tables:
            for fk in table.foreign_keys:
                parent = fk.column.table
                child_column = fk.parent
                alias = parent.alias()
                joined = alias.c[fk.column.name] == child_column
                orphans = (
                    await session.execute(
                        select(func.count())
                        .select_from(table.outerjoin(alias, joined))
                        .where(child_column.is_not(None), alias.c[fk.column.name].is_(None))
                    )
                ).scalar_one()
                if orphans:
                    problems.append(f"{orphans} {table.name} rows point at no {parent.name} ({child_column.name})")
                if "organization_id" in table.c and "organization_id" in alias.c and parent.name != "organization":
                    strays = (
                        await session.execute(
                            select(func.count())
                            .select_from(table.join(alias, joined))
                            .where(table.c.organization_id != alias.c.organization_id)
                        )
                    ).scalar_one()
                    if strays:
                        problems.append(
                            f"{strays} {table.name} rows point at another organisation's {parent.name} "
                            f"({child_column.name})"
                        )
    return problems
