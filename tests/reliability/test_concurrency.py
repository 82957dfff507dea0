"""Concurrency, on SQLite and PostgreSQL alike: many clients at once, each its own connection.

(Already covered elsewhere: simultaneous approvals and confirmations for the last space, tests/tools/test_orders.py
and test_bookings.py; bulk cancels overlapping single cancels, test_bookings.py.) Here: retries of one write with
the same idempotency key arriving together, and a crowd of approvals, cancels and a bulk cancel on one date, with
a deadline so a deadlock left hanging fails instead of stalling CI.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import anyio
from sqlalchemy import func, select

from market_mcp.db.tables import AuditEntry, Booking, CreditTransaction, Market, Order
from tests.factories import Caller, Tenant
from tests.reliability.schemas import integrity_problems
from tests.tools.test_orders import approved_vendor, market_with_dates, order_of

CLIENTS = 12


async def together(tenant: Tenant, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Every call from its own client, released at the same moment; their results in order."""
    results: list[Any] = [None] * len(calls)
    async with AsyncExitStack() as stack:
        clients: list[Caller] = [await stack.enter_async_context(tenant.client()) for _ in calls]
        go = anyio.Event()

        async def one(n: int) -> None:
            await go.wait()
            tool, arguments = calls[n]
            results[n] = (await clients[n].call(tool, **arguments)).structured_content

        with anyio.fail_after(30):  # a deadlock left hanging fails here
            async with anyio.create_task_group() as tasks:
                for n in range(len(calls)):
                    tasks.start_soon(one, n)
                go.set()
    return results


async def count(tenant: Tenant, *where: Any, of: Any = None) -> int:
    async with tenant.db.transaction() as session:
        stmt = select(func.count()).select_from(of) if of is not None else select(func.count())
        return (await session.execute(stmt.where(*where))).scalar_one()


async def test_retries_of_one_create_with_the_same_key_arriving_together_create_it_once(alice: Tenant) -> None:
    call = ("create_market", {"name": "Harbour Night Market", "idempotency_key": "harbour-1"})
    results = await together(alice, [call] * CLIENTS)
    created = [r for r in results if "error" not in r]
    assert await count(alice, of=Market) == 1
    assert created and all(r == created[0] for r in created)
    # A retry told to retry gets the first result: no caller is left not knowing whether it happened.
    assert [r for r in results if "error" in r] == []
    assert await count(alice, AuditEntry.tool == "create_market", AuditEntry.outcome == "ok", of=AuditEntry) == 1


async def test_retries_of_one_approval_with_the_same_key_arriving_together_approve_once(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=2)
        vendor = await approved_vendor(c, s.market_id, "Fig Tree")
        await c.ok("create_credit", vendor_id=vendor, credit_amount=20)
        order = await order_of(c, vendor, s.date_ids)
    call = ("approve_order", {"order_id": order["id"], "idempotency_key": "approve-fig"})
    results = await together(alice, [call] * CLIENTS)
    assert [r for r in results if "error" in r] == []
    assert all(r == results[0] for r in results)
    assert (results[0]["status"], results[0]["credit_applied_cents"]) == ("payment_pending", 2000)
    assert await count(alice, CreditTransaction.kind == "use", of=CreditTransaction) == 1
    assert await integrity_problems(alice.db) == []


async def test_a_crowd_of_approvals_cancels_and_a_bulk_cancel_on_one_date_loses_no_update(alice: Tenant) -> None:
    capacity = 4
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1, capacity=capacity)
        orders = []
        for n in range(CLIENTS):  # orders are taken while the date has room; approval is what counts
            vendor = await approved_vendor(c, s.market_id, f"Stall {n}")
            orders.append(await order_of(c, vendor, s.date_ids))
        for order in orders[:capacity]:
            await c.ok("approve_order", order_id=order["id"])
    booked = [order["bookings"][0]["booking_id"] for order in orders[:capacity]]
    waiting = [order["id"] for order in orders[capacity:]]
    calls = [("approve_order", {"order_id": order_id}) for order_id in waiting]
    calls += [("cancel_booking", {"booking_id": booked[0]}), ("cancel_booking", {"booking_id": booked[1]})]
    calls += [("bulk_cancel_bookings", {"booking_ids": booked[:3]})]
    results = await together(alice, calls)
    approvals = results[: len(waiting)]
    approved = sum("error" not in r for r in approvals)
    refusals = {r["code"] for r in results if "error" in r}
    assert refusals <= {409}
    async with alice.db.transaction() as session:
        confirmed = (await session.execute(select(func.count()).where(Booking.status == "confirmed"))).scalar_one()
        cancelled = (await session.execute(select(func.count()).where(Booking.status == "cancelled"))).scalar_one()
        pending_orders = (await session.execute(select(func.count()).where(Order.status == "pending"))).scalar_one()
    assert cancelled == 3  # each of the three bookings cancelled once, whoever got there first
    assert confirmed == capacity - 3 + approved <= capacity
    assert pending_orders == len(waiting) - approved
    assert await integrity_problems(alice.db) == []
