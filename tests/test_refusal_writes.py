"""Refusals cost no write: a call refused for its token's rate limit or scope opens no write transaction, and
the audit keeps one compact row of such refusals per token, tool and minute, so a flood of refused calls
cannot grow the store faster than calls can."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from mcp import Client
from sqlalchemy import func, select

from market_mcp.config import Settings
from market_mcp.db import Database
from market_mcp.db.tables import AuditEntry, RateLimitWindow
from market_mcp.server import build_server
from tests.factories import Caller, Tenant

BIG = "x" * 9_000  # an argument near the audit's bound: a refusal must not store it
NOW = datetime(2026, 11, 23, 9, 30, 10, tzinfo=UTC)


@contextmanager
def write_transactions(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Every write transaction the server opens while inside."""
    opened: list[bool] = []
    original = db.transaction

    def spy(*, write: bool = False) -> Any:
        if write:
            opened.append(True)
        return original(write=write)

    monkeypatch.setattr(db, "transaction", spy)
    yield opened
    monkeypatch.undo()


@asynccontextmanager
async def at_its_limit(tenant: Tenant, **settings: Any) -> AsyncIterator[Caller]:
    """A client whose token has just used up its two calls a minute (the clock stands still at NOW)."""
    chosen = Settings(database_url=str(tenant.db.url), rate_limit=2, **settings)
    async with Client(build_server(chosen, db=tenant.db, token=tenant.token, clock=lambda: NOW)) as client:
        c = Caller(client)
        for _ in range(2):
            await c.ok("list_markets")
        yield c


async def audit_rows(db: Database) -> list[tuple[str, str, Any]]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(AuditEntry.tool, AuditEntry.outcome, AuditEntry.arguments).order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_calls_over_the_rate_limit_open_no_write_transaction_and_are_audited_once(
    alice: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("market_mcp.auth.time.monotonic", lambda: 1000.0)  # the bucket never refills here
    async with at_its_limit(alice) as c:
        with write_transactions(alice.db, monkeypatch) as opened:
            for _ in range(50):
                await c.refused("create_vendor", 429, business_name=BIG, email="rosa@example.com")
    assert len(opened) == 1  # the one compact audit row
    assert await audit_rows(alice.db) == [("create_vendor", "429", {})]


async def test_a_read_only_token_calling_a_write_opens_no_write_transaction_and_is_audited_once(
    alice: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with alice.client(read_only=True, clock=lambda: NOW) as c:
        await c.ok("list_markets")  # the token's first use is recorded (once a minute at most)
        with write_transactions(alice.db, monkeypatch) as opened:
            for _ in range(30):
                refusal = await c.refused("create_vendor", 403, business_name=BIG, email="rosa@example.com")
            await c.refused("create_market", 403, name=BIG)
    assert refusal == "This token is read-only; create_vendor needs a write token."
    assert len(opened) == 2
    assert await audit_rows(alice.db) == [("create_vendor", "403", {}), ("create_market", "403", {})]


async def test_a_refusal_by_the_shared_rate_limit_writes_nothing(
    alice: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with at_its_limit(alice, rate_limit_shared=True) as c:
        with write_transactions(alice.db, monkeypatch) as opened:
            for _ in range(20):
                await c.refused("list_markets", 429)
            for _ in range(20):
                await c.refused("get_context", 429)
    assert opened == []  # reads refused: not even an audit row (only writes are audited)
    async with alice.db.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(AuditEntry))).scalar_one() == 0


async def test_a_refusal_after_the_door_keeps_its_arguments_in_the_audit(alice: Tenant) -> None:
    """Refusals of calls that passed the rate limit (a 404, a 422) are bounded by it, and worth reading whole."""
    async with alice.client() as c:
        await c.refused("approve_order", 404, order_id=424242)
    assert await audit_rows(alice.db) == [("approve_order", "404", {"order_id": 424242})]


async def test_refusals_at_the_door_are_audited_again_the_next_minute(
    alice: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [NOW]
    async with alice.client(read_only=True, clock=lambda: now[0]) as c:
        for _ in range(3):
            await c.refused("create_vendor", 403, business_name="Rosa's Bakery", email="rosa@example.com")
        now[0] += timedelta(minutes=1)
        await c.refused("create_vendor", 403, business_name="Rosa's Bakery", email="rosa@example.com")
    assert await audit_rows(alice.db) == [("create_vendor", "403", {})] * 2


async def test_many_calls_at_once_under_the_shared_limit_never_wait_on_each_others_connections(
    alice: Tenant,
) -> None:
    """Each call holds one connection at a time: one that waited for a second (to count itself) while holding
    its first drained the pool (5 + 10 overflow) once 15 did the same, and all stalled for its 30 s timeout."""
    settings = Settings(database_url=str(alice.db.url), rate_limit=1_000, rate_limit_shared=True)
    answers: list[dict[str, Any]] = []

    async def call(tool: str) -> None:
        answers.append(await c.ok(tool))

    server = build_server(settings, db=alice.db, token=alice.token, clock=lambda: NOW)  # one window throughout
    async with Client(server) as client:
        c = Caller(client)
        with anyio.fail_after(20):
            async with anyio.create_task_group() as calls:
                for tool in ["list_markets"] * 40 + ["get_dashboard_summary"] * 20:
                    calls.start_soon(call, tool)
    assert len(answers) == 60
    assert sum(answer.get("total") == 0 for answer in answers) == 40  # every list_markets answered, empty
    async with alice.db.transaction() as session:
        counted = await session.scalar(select(func.sum(RateLimitWindow.calls)))
    assert counted == 60  # each call counted once, none lost to a stall
