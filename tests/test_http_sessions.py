"""Stateful Streamable HTTP sessions: each token has a share of them, and an idle one closes in minutes.

The SDK caps the whole server's sessions (10,000, each kept 30 minutes idle), so one organisation's token
could take every one of them and lock the others out. Real server processes, as in test_http.py.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import Any

import httpx2

from tests.factories import Tenant
from tests.test_http import http_server, rpc

PROTOCOL = "2025-06-18"


def initialize(url: str, token: str) -> Any:
    return rpc(
        url,
        token,
        "initialize",
        {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "curl", "version": "8"}},
    )


def opened(url: str, token: str) -> str:
    """A new session's id (initialize, then initialized, as a client does)."""
    response = initialize(url, token)
    assert response.status_code == 200, response.text
    session = response.headers["mcp-session-id"]
    rpc(url, token, "notifications/initialized", **{"Mcp-Session-Id": session})
    return session


def ping(url: str, token: str, session: str) -> int:
    """The HTTP status of a ping in `session`: 200 while it is open, 404 once it is closed."""
    return rpc(url, token, "ping", **{"Mcp-Session-Id": session, "Mcp-Protocol-Version": PROTOCOL}).status_code


async def test_a_token_over_its_share_closes_its_least_recently_used_session_and_others_still_connect(
    alice: Tenant, bob: Tenant
) -> None:
    with http_server(alice.db, MARKET_MCP_HTTP_SESSIONS_PER_TOKEN="3") as url:
        first, second, third = (opened(url, alice.read_token) for _ in range(3))
        assert ping(url, alice.read_token, first) == 200  # the first is used again: the second is now the oldest
        fourth = opened(url, alice.read_token)
        statuses = {name: ping(url, alice.read_token, s) for name, s in [("first", first), ("second", second)]}
        statuses |= {"third": ping(url, alice.read_token, third), "fourth": ping(url, alice.read_token, fourth)}
        flood = [initialize(url, alice.read_token).status_code for _ in range(30)]
        others = [initialize(url, token).status_code for token in (bob.token, bob.read_token, alice.token)]
    assert statuses == {"first": 200, "second": 404, "third": 200, "fourth": 200}
    assert flood == [200] * 30  # a client that reconnects without ending its sessions is never locked out
    assert others == [200, 200, 200]  # another token's share is its own, even the same organisation's


async def test_when_every_session_of_a_token_is_busy_one_more_is_refused_with_429_naming_the_share(
    alice: Tenant, bob: Tenant
) -> None:
    with (
        http_server(
            alice.db, MARKET_MCP_HTTP_SESSIONS_PER_TOKEN="2", MARKET_MCP_HTTP_SESSION_IDLE_SECONDS="120"
        ) as url,
        httpx2.Client(timeout=10) as http,
        ExitStack() as streams,
    ):
        for _ in range(2):  # a standalone GET stream holds its session busy for as long as it is open
            session = opened(url, alice.token)
            headers = {
                "Authorization": f"Bearer {alice.token}",
                "Accept": "text/event-stream",
                "Mcp-Session-Id": session,
                "Mcp-Protocol-Version": PROTOCOL,
            }
            stream = streams.enter_context(http.stream("GET", f"{url}/mcp", headers=headers))
            assert stream.status_code == 200
        refused = initialize(url, alice.token)
        other = initialize(url, bob.token)
    assert refused.status_code == 429
    assert refused.json()["error"]["message"] == (
        "This token already has 2 open sessions (the most one token may hold), each busy with a request; "
        "end one (DELETE /mcp with its Mcp-Session-Id) or let one finish. A session with no request for "
        "2 minutes is closed."
    )
    assert other.status_code == 200


async def test_an_idle_session_is_closed_after_the_idle_setting(alice: Tenant) -> None:
    with http_server(alice.db, MARKET_MCP_HTTP_SESSION_IDLE_SECONDS="2") as url:
        session = opened(url, alice.token)
        at_once = ping(url, alice.token, session)
        time.sleep(4)
        later = ping(url, alice.token, session)
        again = opened(url, alice.token)
    assert (at_once, later) == (200, 404)
    assert again != session
