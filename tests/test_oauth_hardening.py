"""The authorization server's answers to a stranger's tricks: stolen secrets, wider scopes, lookalike and open
redirects, and a metadata document whose host changes address between our check and our fetch."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mcp.server.auth.provider import RegistrationError
from sqlalchemy import select

from market_mcp.db.tables import OAuthGrant
from market_mcp.oauth import client_documents
from tests.factories import Tenant
from tests.test_cli import Cli
from tests.test_http import http_server, tool_result
from tests.test_oauth import (
    call,
    connect,
)

# Last used -------------------------------------------------------------------------------------------------


async def test_a_connectors_use_is_recorded_and_listed(alice: Tenant, tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.url = str(alice.db.url)
    with http_server(alice.db, "--stateless") as url:
        assert not tool_result(call(url, alice.token, "list_markets"))["isError"]  # the API token, used just now
        _, tokens = connect(url, alice.token, client_name="ChatGPT")
        assert not tool_result(call(url, tokens["access_token"], "list_markets"))["isError"]
    async with alice.db.transaction() as session:
        used = (await session.execute(select(OAuthGrant.last_used_at).where(OAuthGrant.status == "active"))).scalar()
    listed = json.loads(cli.run("token", "list", "--org", alice.slug, "--json").stdout)
    connector = next(row for row in listed if row["kind"] == "connector")
    assert used is not None and connector["last_used_at"] == used.isoformat()


# Metadata documents ----------------------------------------------------------------------------------------


@contextmanager
def internal_service() -> Iterator[tuple[int, list[str]]]:
    """A service on loopback that must never be reached from outside: its port, and who connected to it."""
    connected: list[str] = []

    class Internal(ThreadingHTTPServer):
        def verify_request(self, request: Any, client_address: Any) -> bool:
            connected.append(client_address[0])
            return False

    server = Internal(("127.0.0.1", 0), BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], connected
    finally:
        server.shutdown()


async def test_a_metadata_documents_host_is_resolved_once_and_fetched_from_the_checked_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the name answers a public address to our check and loopback to the fetch."""
    with internal_service() as (port, connected):
        answers = iter(["93.184.215.14", "127.0.0.1"])
        asked: list[str] = []
        original = socket.getaddrinfo

        def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
            if host not in ("docs.example", b"docs.example"):
                return original(host, *args, **kwargs)
            asked.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers, "127.0.0.1"), port))]

        monkeypatch.setattr(socket, "getaddrinfo", resolver)
        monkeypatch.setattr(client_documents, "FETCH_TIMEOUT_SECONDS", 0.5)  # the public address is not there
        with pytest.raises(RegistrationError):
            await client_documents.fetch(f"https://docs.example:{port}/client.json", allow_loopback=False)
    assert len(asked) == 1
    assert connected == []
