"""A stdio server's start (market_mcp.front): initialize and tools/list are answered before the store's modules
are imported, filtered by the token's scope exactly as the real server filters them; calls then reach the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from market_mcp import catalog
from market_mcp.config import Settings
from market_mcp.db import Database
from market_mcp.front import UNKNOWN, quick_scope
from market_mcp.server import build_server
from market_mcp.services import organizations
from tests.conftest import sqlite_only
from tests.factories import Tenant

# The server as `market-mcp serve` runs it, reporting on stderr which of the store's modules were imported when
# it answered tools/list. The store loads at the first tools/list, not before (whatever the machine's load).
PROGRAM = """
import json, sys
from market_mcp import front
front.LOAD_AFTER_SECONDS = 600
answer = front.StdioFront._handle_list_tools
STORE = ("sqlalchemy", "sqlmodel", "alembic", "aiosqlite", "market_mcp.db", "market_mcp.services",
         "market_mcp.tools", "market_mcp.server", "market_mcp.auth")
async def reporting(self, ctx, params):
    result = await answer(self, ctx, params)
    store = sorted(name for name in sys.modules if name.startswith(STORE))
    sys.stderr.write("store modules at tools/list: " + json.dumps(store) + "\\n")
    return result
front.StdioFront._handle_list_tools = reporting
from market_mcp.cli import main
main(["serve"])
"""


def _send(process: subprocess.Popen[str], message: dict) -> None:
    assert process.stdin is not None
    process.stdin.write(json.dumps(message) + "\n")
    process.stdin.flush()


def _reply(process: subprocess.Popen[str], request_id: int) -> dict:
    assert process.stdout is not None
    while True:
        message = json.loads(process.stdout.readline())
        if message.get("id") == request_id:
            return message


@sqlite_only
def test_tools_list_is_answered_without_the_store_then_a_call_gets_the_stores_refusal(alice: Tenant) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_MCP_")}
    env |= {"MARKET_MCP_DATABASE_URL": str(alice.db.url), "MARKET_MCP_TOKEN": alice.read_token}
    process = subprocess.Popen(
        [sys.executable, "-c", PROGRAM],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
        _send(process, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello})
        assert _reply(process, 1)["result"]["serverInfo"]["name"] == "market-mcp"
        _send(process, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        _send(process, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        listed = [tool["name"] for tool in _reply(process, 2)["result"]["tools"]]
        call = {"name": "create_market", "arguments": {"name": "Late"}}
        _send(process, {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": call})
        refused = _reply(process, 3)["result"]
        _send(process, {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "list_markets"}})
        answered = _reply(process, 4)["result"]
    finally:
        _, err = process.communicate(timeout=60)
    assert listed == [name for name, item in catalog.listed().items() if not item.writes]  # a read-only token
    reported = next(line for line in err.splitlines() if line.startswith("store modules at tools/list: "))
    assert json.loads(reported.split(": ", 1)[1]) == []
    assert refused["isError"] is True and refused["structuredContent"]["code"] == 403
    assert "read-only" in refused["structuredContent"]["error"]
    assert answered.get("isError") is not True and answered["structuredContent"]["total"] == 0


async def _real_scope(db: Database, token: str) -> str | None:
    return await build_server(Settings(database_url=str(db.url)), db=db, token=token)._scope_of()


@sqlite_only
async def test_the_quick_scope_is_the_real_servers_for_every_kind_of_token(alice: Tenant, db: Database) -> None:
    settings = Settings(database_url=str(db.url))
    async with db.transaction(write=True) as session:
        _, revoked = await organizations.create_token(session, slug=alice.slug, name="gone")
    async with db.transaction(write=True) as session:
        (gone,) = [t for t in await organizations.list_tokens(session, alice.slug) if t.name == "gone"]
        await organizations.revoke_token(session, gone.id)  # type: ignore[arg-type]
    tokens = [alice.token, alice.read_token, revoked, "mk_org_unknown", "not-a-token"]
    for token in tokens:
        assert quick_scope(settings, token) == await _real_scope(db, token), token
    async with db.transaction(write=True) as session:
        await organizations.set_status(session, alice.slug, "draft")  # refused, but listed as its scope allows
    for token in tokens:
        assert quick_scope(settings, token) == await _real_scope(db, token), token
    assert quick_scope(settings, None) is None  # no token on a named store: every call is refused with 401


def test_where_a_plain_query_cannot_tell_the_real_server_is_asked() -> None:
    postgres = Settings(database_url="postgresql+asyncpg://u:p@localhost/market")
    assert quick_scope(postgres, "mk_org_x") == UNKNOWN
    assert quick_scope(Settings(database_url="sqlite+aiosqlite:///:memory:"), "mk_org_x") == UNKNOWN
    missing = Settings(database_url="sqlite+aiosqlite:////nonexistent/market.db")
    assert quick_scope(missing, "mk_org_x") == UNKNOWN  # not there yet: the real server migrates it first
    assert quick_scope(missing, "mk_at_x") == UNKNOWN  # a connector's token: its grant decides
