"""Streamable HTTP: one process serves many organisations, each request carrying its own bearer token.

The SDK's bearer middleware asks `OrganisationTokens` about the token before any MCP handling, so a
missing, unknown or revoked token is an HTTP 401 with `WWW-Authenticate`. The token then rides on the
request into MarketServer.call_tool, which authenticates it again inside the call's transaction (a
token revoked between the two checks is refused there) and applies DOMAIN.md's 403 rules.
"""

from __future__ import annotations

from collections.abc import Mapping

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from sqlalchemy import select, text
from starlette.requests import Request
from starlette.responses import JSONResponse

from market_mcp.auth import authenticate, hash_token
from market_mcp.db import Database
from market_mcp.db.tables import ApiToken
from market_mcp.errors import Forbidden, Unauthorized


class OrganisationTokens:
    """The SDK's TokenVerifier over organisation API tokens (stored as hashes; compared in constant time)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            async with self.db.transaction() as session:
                identity = await authenticate(session, token)
        except Unauthorized:
            return None
        except Forbidden:
            # A known token that may not act (draft organisation, deactivated creator): let the call say 403 and why,
            # under the token's own identity (the SDK ties a session to it).
            async with self.db.transaction() as session:
                token_id = (
                    await session.execute(select(ApiToken.id).where(ApiToken.token_hash == hash_token(token)))
                ).scalar_one()
            return AccessToken(token=token, client_id=f"api-token:{token_id}", scopes=[])
        return AccessToken(token=token, client_id=f"api-token:{identity.token_id}", scopes=[identity.scope])


def request_token(headers: Mapping[str, str] | None) -> str | None:
    """The bearer token of the HTTP request being handled (None on stdio)."""
    access = get_access_token()
    if access is not None:
        return access.token
    authorization = (headers or {}).get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


def healthz(db: Database):  # type: ignore[no-untyped-def]
    """GET /healthz for load balancers: 200 when the store answers, 503 when it does not. No token needed."""

    async def endpoint(request: Request) -> JSONResponse:
        try:
            async with db.transaction() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return endpoint
