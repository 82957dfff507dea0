"""Streamable HTTP sessions with a share per token, closed after minutes idle.

The SDK's session manager caps the whole server (10,000 sessions, each kept until 30 minutes idle), so one
organisation's token, even a read-only one, could open them all in a minute and lock every other
organisation out. Here each token (the principal the SDK ties a session to) holds at most
`per_token` sessions; the SDK's cap stays as the backstop for the whole server.

A token at its share that opens one more closes its own least recently used idle session rather than being
refused: clients rarely end their sessions (Claude Desktop quitting or reconnecting does not send DELETE), so
refusing would lock an organiser out of their own server for minutes with nothing to do about it, while the
session closed is the one longest unused, and the token's own. A client that still held it gets 404 and
initializes again, as the specification asks. Only when every one of the token's sessions is busy (a
request being served, or a GET stream open) is the new one refused, with 429 and the reason.
"""

from __future__ import annotations

import math
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthorizationContext
from mcp.server.lowlevel.server import Server
from mcp.server.streamable_http import StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from market_mcp.http import duration, json_rpc_error, mcp_route

Owner = tuple[str, str | None, str | None] | None


def _owner(requestor: AuthorizationContext | None) -> Owner:
    return None if requestor is None else (requestor["client_id"], requestor["issuer"], requestor["subject"])


class _TokenAtShare(Exception):
    """Every one of the token's sessions is busy: raised while admitting, before anything is answered."""


class TokenSessions(StreamableHTTPSessionManager):
    """The SDK's session manager, with a share of sessions per token; stateless GET /mcp answered 405."""

    def __init__(self, *args: Any, per_token: int, **options: Any) -> None:
        super().__init__(*args, **options)
        self.per_token = per_token
        self._by_owner: dict[Owner, dict[str, StreamableHTTPServerTransport]] = {}
        self._owner_of: dict[str, Owner] = {}

    @classmethod
    def replacing(cls, sdk: StreamableHTTPSessionManager, *, per_token: int) -> TokenSessions:
        """One configured as `sdk` was (streamable_http_app's options), before it has started."""
        return cls(
            sdk.app,
            event_store=sdk.event_store,
            json_response=sdk.json_response,
            stateless=sdk.stateless,
            security_settings=sdk.security_settings,
            retry_interval=sdk.retry_interval,
            session_idle_timeout=sdk.session_idle_timeout,
            max_request_body_size=sdk.max_request_body_size,
            max_sessions=sdk.max_sessions,
            per_token=per_token,
        )

    async def _handle_stateless_request(
        self, protocol_version_hint: str | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if scope["method"] == "GET":
            # Without a session there is nothing to stream: a GET stream would stay open, empty, for ever.
            await Response(status_code=405, headers={"Allow": "POST"})(scope, receive, send)
            return
        await super()._handle_stateless_request(protocol_version_hint, scope, receive, send)

    async def _handle_stateful_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super()._handle_stateful_request(scope, receive, send)
        except _TokenAtShare:
            idle = duration(self.session_idle_timeout) if self.session_idle_timeout else None
            await json_rpc_error(
                f"This token already has {self.per_token} open sessions (the most one token may hold), each busy "
                "with a request; end one (DELETE /mcp with its Mcp-Session-Id) or let one finish."
                + (f" A session with no request for {idle} is closed." if idle else ""),
                429,
            )(scope, receive, send)

    def _admit_session(self, requestor: AuthorizationContext | None) -> StreamableHTTPServerTransport | None:
        # Called under the SDK's session-creation lock, so counting and admitting are one step.
        owner = _owner(requestor)
        mine = self._by_owner.setdefault(owner, {})
        if len(mine) >= self.per_token:
            self._close_least_recently_used(mine)
        transport = super()._admit_session(requestor)
        if transport is not None and transport.mcp_session_id is not None:
            mine[transport.mcp_session_id] = transport
            self._owner_of[transport.mcp_session_id] = owner
        elif not mine:
            del self._by_owner[owner]
        return transport

    def _close_least_recently_used(self, mine: dict[str, StreamableHTTPServerTransport]) -> None:
        # An idle session's idle deadline is when its last request ended plus the idle timeout; a busy one's
        # is infinite (and a session not yet started has none).
        idle = {
            session_id: transport.idle_scope.deadline
            for session_id, transport in mine.items()
            if transport.idle_scope is not None and math.isfinite(transport.idle_scope.deadline)
        }
        if not idle:
            raise _TokenAtShare
        oldest = min(idle, key=idle.__getitem__)
        # As if its idle time had run out: the session's task ends it, and the SDK forgets it
        # (_discard_session); a request that reaches it meanwhile is answered 404.
        mine.pop(oldest).idle_scope.cancel()  # type: ignore[union-attr]

    async def _discard_session(self, session_id: str, transport: StreamableHTTPServerTransport) -> None:
        if session_id in self._owner_of:
            owner = self._owner_of.pop(session_id)
            mine = self._by_owner.get(owner, {})
            mine.pop(session_id, None)
            if not mine:
                self._by_owner.pop(owner, None)
        await super()._discard_session(session_id, transport)


def share_sessions_per_token(app: Starlette, server: Server[Any], *, per_token: int) -> TokenSessions:
    """Put a TokenSessions in place of the session manager `server.streamable_http_app()` made for `app` (the SDK
    has no option for a manager of one's own): the /mcp endpoint's, the lifespan's and the server's."""
    ours = TokenSessions.replacing(server.session_manager, per_token=per_token)
    endpoint = mcp_route(app).app
    while not isinstance(endpoint, StreamableHTTPASGIApp):  # under the SDK's RequireAuthMiddleware
        endpoint = endpoint.app  # type: ignore[attr-defined]
    endpoint.session_manager = ours
    app.router.lifespan_context = lambda _: ours.run()
    server._session_manager = ours
    return ours
