from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from mcp import Client
from sqlalchemy import select

from market_mcp.auth import RateLimiter
from market_mcp.config import Settings
from market_mcp.db.tables import RateLimitWindow
from market_mcp.errors import RateLimited
from market_mcp.server import MarketServer, build_server
from tests.factories import Caller, Tenant


async def test_calls_over_the_per_minute_limit_are_refused_with_429_and_the_seconds_to_wait(
    alice: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("market_mcp.auth.time.monotonic", lambda: 1000.0)  # the calls take no time, however busy
    server = build_server(Settings(database_url=str(alice.db.url), rate_limit=3), db=alice.db, token=alice.token)
    async with Client(server) as client:
        c = Caller(client)
        for _ in range(3):
            await c.ok("list_markets")
        refusal = await c.refused("list_markets", 429)
    assert refusal == "Rate limit of 3 requests per minute reached; retry in 20 s."


async def test_each_token_has_its_own_allowance(alice: Tenant, bob: Tenant) -> None:
    settings = Settings(database_url=str(alice.db.url), rate_limit=1)
    async with Client(build_server(settings, db=alice.db, token=alice.token)) as a:
        await Caller(a).ok("list_markets")
        await Caller(a).refused("list_markets", 429)
    async with Client(build_server(settings, db=bob.db, token=bob.token)) as b:
        assert (await Caller(b).ok("list_markets"))["total"] == 0


def test_the_bucket_refills_over_the_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("market_mcp.auth.time.monotonic", lambda: clock[0])
    limiter = RateLimiter(60)
    for _ in range(60):
        limiter.check(7)
    with pytest.raises(RateLimited) as refused:
        limiter.check(7)
    assert refused.value.retry_after == 1
    clock[0] += 1.0
    limiter.check(7)
    assert json.dumps(refused.value.payload()) == json.dumps(
        {"error": "Rate limit of 60 requests per minute reached; retry in 1 s.", "code": 429}
    )


async def test_replicas_sharing_the_database_share_one_allowance_per_token(alice: Tenant, bob: Tenant) -> None:
    now = [datetime(2026, 11, 23, 9, 30, 10, tzinfo=UTC)]
    settings = Settings(database_url=str(alice.db.url), rate_limit=3, rate_limit_shared=True)

    def replica(token: str) -> MarketServer:
        return build_server(settings, db=alice.db, token=token, clock=lambda: now[0])

    async with Client(replica(alice.token)) as a, Client(replica(alice.token)) as b, Client(replica(bob.token)) as c:
        one, two, bobs = Caller(a), Caller(b), Caller(c)
        for caller in (one, two, one):
            await caller.ok("list_markets")
        refusal = await two.refused("list_markets", 429)
        assert (await bobs.ok("list_markets"))["total"] == 0  # another token's allowance is its own
        now[0] += timedelta(seconds=50)  # the next minute begins
        await two.ok("list_markets")
    assert refusal == "Rate limit of 3 requests per minute reached; retry in 50 s."
    async with alice.db.transaction() as session:
        windows = (await session.execute(select(RateLimitWindow.token_id, RateLimitWindow.calls))).all()
    assert sorted(tuple(w) for w in windows) == sorted([(alice.token_id, 1), (bob.token_id, 1)])  # old ones cleared
