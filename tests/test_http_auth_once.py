"""Over HTTP a request's token is looked up once: the SDK's bearer middleware finds whom it identifies, and the
call it carries uses that identity rather than a second lookup. Revocation still takes effect from the next
request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2 as httpx
import pytest

from market_mcp import auth
from market_mcp.config import Settings
from market_mcp.db import Database
from market_mcp.server import build_server
from market_mcp.services import organizations
from tests.factories import Tenant

URL = "http://127.0.0.1:8000"


@asynccontextmanager
async def stateless_app(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP app in this process (as `serve --transport http --stateless` builds it), lifespan and all."""
    server = build_server(Settings(database_url=str(db.url), rate_limit=100_000), db=db, public_url=URL)
    app = server.streamable_http_app(stateless_http=True, json_response=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=URL) as client:
            yield client


async def call(client: httpx.AsyncClient, token: str, tool: str, **arguments: Any) -> httpx.Response:
    return await client.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}},
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
        },
    )


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every time a token is looked up in the store."""
    seen: list[str] = []
    original = auth.authenticate

    async def counted(session: Any, raw: str | None) -> auth.TokenIdentity:
        seen.append(raw or "")
        return await original(session, raw)

    monkeypatch.setattr("market_mcp.server.authenticate", counted)
    monkeypatch.setattr("market_mcp.oauth.provider.authenticate", counted)
    return seen


async def test_a_tool_call_over_http_looks_its_token_up_once(alice: Tenant, lookups: list[str]) -> None:
    async with stateless_app(alice.db) as client:
        for _ in range(3):
            answer = await call(client, alice.token, "create_market", name="Riverside")
            assert answer.status_code == 200 and not answer.json()["result"]["isError"], answer.text
            answer = await call(client, alice.read_token, "list_markets")
            assert answer.json()["result"]["structuredContent"]["total"] >= 1
    assert lookups == [alice.token, alice.read_token] * 3


async def test_a_token_revoked_between_requests_is_refused_from_the_next(alice: Tenant) -> None:
    async with stateless_app(alice.db) as client:
        assert (await call(client, alice.token, "list_markets")).status_code == 200
        async with alice.db.transaction(write=True) as session:
            await organizations.revoke_token(session, alice.token_id)
        refused = await call(client, alice.token, "list_markets")
    assert refused.status_code == 401
