"""/authorize: the SDK's handler, with what it leaves to us.

- /authorize never redirects an error: until the organiser has seen the consent page, nobody has vouched for the
  application's redirect URI, so a refusal goes on our own page (the SDK would send it to the redirect URI);
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlsplit

from mcp.server.auth.handlers.authorize import AuthorizationHandler
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, RequestBodyLimitMiddleware
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp

from market_mcp.oauth.consent import problem
from market_mcp.oauth.provider import MarketAuthorization

Handler = Callable[[Request], Awaitable[Response]]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def routes(authorization: MarketAuthorization) -> list[Route]:
    return [
        # No CORS for /authorize: a browser navigates to it, no script calls it.
        _route("/authorize", AuthorizationPage(authorization).handle, ["GET", "POST"], cors=False),
    ]


def _route(path: str, handler: Handler, methods: list[str], *, cors: bool = True) -> Route:
    app: ASGIApp = RequestBodyLimitMiddleware(request_response(handler), DEFAULT_MAX_REQUEST_BODY_SIZE)
    if cors:  # outermost, so that a refusal (413) still carries the CORS headers
        methods = [*methods, "OPTIONS"]
        app = CORSMiddleware(app, allow_origins="*", allow_methods=methods, allow_headers=[MCP_PROTOCOL_VERSION_HEADER])
    return Route(path, endpoint=app, methods=methods)


class AuthorizationPage:
    """The SDK's /authorize, whose only redirect is to our consent page: its errors are shown, not redirected."""

    def __init__(self, authorization: MarketAuthorization) -> None:
        self.sdk = AuthorizationHandler(authorization)
        self.consent = f"{authorization.issuer}/consent?"

    async def handle(self, request: Request) -> Response:
        response = await self.sdk.handle(request)
        location = response.headers.get("location", "")
        if not location or location.startswith(self.consent):
            return response
        said = dict(parse_qsl(urlsplit(location).query))
        return problem(said.get("error_description") or said.get("error") or "This request cannot be answered.", 400)
