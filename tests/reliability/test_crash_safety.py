"""Crash safety: a real `market-mcp serve` process killed with SIGKILL in the middle of a 1,000-booking
bulk_cancel_bookings, then started again: all or nothing, never half; the emails a committed call queued
survive a SIGKILL and are delivered once each.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from market_mcp.db.tables import Booking, Vendor
from tests.factories import Tenant
from tests.reliability.test_tokens import Stdio
from tests.test_mail import FROM, RecordingHandler, smtp_server
from tests.tools.test_orders import market_with_dates

BOOKINGS = 1000
EMAILS = 50
TABLES = ("booking", "credit", "credit_transaction", "email", "audit_entry", "waitlist_entry", "vendor_order")


async def confirmed_bookings(tenant: Tenant, n: int = 1000) -> list[int]:
    """n confirmed bookings of n vendors on one date, written straight to the store."""
    async with tenant.client() as c:
        s = await market_with_dates(c, dates=1, capacity=n)
    async with tenant.db.transaction(write=True) as session:
        stalls = [
            Vendor(organization_id=tenant.org_id, business_name=f"Stall {k}", email=f"stall{k}@example.com")
            for k in range(n)
        ]
        session.add_all(stalls)
        await session.flush()
        session.add_all(
            Booking(
                organization_id=tenant.org_id,
                vendor_id=stall.id,  # type: ignore[arg-type]
                market_date_id=s.date_ids[0],
                status="confirmed",
                amount_cents=4500,
            )
            for stall in stalls
        )
    async with tenant.db.transaction() as session:
        return list((await session.execute(select(Booking.id).order_by(Booking.id))).scalars())


async def snapshot(tenant: Tenant) -> dict[str, list[tuple[Any, ...]]]:
    async with tenant.db.transaction() as session:
        return {
            table: [tuple(row) for row in (await session.execute(text(f"SELECT * FROM {table} ORDER BY id"))).all()]
            for table in TABLES
        }


async def counts(tenant: Tenant) -> tuple[int, ...]:
    """(cancelled bookings, grant rows, cancellation emails)"""
    found = []
    async with tenant.db.transaction() as session:
        for sql in (
            "SELECT count(*) FROM booking WHERE status = 'cancelled'",
            "SELECT count(*) FROM credit_transaction WHERE kind = 'grant'",
            "SELECT count(*) FROM email WHERE kind = 'booking_cancelled'",
        ):
            found.append((await session.execute(text(sql))).scalar_one())
    return tuple(found)


def bulk_cancel(ids: list[int]) -> dict[str, Any]:
    arguments = {"booking_ids": ids, "credit_vendor": True, "reason": "Storm"}
    return {"name": "bulk_cancel_bookings", "arguments": arguments, "_meta": {"progressToken": "storm"}}


def killed_mid_call(server: Stdio, ids: list[int]) -> None:
    """Send the bulk cancel and SIGKILL the server as soon as it reports progress: it is inside the call's
    transaction then (progress is reported between its statements, before the commit)."""
    server.ids += 1
    server.send({"jsonrpc": "2.0", "id": server.ids, "method": "tools/call", "params": bulk_cancel(ids)})
    assert server.process.stdout is not None
    while True:
        message = json.loads(server.process.stdout.readline())
        if message.get("method") == "notifications/progress":
            os.kill(server.process.pid, signal.SIGKILL)
            break
        assert message.get("id") != server.ids, "the call finished before it reported progress"
    server.process.wait(timeout=10)
    server.err.close()
    assert server.process.returncode == -signal.SIGKILL


async def test_a_server_killed_in_the_middle_of_a_bulk_cancel_leaves_all_or_nothing_and_restarts(
    alice: Tenant, tmp_path: Path
) -> None:
    ids = await confirmed_bookings(alice, BOOKINGS)
    before = await snapshot(alice)
    killed_mid_call(Stdio(alice.db, alice.token, tmp_path / "killed.log"), ids)
    # Killed inside the transaction (progress is reported before the commit): not one row of it remains.
    assert await snapshot(alice) == before
    # Restarted on the same store: nothing half-done is in its way (no lock left behind, no stray row).
    server = Stdio(alice.db, alice.token, tmp_path / "restarted.log")
    try:
        result = server.ask("tools/call", bulk_cancel(ids))["result"]
    finally:
        server.stop()
    done = result["structuredContent"]
    assert (len(done["cancelled"]), done["skipped"], done["emails"]["queued"]) == (BOOKINGS, [], BOOKINGS)
    assert await counts(alice) == (BOOKINGS, BOOKINGS, BOOKINGS)


async def test_emails_queued_before_a_sigkill_are_delivered_once_each_after_the_restart(
    alice: Tenant, tmp_path: Path
) -> None:
    ids = await confirmed_bookings(alice, EMAILS)  # SMTP delivery is one connection per email: fewer, for time
    server = Stdio(alice.db, alice.token, tmp_path / "first.log")  # no SMTP: the emails stay queued
    done = server.ask("tools/call", bulk_cancel(ids))["result"]["structuredContent"]
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)
    server.err.close()
    assert done["emails"]["queued"] == EMAILS
    handler = RecordingHandler()
    with smtp_server(handler) as port:
        server = Stdio(
            alice.db, alice.token, tmp_path / "second.log", MARKET_MCP_SMTP_URL=f"smtp://127.0.0.1:{port}?from={FROM}"
        )
        try:
            deadline = time.monotonic() + 60
            while len(handler.received) < EMAILS and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(0.5)  # anything sent twice would arrive now
        finally:
            server.stop()
    message_ids = [m.message["Message-ID"] for m in handler.received]
    assert len(message_ids) == EMAILS == len(set(message_ids))
    async with alice.db.transaction() as session:
        statuses = (await session.execute(text("SELECT status, count(*) FROM email GROUP BY status"))).all()
    assert [tuple(row) for row in statuses] == [("sent", EMAILS)]
