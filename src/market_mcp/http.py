"""Streamable HTTP: one process serves many organisations, each request carrying its own bearer token.

The SDK's bearer middleware asks `MarketAuthorization.load_access_token` (market_mcp.oauth) about the
token before any MCP handling, so a missing, unknown, revoked or expired token, or one issued for another
server, is an HTTP 401 with `WWW-Authenticate`. The token then rides on the request into
MarketServer.call_tool, which authenticates it again inside the call's transaction (a token revoked
between the two checks is refused there) and applies DOMAIN.md's 403 rules.
"""

from __future__ import annotations

from collections.abc import Mapping

from mcp.server.auth.middleware.auth_context import get_access_token
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from market_mcp.db import Database


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
