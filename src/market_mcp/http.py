"""Streamable HTTP: one process serves many organisations, each request carrying its own bearer token.

The SDK's bearer middleware asks `MarketAuthorization.load_access_token` (market_mcp.oauth) about the
token before any MCP handling, so a missing, unknown, revoked or expired token, or one issued for another
server, is an HTTP 401 with `WWW-Authenticate`. The token then rides on the request into
MarketServer.call_tool, which uses the identity the middleware found (looked up once per request: a token
revoked meanwhile is refused from the next request) and applies DOMAIN.md's 403 rules and the rate limit
before anything is written. A known token that may make no
call at all (a draft organisation's, a deactivated creator's) is refused at the door instead: 403 on every
/mcp request, with the sentence a tool call would give.

Stateful sessions are shared out per token in market_mcp.sessions; the deadlines for a slow request and the
access log are market_mcp.serving's (uvicorn as `serve --transport http` runs it).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp_types import INVALID_REQUEST, ErrorData, JSONRPCError
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from market_mcp.auth import authenticate
from market_mcp.db import Database
from market_mcp.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from market_mcp.mail import Mailer
    from market_mcp.services.payment_links import Checkout

logger = logging.getLogger("market_mcp.http")


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


def duration(seconds: float) -> str:
    """A setting in words: 300 -> "5 minutes", 1 -> "1 second"."""
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} second{'s' if seconds != 1 else ''}"


def json_rpc_error(message: str, status_code: int, **headers: str) -> Response:
    """A JSON-RPC error with no request id, as the SDK answers at the HTTP level; its client shows `message`."""
    body = JSONRPCError(jsonrpc="2.0", id=None, error=ErrorData(code=INVALID_REQUEST, message=message))
    return Response(
        body.model_dump_json(by_alias=True, exclude_unset=True),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def mcp_route(app: Starlette) -> Route:
    return next(route for route in app.routes if isinstance(route, Route) and route.path == "/mcp")


def refuse_forbidden_tokens(app: Starlette, db: Database) -> None:
    """Put RefuseForbiddenTokens in front of /mcp (behind the SDK's bearer check, which sets the request's user)."""
    route = mcp_route(app)
    route.app = RefuseForbiddenTokens(route.app, db)


class RefuseForbiddenTokens:
    """/mcp behind the SDK's bearer check: a known token that may make no call is answered 403 here.

    market_mcp.oauth's verifier admits such a token with no scopes, so that every call says why; but a
    session opened with it could do nothing, and tools/list would show tools it may not use. Its request is
    refused instead, with the sentence a tool call would give (asked again of the store: it is rare).
    """

    def __init__(self, app: ASGIApp, db: Database) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if isinstance(user, AuthenticatedUser) and not user.access_token.scopes:
            # A token revoked meanwhile (any other refusal) goes on: the call that follows is refused with 401.
            with suppress(Unauthorized):
                try:
                    async with self.db.transaction() as session:
                        await authenticate(session, user.access_token.token)
                except Forbidden as refusal:
                    await json_rpc_error(refusal.message, 403)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def stripe_webhook(checkout: Checkout, db: Database, clock: Callable[[], datetime], mailer: Mailer | None):  # type: ignore[no-untyped-def]
    """POST /webhooks/stripe (mounted only with payment links configured): Stripe's events, authenticated by their
    Stripe-Signature (no token). 400 for a bad signature; 200 for every verified event, handled or ignored, so
    Stripe stops sending it; 500 when the store could not take it, so Stripe sends it again."""
    import stripe

    from market_mcp.services import payment_links

    async def endpoint(request: Request) -> JSONResponse:
        payload = await request.body()
        try:
            event = checkout.event(payload, request.headers.get("stripe-signature"))
        except (stripe.SignatureVerificationError, ValueError):
            return JSONResponse({"error": "The Stripe-Signature header does not verify."}, status_code=400)
        try:
            what, queued = await payment_links.record_checkout(db, event, clock, email_delivery=mailer is not None)
        except Exception:
            incident = secrets.token_hex(4)
            logger.exception("incident %s: Stripe event %s could not be recorded", incident, event.get("id"))
            return JSONResponse({"error": f"Not recorded (incident {incident}); send it again."}, status_code=500)
        logger.info("Stripe event %s (%s): %s", event.get("id"), event.get("type"), what)
        if queued and mailer is not None:
            mailer.kick()
        return JSONResponse({"received": True, "result": what})

    return endpoint
