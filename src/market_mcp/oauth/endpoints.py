"""/authorize, /token, /register and /revoke: the SDK's handlers, with what they leave to us.

- each is rate limited per client address (limits.py);
- /authorize never redirects an error: until the organiser has seen the consent page, nobody has vouched for the
  application's redirect URI, so a refusal goes on our own page (the SDK would send it to the redirect URI);
- /token and /revoke authenticate a confidential client against the hash of its secret, which is all we keep;
- /revoke accepts a public client with no client_secret at all (RFC 7009; the SDK asks for the field).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from mcp.server.auth.handlers.authorize import AuthorizationHandler
from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.handlers.token import TokenHandler
from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
from mcp.server.auth.provider import AccessToken, RefreshToken
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, RequestBodyLimitMiddleware
from mcp.shared.auth import OAuthClientInformationFull
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp

from market_mcp.oauth.consent import problem
from market_mcp.oauth.limits import Handler, rate_limited
from market_mcp.oauth.provider import MarketAuthorization, auth_settings, hash_secret

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def routes(authorization: MarketAuthorization) -> list[Route]:
    authenticator = HashedSecretAuthenticator(authorization)
    settings = auth_settings(authorization.issuer)
    registration = RegistrationHandler(authorization, settings.client_registration_options)  # type: ignore[arg-type]
    return [
        # No CORS for /authorize: a browser navigates to it, no script calls it.
        _route("/authorize", AuthorizationPage(authorization).handle, ["GET", "POST"], cors=False),
        _route("/token", TokenHandler(authorization, authenticator).handle, ["POST"]),
        _route("/register", registration.handle, ["POST"]),
        _route("/revoke", Revocation(authorization, authenticator).handle, ["POST"]),
    ]


def _route(path: str, handler: Handler, methods: list[str], *, cors: bool = True) -> Route:
    app: ASGIApp = RequestBodyLimitMiddleware(
        request_response(rate_limited(path, handler)), DEFAULT_MAX_REQUEST_BODY_SIZE
    )
    if cors:  # outermost, so that a refusal (429, 413) still carries the CORS headers
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


class _Presented:
    """The provider as one request sees it: a client whose stored hash matches the secret this request presents
    is given that secret, so the SDK's comparison passes; any other keeps the hash, and the comparison fails."""

    def __init__(self, provider: MarketAuthorization, presented: str | None) -> None:
        self.provider = provider
        self.presented = presented

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        client = await self.provider.get_client(client_id)
        if client is None or not client.client_secret or self.presented is None:
            return client
        if secrets.compare_digest(client.client_secret.encode(), hash_secret(self.presented).encode()):
            return client.model_copy(update={"client_secret": self.presented})
        return client


class HashedSecretAuthenticator(ClientAuthenticator):
    """The SDK's client authentication (methods, Basic header parsing, expiry), against a stored secret hash."""

    async def authenticate_request(self, request: Request) -> OAuthClientInformationFull:
        presented = await _presented_secret(request)
        return await ClientAuthenticator(_Presented(self.provider, presented)).authenticate_request(request)  # type: ignore[arg-type]


async def _presented_secret(request: Request) -> str | None:
    """The secret a request offers, in a Basic header or the form (the SDK decides which its client may use)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            return unquote(base64.b64decode(header[6:]).decode().partition(":")[2])
        except (ValueError, UnicodeDecodeError, binascii.Error):
            return None
    secret = (await request.form()).get("client_secret")
    return secret if isinstance(secret, str) else None


class Revocation:
    """RFC 7009 revocation: the SDK's steps, with client_secret optional (a public client has none)."""

    def __init__(self, authorization: MarketAuthorization, authenticator: ClientAuthenticator) -> None:
        self.authorization = authorization
        self.authenticator = authenticator

    async def handle(self, request: Request) -> Response:
        try:
            client = await self.authenticator.authenticate_request(request)
        except AuthenticationError as refusal:
            return JSONResponse({"error": "unauthorized_client", "error_description": refusal.message}, 401)
        form = await request.form()
        raw = form.get("token")
        if not isinstance(raw, str) or not raw:
            return JSONResponse({"error": "invalid_request", "error_description": "token is required."}, 400)
        token: AccessToken | RefreshToken | None = None
        loaders: list[Any] = [
            self.authorization.load_access_token,
            partial(self.authorization.load_refresh_token, client),
        ]
        if form.get("token_type_hint") == "refresh_token":
            loaders.reverse()
        for load in loaders:
            token = await load(raw)
            if token is not None:
                break
        # An unknown token, or another client's, is answered as a success too (RFC 7009 §2.2).
        if token is not None and token.client_id == client.client_id:
            await self.authorization.revoke_token(token)
        return Response(status_code=200, headers=NO_STORE)
