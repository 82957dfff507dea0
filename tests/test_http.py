"""`market-mcp serve --transport http`: one uvicorn process on loopback serving many organisations.

Each test starts real server processes (ended by PID) on the test's database and talks to them as the
SDK's HTTP client, and as curl would, with raw JSON-RPC.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from market_mcp.db import Database
from market_mcp.services import organizations
from tests.factories import Caller, Tenant
from tests.test_mail import free_port


@contextmanager
def http_server(db: Database, *arguments: str, logged: list[str] | None = None, **env: str) -> Iterator[str]:
    """A server process on a free loopback port; its base URL once /healthz answers. Killed by PID after;
    then what it wrote on standard error is appended to `logged`, if given."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_MCP_")}
    environment |= {"MARKET_MCP_DATABASE_URL": str(db.url), **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "market_mcp", "serve", "--transport", "http", "--port", str(port), *arguments],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, url, lambda: process.communicate()[1])
        yield url
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        if logged is not None:
            logged.append(err)
        assert out == "", out  # nothing but HTTP: stdout stays empty


def wait_until_healthy(process: subprocess.Popen[Any], url: str, why: Callable[[], str]) -> None:
    """Until the server process at `url` answers /healthz (30 s at most); `why` says what it printed if it died."""
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, why()
        try:
            if httpx2.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)


@asynccontextmanager
async def sdk_client(url: str, token: str) -> AsyncIterator[Caller]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        async with Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
            yield Caller(client)


def rpc(url: str, token: str | None, method: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
    """One JSON-RPC POST as curl sends it (the README's example: bearer token, JSON in, JSON out)."""
    sent = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {}), **headers}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, **({"params": params} if params else {})}
    return httpx2.post(f"{url}/mcp", headers=sent, content=json.dumps(body), timeout=30)


