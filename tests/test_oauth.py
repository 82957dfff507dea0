"""OAuth 2.1 for remote connectors, end to end against real server processes.

The SDK's own OAuth client connects from nothing but the server's URL (discovery from a 401, metadata,
registration, PKCE, the consent page, the code exchange); the rest drives the protocol by hand, as
ChatGPT and Claude do, including every way a request must be refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from sqlalchemy import select, update

from market_mcp.db.tables import AuditEntry, OAuthGrant
from market_mcp.db.tables import OAuthToken as OAuthTokenRow
from market_mcp.db.types import utcnow
from market_mcp.services import organizations
from tests.factories import Caller, Tenant
from tests.test_cli import Cli
from tests.test_http import http_server, rpc, tool_result

CALLBACK = "http://127.0.0.1:9/callback"  # never fetched: the test reads the code off the redirect


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def register(url: str, **metadata: Any) -> dict[str, Any]:
    body = {"client_name": "Test Connector", "redirect_uris": [CALLBACK], **metadata}
    response = httpx2.post(f"{url}/register", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def authorize(url: str, client_id: str, challenge: str, **params: str) -> httpx2.Response:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s-123",
        "scope": "markets:read markets:write",
        "resource": f"{url}/mcp",
        **params,
    }
    return httpx2.get(f"{url}/authorize", params=query)


def consent(location: str, token: str, access: str = "write", decision: str = "approve") -> httpx2.Response:
    """The organiser's part: open the page, paste the token, choose, press a button (a browser's requests)."""
    with httpx2.Client() as browser:
        page = browser.get(location)
        assert page.status_code == 200, page.text
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        request = page.text.split('name="request" value="')[1].split('"')[0]
        form = {"request": request, "csrf": csrf, "token": token, "access": access, "decision": decision}
        return browser.post(location.split("?")[0], data=form)


def redirected(response: httpx2.Response) -> dict[str, str]:
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(CALLBACK), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def token_request(url: str, client: dict[str, Any], **form: str) -> httpx2.Response:
    secret = {"client_secret": client["client_secret"]} if client.get("client_secret") else {}
    return httpx2.post(f"{url}/token", data={"client_id": client["client_id"], **secret, **form})


def connect(url: str, token: str, access: str = "write", **metadata: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Register, authorize, consent and exchange the code: (the client, the token response)."""
    client = register(url, **metadata)
    verifier, challenge = pkce()
    code = redirected(consent(authorize(url, client["client_id"], challenge).headers["location"], token, access))
    assert code["state"] == "s-123" and code["iss"] == url
    exchanged = token_request(
        url, client, grant_type="authorization_code", code=code["code"], code_verifier=verifier,
        redirect_uri=CALLBACK, resource=f"{url}/mcp",
    )  # fmt: skip
    assert exchanged.status_code == 200, exchanged.text
    return client, exchanged.json()


def call(url: str, access_token: str, tool: str, **arguments: Any) -> httpx2.Response:
    return rpc(url, access_token, "tools/call", {"name": tool, "arguments": arguments})


