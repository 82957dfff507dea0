"""The authorization server's answers to a stranger's tricks: stolen secrets, wider scopes, lookalike and open
redirects, and a metadata document whose host changes address between our check and our fetch."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import pytest
from alembic import command
from mcp.server.auth.provider import RegistrationError
from sqlalchemy import Connection, select, text

from market_mcp.db import Database
from market_mcp.db.migrate import alembic_config
from market_mcp.db.tables import OAuthClient, OAuthGrant
from market_mcp.oauth import client_documents
from tests.factories import Tenant
from tests.test_cli import Cli
from tests.test_http import http_server, tool_result
from tests.test_oauth import (
    CALLBACK,
    authorize,
    call,
    connect,
    consent,
    metadata_document,
    pkce,
    redirected,
    register,
    token_request,
)

# Secrets ---------------------------------------------------------------------------------------------------


async def test_a_confidential_clients_secret_is_stored_as_a_hash_and_still_authenticates_it(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless") as url:
        posted, tokens = connect(url, alice.token)
        basic = register(url, token_endpoint_auth_method="client_secret_basic")
        credentials = base64.b64encode(f"{basic['client_id']}:{basic['client_secret']}".encode()).decode()
        by_basic = httpx2.post(
            f"{url}/token",
            data={"client_id": basic["client_id"], "grant_type": "refresh_token", "refresh_token": "mk_rt_x"},
            headers={"Authorization": f"Basic {credentials}"},
        )
        refreshed = token_request(url, posted, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        wrong = token_request(
            url, {**posted, "client_secret": posted["client_secret"][::-1]},
            grant_type="refresh_token", refresh_token=refreshed.json()["refresh_token"],
        )  # fmt: skip
        the_hash_itself = token_request(
            url, {**posted, "client_secret": hashlib.sha256(posted["client_secret"].encode()).hexdigest()},
            grant_type="refresh_token", refresh_token=refreshed.json()["refresh_token"],
        )  # fmt: skip
    async with alice.db.transaction() as session:
        stored = (await session.get(OAuthClient, posted["client_id"])).info["client_secret"]  # type: ignore[union-attr]
    assert stored == "sha256:" + hashlib.sha256(posted["client_secret"].encode()).hexdigest()
    assert refreshed.status_code == 200, refreshed.text
    assert (by_basic.status_code, by_basic.json()["error"]) == (400, "invalid_grant")  # authenticated; bad token
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert (the_hash_itself.status_code, the_hash_itself.json()["error"]) == (401, "invalid_client")


async def test_the_migration_hashes_secrets_stored_in_plain_text(fresh: Database) -> None:
    def to(revision: str) -> Any:
        def run(sync: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = sync
            command.upgrade(config, revision)

        return run

    async with fresh.engine.begin() as conn:
        await conn.run_sync(to("0008"))
        for client_id, secret in (("confidential", "s3cret"), ("public", None)):
            info = json.dumps({"client_id": client_id, "client_secret": secret, "redirect_uris": [CALLBACK]})
            await conn.execute(
                text("INSERT INTO oauth_client (client_id, info, metadata_document, created_at) "
                     "VALUES (:id, :info, false, CURRENT_TIMESTAMP)"),
                {"id": client_id, "info": info},
            )  # fmt: skip
    async with fresh.engine.begin() as conn:
        await conn.run_sync(to("head"))
    async with fresh.transaction() as session:
        secrets = {
            row.client_id: row.info["client_secret"] for row in (await session.execute(select(OAuthClient))).scalars()
        }
    assert secrets == {"confidential": "sha256:" + hashlib.sha256(b"s3cret").hexdigest(), "public": None}


# Scope -----------------------------------------------------------------------------------------------------


async def test_a_client_registered_read_only_is_offered_and_granted_read_only_when_it_names_no_scope(
    alice: Tenant,
) -> None:
    with http_server(alice.db, "--stateless") as url:
        client = register(url, scope="markets:read")
        verifier, challenge = pkce()

        def start(**params: str) -> httpx2.Response:
            return authorize(url, client["client_id"], challenge, **params)

        def without_scope() -> httpx2.Response:
            query = dict(start().request.url.params)
            del query["scope"]
            return httpx2.get(f"{url}/authorize", params=query)

        no_scope = without_scope()
        page = httpx2.get(no_scope.headers["location"]).text
        refused_write = consent(no_scope.headers["location"], alice.token, access="write")
        code = redirected(consent(without_scope().headers["location"], alice.token, access="read"))["code"]
        exchanged = token_request(
            url, client, grant_type="authorization_code", code=code, code_verifier=verifier, redirect_uri=CALLBACK
        )
        wider = start(scope="markets:read markets:write")
    assert 'value="write" aria-describedby="write-hint" disabled' in page
    assert refused_write.status_code == 400 and "asked for read-only access" in refused_write.text
    assert exchanged.json()["scope"] == "markets:read"
    assert wider.status_code == 400 and "location" not in wider.headers


# Redirect URIs ---------------------------------------------------------------------------------------------

REFUSED_REDIRECTS = [
    "https://claude.ai%2Fapi%2Fmcp%2Fauth_callback@evil.example/cb",
    "https://user:pass@example.com/cb",
    "https://example.com/cb#fragment",
    "http://evil.example/cb",
    "about:blank",
    "blob:https://example.com/uuid",
    "chrome://settings",
    "ws://127.0.0.1/cb",
    "javascript:alert(1)",
    "data:text/html,hi",
    "file:///etc/passwd",
    "myapp:/cb",
]
ACCEPTED_REDIRECTS = [
    "https://claude.ai/api/mcp/auth_callback",
    "http://127.0.0.1:33418/cb",
    "http://localhost:6274/oauth/callback",
    "http://[::1]:8080/cb",
    "com.example.app:/oauth2redirect",
]


async def test_redirect_uris_are_registered_only_from_an_allowlist(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless") as url:
        refused = {uri: httpx2.post(f"{url}/register", json={"redirect_uris": [uri]}) for uri in REFUSED_REDIRECTS}
        accepted = httpx2.post(f"{url}/register", json={"redirect_uris": ACCEPTED_REDIRECTS})
    for uri, answer in refused.items():
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_redirect_uri"), uri
    assert accepted.status_code == 201, accepted.text


async def test_a_metadata_document_with_a_lookalike_redirect_is_not_a_client(alice: Tenant) -> None:
    lookalike = "https://claude.ai%2Fapi%2Fmcp%2Fauth_callback@evil.example/cb"
    with metadata_document(redirect_uris=[lookalike]) as client_id, http_server(alice.db, "--stateless") as url:
        answer = authorize(url, client_id, pkce()[1], redirect_uri=lookalike)
    assert answer.status_code == 400 and "location" not in answer.headers


async def test_the_consent_page_names_the_bare_host_it_sends_the_organiser_back_to(alice: Tenant) -> None:
    lookalike = "https://claude.ai%2Fapi%2Fmcp%2Fauth_callback@evil.example/cb"
    with http_server(alice.db, "--stateless") as url:
        client = register(url)
        async with alice.db.transaction(write=True) as session:  # as registered before the allowlist
            row = await session.get(OAuthClient, client["client_id"])
            row.info = {**row.info, "redirect_uris": [lookalike]}  # type: ignore[union-attr]
            session.add(row)
        page = httpx2.get(authorize(url, client["client_id"], pkce()[1], redirect_uri=lookalike).headers["location"])
        app_scheme = "com.example.app://evil.example/cb"
        app = register(url, redirect_uris=[app_scheme])
        app_page = httpx2.get(authorize(url, app["client_id"], pkce()[1], redirect_uri=app_scheme).headers["location"])
    assert "sent back to <strong>evil.example</strong>" in page.text
    assert "claude.ai" not in page.text
    assert "sent back to <strong>com.example.app</strong>" in app_page.text  # the app its scheme opens


# Errors before consent -------------------------------------------------------------------------------------


async def test_errors_found_before_the_organiser_answers_are_shown_on_the_servers_page_not_redirected(
    alice: Tenant,
) -> None:
    with http_server(alice.db, "--stateless") as url:
        client = register(url)
        challenge = pkce()[1]
        answers = {
            "This server can only grant access to": authorize(
                url, client["client_id"], challenge, resource="https://elsewhere.example/mcp"
            ),
            "Client was not registered with scope admin": authorize(url, client["client_id"], challenge, scope="admin"),
            "code_challenge_method": authorize(url, client["client_id"], challenge, code_challenge_method="plain"),
        }
        forged_deny = httpx2.post(
            f"{url}/consent",
            data={
                "request": authorize(url, client["client_id"], challenge).headers["location"].split("request=")[1],
                "csrf": "x",
                "decision": "deny",
            },
        )
    for description, answer in answers.items():
        assert answer.status_code == 400 and "location" not in answer.headers, description
        assert answer.headers["content-type"].startswith("text/html") and description in answer.text, description
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert forged_deny.status_code == 403 and "location" not in forged_deny.headers


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


# Revocation ------------------------------------------------------------------------------------------------


async def test_a_public_client_revokes_its_token_with_no_secret(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless") as url:
        client, tokens = connect(url, alice.token, token_endpoint_auth_method="none")
        revoked = httpx2.post(f"{url}/revoke", data={"client_id": client["client_id"], "token": tokens["access_token"]})
        after = call(url, tokens["access_token"], "list_markets")
    assert "client_secret" not in client
    assert revoked.status_code == 200, revoked.text
    assert after.status_code == 401


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