def tool_result(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
    return result


async def test_the_sdk_client_lists_and_calls_tools_with_a_bearer_token(alice: Tenant) -> None:
    with http_server(alice.db) as url:
        async with sdk_client(url, alice.token) as c:
            tools = (await c.client.list_tools()).tools
            market = await c.ok("create_market", name="Riverside", default_fee=45)
            listed = await c.ok("list_markets")
    assert {"create_market", "list_markets", "bulk_cancel_bookings"} <= {t.name for t in tools}
    assert [m["id"] for m in listed["items"]] == [market["id"]]


async def test_health_needs_no_token_and_mcp_without_one_is_401_with_www_authenticate(alice: Tenant) -> None:
    async with alice.db.transaction(write=True) as session:
        _, revoked = await organizations.create_token(session, slug=alice.slug, name="old laptop")
        token = await organizations.create_token(session, slug=alice.slug, name="to revoke")
    async with alice.db.transaction(write=True) as session:
        await organizations.revoke_token(session, token[0].id)  # type: ignore[arg-type]
    with http_server(alice.db) as url:
        health = httpx2.get(f"{url}/healthz")
        refusals = {
            "missing": rpc(url, None, "tools/list"),
            "unknown": rpc(url, "mk_org_" + "x" * 43, "tools/list"),
            "not even ours": rpc(url, "hunter2", "tools/list"),
            "revoked": rpc(url, token[1], "tools/list"),
        }
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    for why, response in refusals.items():
        assert response.status_code == 401, why
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge, why
        assert f'resource_metadata="{url}/.well-known/oauth-protected-resource/mcp"' in challenge, why
    assert revoked.startswith("mk_org_")


async def test_a_token_revoked_while_the_server_runs_stops_working_on_the_next_call(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless") as url:
        assert tool_result(rpc(url, alice.token, "tools/call", {"name": "list_markets", "arguments": {}}))
        async with alice.db.transaction(write=True) as session:
            await organizations.revoke_token(session, alice.token_id)
        after = rpc(url, alice.token, "tools/call", {"name": "list_markets", "arguments": {}})
    assert after.status_code == 401


async def test_the_convene_curl_works_as_written_on_a_stateless_server(alice: Tenant) -> None:
    # curl -s -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
    #   -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' …/mcp | jq '.result.tools[].name'
    with http_server(alice.db, "--stateless") as url:
        listed = rpc(url, alice.token, "tools/list")
        with_accept = rpc(url, alice.token, "tools/list", Accept="application/json, text/event-stream")
        created = rpc(
            url,
            alice.token,
            "tools/call",
            {"name": "create_market", "arguments": {"name": "Riverside", "capacity": 30}},
        )
        refused = rpc(url, alice.token, "tools/call", {"name": "get_market", "arguments": {"market_id": 999}})
    assert listed.status_code == 200 and listed.headers["content-type"].startswith("application/json")
    names = [tool["name"] for tool in listed.json()["result"]["tools"]]
    assert "approve_order" in names and names == [t["name"] for t in with_accept.json()["result"]["tools"]]
    market = tool_result(created)["structuredContent"]
    assert (market["name"], market["capacity"]) == ("Riverside", 30)
    failed = tool_result(refused)
    assert failed["isError"] is True
    assert failed["structuredContent"] == {"error": "Market 999 not found.", "code": 404}


async def test_two_organisations_interleaving_on_one_server_see_only_their_own(alice: Tenant, bob: Tenant) -> None:
    with http_server(alice.db) as url:
        async with sdk_client(url, alice.token) as a, sdk_client(url, bob.token) as b:

            async def create(c: Caller, names: list[str]) -> None:
                for name in names:
                    await c.ok("create_market", name=name)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(create, a, [f"Alice {n}" for n in range(8)])
                tasks.start_soon(create, b, [f"Bob {n}" for n in range(8)])
            alices = await a.ok("list_markets", limit=50)
            bobs = await b.ok("list_markets", limit=50)
            bobs_id = bobs["items"][0]["id"]
            refusal = await a.refused("get_market", 404, market_id=bobs_id)
    assert sorted(m["name"] for m in alices["items"]) == [f"Alice {n}" for n in range(8)]
    assert sorted(m["name"] for m in bobs["items"]) == [f"Bob {n}" for n in range(8)]
    assert refusal == f"Market {bobs_id} not found."


async def test_stateless_replicas_share_one_database_and_need_no_sticky_sessions(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless") as one, http_server(alice.db, "--stateless") as two:
        first = tool_result(rpc(one, alice.token, "tools/call", {"name": "create_market", "arguments": {"name": "A"}}))
        second = tool_result(rpc(two, alice.token, "tools/call", {"name": "create_market", "arguments": {"name": "B"}}))
        seen_by_one = tool_result(rpc(one, alice.token, "tools/call", {"name": "list_markets", "arguments": {}}))
        async with sdk_client(two, alice.token) as c:  # the SDK client against a stateless server too
            seen_by_two = await c.ok("list_markets")
    names = {first["structuredContent"]["name"], second["structuredContent"]["name"]}
    assert names == {"A", "B"}
    assert {m["name"] for m in seen_by_one["structuredContent"]["items"]} == names
    assert {m["name"] for m in seen_by_two["items"]} == names


async def test_over_the_rate_limit_a_call_gets_429_with_the_wait_and_later_succeeds(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless", MARKET_MCP_RATE_LIMIT="30") as url:
        call = {"name": "list_markets", "arguments": {}}
        outcomes = []
        while len(outcomes) < 60 and not (outcomes and outcomes[-1]["isError"]):  # a slow machine refills a little
            outcomes.append(tool_result(rpc(url, alice.token, "tools/call", call)))
        refusal = outcomes[-1]["structuredContent"]
        time.sleep(float(refusal["error"].split("retry in ")[1].split(" s")[0]))  # 30 a minute: one back every 2 s
        recovered = tool_result(rpc(url, alice.token, "tools/call", call))
    assert len(outcomes) > 30 and all(not o["isError"] for o in outcomes[:-1])
    assert refusal["code"] == 429
    assert refusal["error"] in (f"Rate limit of 30 requests per minute reached; retry in {n} s." for n in (1, 2))
    assert not recovered["isError"]


async def test_a_read_only_token_sees_only_read_tools_and_its_writes_are_403(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless") as url:
        everything = {t["name"] for t in rpc(url, alice.token, "tools/list").json()["result"]["tools"]}
        readable = {t["name"] for t in rpc(url, alice.read_token, "tools/list").json()["result"]["tools"]}
        write = tool_result(
            rpc(url, alice.read_token, "tools/call", {"name": "create_market", "arguments": {"name": "Sneaky"}})
        )
        listed = tool_result(rpc(url, alice.token, "tools/call", {"name": "list_markets", "arguments": {}}))
    assert {"list_markets", "get_order", "list_bookings"} <= readable < everything
    assert all(name.startswith(("list_", "get_", "search", "fetch", "export_csv")) for name in readable)
    assert write["structuredContent"]["code"] == 403
    assert listed["structuredContent"]["total"] == 0


async def test_toolsets_and_read_only_flags_shape_the_catalog_over_http(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless", "--toolsets", "markets,orders", "--read-only") as url:
        names = {t["name"] for t in rpc(url, alice.token, "tools/list").json()["result"]["tools"]}
    assert names == {
        "list_markets",
        "get_market",
        "get_calendar_links",
        "list_orders",
        "get_order",
        "list_payments",
        "get_money_report",
        "export_csv",
        "list_overdue_orders",
    }


@pytest.mark.parametrize("protocol", ["2024-11-05", "2025-06-18"])
async def test_initialize_then_calls_in_a_session_like_a_script(alice: Tenant, protocol: str) -> None:
    with http_server(alice.db) as url:
        init = rpc(
            url,
            alice.token,
            "initialize",
            {"protocolVersion": protocol, "capabilities": {}, "clientInfo": {"name": "curl", "version": "8"}},
        )
        session = init.headers["mcp-session-id"]
        rpc(url, alice.token, "notifications/initialized", **{"Mcp-Session-Id": session})
        called = rpc(
            url,
            alice.token,
            "tools/call",
            {"name": "list_markets", "arguments": {}},
            **{"Mcp-Session-Id": session, "Mcp-Protocol-Version": protocol},
        )
    assert init.json()["result"]["protocolVersion"] == protocol
    assert "Call get_context first" in init.json()["result"]["instructions"]
    assert tool_result(called)["structuredContent"]["total"] == 0


async def test_search_and_fetch_answer_in_the_connector_shapes_over_http(alice: Tenant, bob: Tenant) -> None:
    async with alice.client() as c:
        vendor = await c.ok("create_vendor", business_name="Rosa's Bakery", email="rosa@example.com")
    async with bob.client() as c:
        await c.ok("create_vendor", business_name="Rosa's Other Bakery", email="rosa@bob.example.com")
    with http_server(alice.db, "--stateless") as url:
        found = tool_result(rpc(url, alice.token, "tools/call", {"name": "search", "arguments": {"query": "rosa"}}))
        record = found["structuredContent"]["results"][0]
        fetched = tool_result(rpc(url, alice.token, "tools/call", {"name": "fetch", "arguments": {"id": record["id"]}}))
    assert [r["id"] for r in found["structuredContent"]["results"]] == [f"vendor:{vendor['id']}"]
    assert set(record) == {"id", "title", "url"}
    document = fetched["structuredContent"]
    assert set(document) == {"id", "title", "text", "url", "metadata"}
    assert document["id"] == record["id"] and "rosa@example.com" in document["text"]


async def test_behind_a_proxy_the_public_host_is_admitted_and_other_hosts_are_not(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless", "--public-url", "https://markets.example.com") as url:
        proxied = rpc(url, alice.token, "tools/list", Host="markets.example.com")
        rebound = rpc(url, alice.token, "tools/list", Host="attacker.example.net")
        direct = rpc(url, alice.token, "tools/list")
    assert proxied.status_code == 200 and direct.status_code == 200
    assert rebound.status_code in (400, 403, 421)


def draft_sentence(tenant: Tenant) -> str:
    return (
        f"{tenant.slug.title()} Markets is in draft; activate it with `market-mcp org set-status {tenant.slug} "
        "active` to use its tokens."
    )


@pytest.mark.parametrize("mode", [(), ("--stateless",)], ids=["stateful", "stateless"])
async def test_a_token_that_could_make_no_call_is_403_at_the_door_with_the_tool_calls_sentence(
    alice: Tenant, mode: tuple[str, ...]
) -> None:
    async with alice.db.transaction(write=True) as session:
        await organizations.set_status(session, alice.slug, "draft")
    hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "curl", "version": "8"}}
    with http_server(alice.db, *mode) as url:
        refusals = {
            "initialize": rpc(url, alice.token, "initialize", hello),
            "read-only initialize": rpc(url, alice.read_token, "initialize", hello),
            "read-only tools/list": rpc(url, alice.read_token, "tools/list"),
            "tools/call": rpc(url, alice.token, "tools/call", {"name": "list_markets", "arguments": {}}),
            "GET": httpx2.get(f"{url}/mcp", headers={"Authorization": f"Bearer {alice.token}"}, timeout=10),
        }
        with pytest.raises(BaseExceptionGroup) as raised:  # the SDK client fails in its task group
            async with sdk_client(url, alice.token):
                pass
    for why, response in refusals.items():
        assert (response.status_code, response.json()["error"]["message"]) == (403, draft_sentence(alice)), why
    error = raised.value
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    assert isinstance(error, MCPError) and error.error.message == draft_sentence(alice)


async def test_a_session_opened_while_active_is_refused_403_once_its_organisation_is_in_draft(alice: Tenant) -> None:
    hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "curl", "version": "8"}}
    with http_server(alice.db) as url:
        session = rpc(url, alice.token, "initialize", hello).headers["mcp-session-id"]
        rpc(url, alice.token, "notifications/initialized", **{"Mcp-Session-Id": session})
        async with alice.db.transaction(write=True) as transaction:
            await organizations.set_status(transaction, alice.slug, "draft")
        listed = rpc(
            url, alice.token, "tools/list", **{"Mcp-Session-Id": session, "Mcp-Protocol-Version": "2025-06-18"}
        )
    assert (listed.status_code, listed.json()["error"]["message"]) == (403, draft_sentence(alice))


async def test_the_access_log_never_records_a_query_string(alice: Tenant) -> None:
    logged: list[str] = []
    with http_server(alice.db, "--stateless", logged=logged, MARKET_MCP_LOG_LEVEL="INFO") as url:
        on_mcp = httpx2.post(
            f"{url}/mcp?access_token={alice.token}",
            headers={"Authorization": f"Bearer {alice.token}", "Content-Type": "application/json"},
            content=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            timeout=10,
        )
        on_token = httpx2.post(
            f"{url}/token?code=secret-code-123&refresh_token=mk_rt_abcdefghijklmnopqrstu", timeout=10
        )
        on_health = httpx2.get(f"{url}/healthz?why=secret-word-456", timeout=10)
    log = logged[0]
    assert (on_mcp.status_code, on_token.status_code, on_health.status_code) == (200, 401, 200)
    assert '"POST /mcp HTTP/1.1" 200' in log and '"POST /token HTTP/1.1" 401' in log
    assert '"GET /healthz HTTP/1.1" 200' in log
    assert alice.token not in log and "secret-code-123" not in log and "mk_rt_" not in log
    assert "secret-word-456" not in log
