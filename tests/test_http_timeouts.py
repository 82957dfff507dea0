"""Nothing holds a connection open for nothing: a stateless server's GET stream, a request sent slowly.

Real server processes, as in test_http.py; the slow requests are written byte by byte on a raw socket.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import httpx2

from tests.factories import Tenant
from tests.test_http import http_server

TIMEOUT = "1"  # MARKET_MCP_HTTP_REQUEST_TIMEOUT_SECONDS in these tests
BOUND = 4.0  # seconds: the timeout, and room for a busy machine


def answer_and_close(url: str, sent: bytes) -> tuple[bytes, float]:
    """What the server answers to `sent` (a request never finished) before it closes, and how long that took."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=BOUND + 6) as connection:
        connection.sendall(sent)
        began = time.monotonic()
        answer = b""
        while chunk := connection.recv(4096):  # b"" once the server has closed; a timeout raises
            answer += chunk
        return answer, time.monotonic() - began


async def test_a_stateless_server_answers_get_mcp_with_405_since_it_has_nothing_to_stream(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless") as url:
        response = httpx2.get(
            f"{url}/mcp",
            headers={"Authorization": f"Bearer {alice.token}", "Accept": "text/event-stream"},
            timeout=BOUND,
        )
    assert (response.status_code, response.headers["allow"]) == (405, "POST")


async def test_a_connection_that_sends_half_a_request_head_is_answered_408_and_closed(alice: Tenant) -> None:
    with http_server(alice.db, MARKET_MCP_HTTP_REQUEST_TIMEOUT_SECONDS=TIMEOUT) as url:
        answer, took = answer_and_close(url, b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
        silent, quiet_took = answer_and_close(url, b"")
    assert answer.startswith(b"HTTP/1.1 408 ") and b"connection: close" in answer.lower()
    assert took < BOUND
    assert (silent, quiet_took < BOUND) == (b"", True)  # a connection that never says anything is just closed


async def test_a_request_whose_body_never_arrives_in_full_is_answered_408_and_closed(alice: Tenant) -> None:
    with http_server(alice.db, MARKET_MCP_HTTP_REQUEST_TIMEOUT_SECONDS=TIMEOUT) as url:
        head = (
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {alice.token}\r\nContent-Length: 100\r\n\r\n"
        )
        answer, took = answer_and_close(url, head.encode() + b'{"jsonrpc": "2.0",')
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"The request's body did not arrive within 1 second" in answer
    assert took < BOUND