class Memory:
    """The SDK client's token storage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


async def test_the_sdk_oauth_client_connects_with_no_preshared_secret_and_acts_for_the_approving_organisation(
    alice: Tenant, bob: Tenant
) -> None:
    answer: dict[str, str] = {}

    async def open_browser(authorization_url: str) -> None:  # the organiser approves in the consent page
        async with httpx2.AsyncClient(follow_redirects=True) as browser:
            start = await browser.get(authorization_url)
        answer.update(redirected(consent(str(start.url), alice.token)))

    async def come_back() -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=answer["code"], state=answer["state"], iss=answer["iss"])

    storage = Memory()
    with http_server(alice.db) as url:
        auth = OAuthClientProvider(
            server_url=f"{url}/mcp",
            client_metadata=OAuthClientMetadata(client_name="SDK Connector", redirect_uris=[CALLBACK]),  # type: ignore[list-item]
            storage=storage,
            redirect_handler=open_browser,
            callback_handler=come_back,
        )
        async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
            async with Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
                c = Caller(client)
                tools = {t.name for t in (await client.list_tools()).tools}
                made = await c.ok("create_market", name="Connector Market")
                context = await c.ok("get_context")
    assert storage.tokens is not None and storage.tokens.access_token.startswith("mk_at_")
    assert storage.tokens.scope == "markets:read markets:write" and storage.tokens.refresh_token
    assert "approve_order" in tools and context["organization_slug"] == alice.slug
    async with alice.db.transaction() as session:
        audit = (await session.execute(select(AuditEntry).where(AuditEntry.tool == "create_market"))).scalar_one()
    assert (audit.organization_id, audit.token_name) == (alice.org_id, f"SDK Connector via {alice.slug} write")
    async with alice.client() as own:
        assert [m["id"] for m in (await own.ok("list_markets"))["items"]] == [made["id"]]
    async with bob.client() as other:
        assert (await other.ok("list_markets"))["items"] == []


async def test_discovery_metadata_and_the_401_challenge_describe_the_authorization_server(alice: Tenant) -> None:
    with http_server(alice.db) as url:
        challenge = rpc(url, None, "tools/list").headers["www-authenticate"]
        resource = httpx2.get(f"{url}/.well-known/oauth-protected-resource/mcp").json()
        at_root = httpx2.get(f"{url}/.well-known/oauth-protected-resource").json()
        server = httpx2.get(f"{url}/.well-known/oauth-authorization-server").json()
    assert f'resource_metadata="{url}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert resource["resource"] == f"{url}/mcp" and resource["authorization_servers"] == [f"{url}"]
    assert resource["scopes_supported"] == ["markets:read", "markets:write"] and at_root == resource
    assert server["issuer"] == url
    assert (server["authorization_endpoint"], server["token_endpoint"]) == (f"{url}/authorize", f"{url}/token")
    assert (server["registration_endpoint"], server["revocation_endpoint"]) == (f"{url}/register", f"{url}/revoke")
    assert server["code_challenge_methods_supported"] == ["S256"]
    assert server["client_id_metadata_document_supported"] is True
    assert server["authorization_response_iss_parameter_supported"] is True
    assert "none" in server["token_endpoint_auth_methods_supported"]
    assert server["scopes_supported"] == ["markets:read", "markets:write"]


async def test_refresh_rotates_both_tokens_and_a_reused_refresh_token_ends_the_grant(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless") as url:
        client, first = connect(url, alice.token)
        refreshed = token_request(url, client, grant_type="refresh_token", refresh_token=first["refresh_token"])
        second = refreshed.json()
        works = call(url, second["access_token"], "list_markets")
        replayed = token_request(url, client, grant_type="refresh_token", refresh_token=first["refresh_token"])
        after_theft = call(url, second["access_token"], "list_markets")
        newest = token_request(url, client, grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert second["access_token"] != first["access_token"] and second["refresh_token"] != first["refresh_token"]
    assert second["expires_in"] == 3600 and second["token_type"] == "Bearer"
    assert not tool_result(works)["isError"]
    assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_grant")
    assert after_theft.status_code == 401  # a refresh token used twice: one holder is a thief, so both lose
    assert (newest.status_code, newest.json()["error"]) == (400, "invalid_grant")


async def test_codes_verifiers_redirects_and_resources_are_checked(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless") as url:
        client = register(url)
        verifier, challenge = pkce()

        def code() -> str:
            return redirected(consent(authorize(url, client["client_id"], challenge).headers["location"], alice.token))[
                "code"
            ]

        def exchange(the_code: str, **overrides: str) -> httpx2.Response:
            form = {"grant_type": "authorization_code", "code": the_code, "code_verifier": verifier}
            return token_request(url, client, **{**form, "redirect_uri": CALLBACK, **overrides})

        wrong_verifier = exchange(code(), code_verifier=pkce()[0])
        wrong_redirect_at_token = exchange(code(), redirect_uri="http://127.0.0.1:9/elsewhere")
        once = code()
        first = exchange(once)
        reused = exchange(once)
        first_after_reuse = call(url, first.json()["access_token"], "list_markets")
        unregistered_redirect = authorize(url, client["client_id"], challenge, redirect_uri="https://evil.example/cb")
        other_resource = authorize(url, client["client_id"], challenge, resource="https://elsewhere.example/mcp")
        plain = authorize(url, client["client_id"], challenge, code_challenge_method="plain")
        unknown_scope = authorize(url, client["client_id"], challenge, scope="admin")
        unknown_client = authorize(url, "no-such-client", challenge)
        bad_registration = httpx2.post(f"{url}/register", json={"redirect_uris": ["http://evil.example/cb"]})
    assert (wrong_verifier.status_code, wrong_verifier.json()["error"]) == (400, "invalid_grant")
    assert wrong_redirect_at_token.status_code == 400
    assert wrong_redirect_at_token.json()["error"] == "invalid_request"
    assert first.status_code == 200
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    assert first_after_reuse.status_code == 401  # the code was replayed: what it bought is withdrawn
    # A redirect URI that was not registered is never redirected to.
    assert unregistered_redirect.status_code == 400 and "location" not in unregistered_redirect.headers
    # Refusals before the organiser answered are shown on our page: no one vouched for the redirect URI yet.
    for refused in (other_resource, plain, unknown_scope):
        assert refused.status_code == 400 and "location" not in refused.headers
    assert "This server can only grant access to" in other_resource.text
    assert unknown_client.status_code == 400
    assert bad_registration.status_code == 400 and bad_registration.json()["error"] == "invalid_redirect_uri"


async def test_a_token_for_another_server_is_refused_and_an_expired_one_too(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless") as one, http_server(alice.db, "--stateless") as two:
        _, issued = connect(one, alice.token)
        here = call(one, issued["access_token"], "list_markets")
        there = call(two, issued["access_token"], "list_markets")  # same database, another resource
        api_token_there = call(two, alice.token, "list_markets")
        async with alice.db.transaction(write=True) as session:
            await session.execute(
                update(OAuthTokenRow)
                .where(OAuthTokenRow.kind == "access")
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        expired = call(one, issued["access_token"], "list_markets")
    assert not tool_result(here)["isError"]
    assert there.status_code == 401 and 'error="invalid_token"' in there.headers["www-authenticate"]
    assert not tool_result(api_token_there)["isError"]  # bearer API tokens work as before on every server
    assert expired.status_code == 401


async def test_a_read_only_grant_sees_only_read_tools_and_its_writes_are_refused(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless") as url:
        _, read = connect(url, alice.token, access="read")
        listed = rpc(url, read["access_token"], "tools/list")
        write = call(url, read["access_token"], "create_market", name="Nope")
        upgrade = token_request(
            url, register(url), grant_type="refresh_token", refresh_token=read["refresh_token"], scope="markets:write"
        )
    assert read["scope"] == "markets:read"
    names = {tool["name"] for tool in listed.json()["result"]["tools"]}
    assert "list_markets" in names and "create_market" not in names and "approve_order" not in names
    assert tool_result(write)["structuredContent"]["code"] == 403
    assert upgrade.status_code in (400, 401)  # another client's refresh token, and a scope never granted


async def test_revocation_by_the_client_and_from_the_command_line(alice: Tenant, tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.url = str(alice.db.url)
    with http_server(alice.db, "--stateless") as url:
        client, first = connect(url, alice.token)
        revoked = token_request(url, client, token=first["access_token"]).status_code  # wrong endpoint on purpose
        assert revoked == 400
        response = httpx2.post(
            f"{url}/revoke",
            data={
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
                "token": first["access_token"],
            },
        )
        after_revoke = call(url, first["access_token"], "list_markets")
        refresh_after = token_request(url, client, grant_type="refresh_token", refresh_token=first["refresh_token"])

        _, second = connect(url, alice.token, client_name="ChatGPT")
        listed = json.loads(cli.run("token", "list", "--org", alice.slug, "--json").stdout)
        connector = next(row for row in listed if row["kind"] == "connector" and row["revoked_at"] is None)
        said = cli.run("token", "revoke", connector["id"]).stdout
        after_cli = call(url, second["access_token"], "list_markets")
        human = cli.run("token", "list", "--org", alice.slug).stdout
    assert response.status_code == 200
    assert after_revoke.status_code == 401 and refresh_after.status_code == 400
    assert connector["name"] == "ChatGPT" and connector["scope"] == "write"
    assert (
        said == f"Connector {connector['id']} (ChatGPT) is revoked; its access and refresh tokens stop working now.\n"
    )
    assert after_cli.status_code == 401
    assert "Connectors" in human and "ChatGPT" in human


async def test_the_api_tokens_rules_bind_its_connectors_and_revoking_it_ends_them(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless") as url:
        client, issued = connect(url, alice.token)
        async with alice.db.transaction(write=True) as session:
            await organizations.set_status(session, alice.slug, "draft")
        drafted = call(url, issued["access_token"], "list_markets")  # refused at the door: 403, the same sentence
        async with alice.db.transaction(write=True) as session:
            await organizations.set_status(session, alice.slug, "active")
        async with alice.db.transaction(write=True) as session:
            await organizations.revoke_token(session, alice.token_id)
        access = call(url, issued["access_token"], "list_markets")
        refresh = token_request(url, client, grant_type="refresh_token", refresh_token=issued["refresh_token"])
    async with alice.db.transaction() as session:
        statuses = (await session.execute(select(OAuthGrant.status).where(OAuthGrant.status != "pending"))).scalars()
    assert drafted.status_code == 403 and "is in draft" in drafted.json()["error"]["message"]
    assert access.status_code == 401 and refresh.status_code == 400
    assert list(statuses) == ["revoked"]


@contextmanager
def metadata_document(**overrides: Any) -> Iterator[str]:
    """A client ID metadata document served on loopback (a loopback server may fetch http:// ones)."""

    class Document(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = json.dumps({"client_id": url, "client_name": "Claude", "redirect_uris": [CALLBACK],
                               "token_endpoint_auth_method": "none", **overrides}).encode()  # fmt: skip
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Document)
    url = f"http://127.0.0.1:{server.server_address[1]}/oauth/client.json"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()


async def test_a_client_id_metadata_document_stands_in_for_registration(alice: Tenant) -> None:
    with metadata_document() as client_id, metadata_document(client_id="https://someone.else/c.json") as forged:
        with http_server(alice.db, "--stateless") as url:
            verifier, challenge = pkce()
            start = authorize(url, client_id, challenge)
            page = httpx2.get(start.headers["location"]).text
            code = redirected(consent(start.headers["location"], alice.token))["code"]
            exchanged = token_request(
                url, {"client_id": client_id}, grant_type="authorization_code", code=code, code_verifier=verifier,
                redirect_uri=CALLBACK,
            )  # fmt: skip
            works = call(url, exchanged.json()["access_token"], "list_markets")
            refused = authorize(url, forged, challenge)
    assert "Connect Claude to your market" in page and client_id in page
    assert exchanged.status_code == 200, exchanged.text
    assert not tool_result(works)["isError"]
    assert refused.status_code == 400  # the document must name itself by the address it is served from


async def test_the_consent_page_is_unframeable_and_refuses_clearly(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless") as url:
        client = register(url)

        def start() -> str:
            return authorize(url, client["client_id"], pkce()[1]).headers["location"]

        page = httpx2.get(start())
        denied = consent(start(), "", decision="deny")
        bad_token = consent(start(), "mk_org_not-a-real-token")
        read_token_for_write = consent(start(), alice.read_token, access="write")
        forged_location = start()
        forged = httpx2.post(
            f"{url}/consent",
            data={
                "request": forged_location.split("request=")[1],
                "csrf": "x",
                "token": alice.token,
                "decision": "approve",
            },
        )
        late = start()
        async with alice.db.transaction(write=True) as session:
            await session.execute(update(OAuthGrant).values(expires_at=utcnow() - timedelta(seconds=1)))
        expired = httpx2.get(late)
    headers = page.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"] and headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store" and headers["referrer-policy"] == "no-referrer"
    cookie = headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/consent" in cookie
    assert redirected(denied) == {
        "error": "access_denied", "error_description": "The organiser declined.", "state": "s-123", "iss": url,
    }  # fmt: skip
    assert bad_token.status_code == 400 and 'role="alert"' in bad_token.text
    assert "That token was not recognised, or it has been revoked." in bad_token.text
    assert read_token_for_write.status_code == 400 and "That token is read-only" in read_token_for_write.text
    assert forged.status_code == 403 and "could not be verified" in forged.text
    assert expired.status_code == 400 and "expired or was already answered" in expired.text
