"""Tokens, on every transport: compared in constant time, never written to logs (at DEBUG), results or the audit
log, and a change to a token (revoked, creator deactivated, organisation in draft) holds from the next call.

(Stored only as hashes, 401/403 in-process: tests/test_tokens.py; revoked and draft over HTTP: tests/test_http.py.)
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from market_mcp import auth
from market_mcp.db import Database
from market_mcp.db.tables import ApiToken, AuditEntry, User
from market_mcp.errors import MISSING_TOKEN
from market_mcp.services import organizations
from tests.factories import Tenant
from tests.test_http import rpc, tool_result, wait_until_healthy
from tests.test_mail import free_port
from tests.test_stdio import RawStdio


def environment(db: Database, **env: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_MCP_")}
    return clean | {"MARKET_MCP_DATABASE_URL": str(db.url), "MARKET_MCP_LOG_LEVEL": "DEBUG", **env}


@contextmanager
def http_server_logging(db: Database, log: Path) -> Iterator[str]:
    """An HTTP server logging at DEBUG into `log`; its base URL once /healthz answers. Ended by PID."""
    port = free_port()
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "market_mcp", "serve", "--transport", "http", "--port", str(port), "--stateless"],
            env=environment(db),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(process, url, log.read_text)
            yield url
        finally:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=10)


class Stdio(RawStdio):
    """`market-mcp serve` as Claude Desktop runs it, logging at DEBUG to a file, already initialized."""

    def __init__(self, db: Database, token: str, log: Path, **env: str) -> None:
        self.err = log.open("w")
        super().__init__(db, token, stderr=self.err, MARKET_MCP_LOG_LEVEL="DEBUG", **env)
        self.ids = 0
        self.ask(
            "initialize",
            {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
        )
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def ask(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The reply to a request with the next id (notifications the server sends meanwhile are skipped)."""
        self.ids += 1
        self.send({"jsonrpc": "2.0", "id": self.ids, "method": method, "params": params})
        while True:
            reply = self.receive()
            if reply.get("id") == self.ids:
                return reply

    def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        result = self.ask("tools/call", {"name": tool, "arguments": arguments})["result"]
        return json.loads(result["content"][0]["text"])

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=15)
        self.err.close()


def secret(token: str) -> str:
    return token[len("mk_org_") + 4 :]  # what follows the display prefix, which is meant to be shown


async def audit_and_results_free_of(tenant: Tenant, *tokens: str) -> None:
    async with tenant.db.transaction() as session:
        entries = (await session.execute(select(AuditEntry))).scalars().all()
    dump = json.dumps([(e.tool, e.arguments, e.records, e.token_name) for e in entries], default=str)
    assert entries and not any(secret(t) in dump for t in tokens)


async def test_a_token_is_checked_against_its_stored_hash_in_constant_time(
    alice: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[str, str]] = []
    original = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    async with alice.client() as c:
        await c.ok("list_markets")
    digest = auth.hash_token(alice.token)
    assert compared and set(compared) == {(digest, digest)}


async def test_no_token_reaches_the_log_at_debug_a_result_or_the_audit_log_in_process(
    alice: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    unknown = "mk_org_" + "Q" * 43
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG):
        async with alice.client() as c:
            seen.append(json.dumps(await c.ok("create_market", name="Harbour")))
            seen.append(await c.refused("get_market", 404, market_id=999))
            # A token pasted where text goes is someone's mistake: a refusal neither audits nor repeats it.
            seen.append(await c.refused("create_market", 422, name=alice.token * 10))
            seen.append(await c.refused("create_market", 422, name="x", token=alice.token))
        async with alice.client(read_only=True) as c:
            seen.append(await c.refused("create_market", 403, name="Harbour"))
        async with alice.client(token=unknown) as c:
            seen.append(await c.refused("list_markets", 401))
    text = caplog.text + "".join(seen)
    assert caplog.records  # DEBUG really was captured
    for token in (alice.token, alice.read_token, unknown):
        assert secret(token) not in text
    await audit_and_results_free_of(alice, alice.token, alice.read_token)


async def test_over_stdio_a_token_revoked_or_its_creator_deactivated_fails_on_the_next_call_and_is_never_logged(
    alice: Tenant, tmp_path: Path
) -> None:
    log = tmp_path / "stdio.log"
    server = Stdio(alice.db, alice.token, log)
    try:
        # A token pasted into a description is the organiser's data, kept as given, but never logged.
        assert server.call("create_market", name="Harbour", description=f"key {alice.token}")["name"] == "Harbour"
        async with alice.db.transaction(write=True) as session:
            await session.execute(update(User).values(active=False))
        deactivated = server.call("list_markets")
        async with alice.db.transaction(write=True) as session:
            await session.execute(update(User).values(active=True))
            await organizations.revoke_token(session, alice.token_id)
        revoked = server.call("list_markets")
    finally:
        server.stop()
    assert deactivated == {
        "error": "This token's creator (admin@alice.example.com) has been deactivated; create a new token.",
        "code": 403,
    }
    assert revoked == {"error": MISSING_TOKEN, "code": 401}
    logged = log.read_text()
    assert "DEBUG" in logged and secret(alice.token) not in logged
    await audit_and_results_free_of(alice, alice.token)


async def test_over_http_a_deactivated_creators_token_is_403_from_the_next_call_and_no_token_is_logged(
    alice: Tenant, tmp_path: Path
) -> None:
    log = tmp_path / "http.log"
    call = {"name": "list_markets", "arguments": {}}
    with http_server_logging(alice.db, log) as url:
        before = tool_result(rpc(url, alice.token, "tools/call", call))
        async with alice.db.transaction(write=True) as session:
            token = (await session.execute(select(ApiToken).where(ApiToken.id == alice.token_id))).scalar_one()
            await session.execute(update(User).where(User.id == token.user_id).values(active=False))
        after = rpc(url, alice.token, "tools/call", call)  # refused at the door, with the tool call's sentence
        unknown = rpc(url, "mk_org_" + "Q" * 43, "tools/call", call)
        refused_write = rpc(url, alice.read_token, "tools/call", {"name": "create_market", "arguments": {"name": "x"}})
    assert before["isError"] is False
    assert (after.status_code, after.json()["error"]["message"]) == (
        403,
        "This token's creator (admin@alice.example.com) has been deactivated; create a new token.",
    )
    assert unknown.status_code == 401
    assert refused_write.status_code == 403  # the same creator's read-only token: refused at the door too
    logged = log.read_text()
    assert "DEBUG" in logged
    for token in (alice.token, alice.read_token, "mk_org_" + "Q" * 43):
        assert secret(token) not in logged
