"""The caller's organisation for requests other than tools/call (resources, prompts, completion).

They are scoped exactly like the tools: the token is authenticated by the server's caller() inside a read
transaction, the services scope every query, and a refusal carries the same sentence a tool would give. Only
its envelope differs: these methods answer with JSON-RPC errors, not tool results, so the sentence is the
error's message and the HTTP-like code rides in its data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPError
from mcp.types import INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST
from mcp.types.version import HANDSHAKE_PROTOCOL_VERSIONS
from sqlalchemy.ext.asyncio import AsyncSession

from market_mcp.auth import OrgContext, TokenIdentity, check_shared_limit, count_call, mark_used, use_is_stale
from market_mcp.errors import Forbidden

if TYPE_CHECKING:
    from market_mcp.server import MarketServer

RESOURCE_NOT_FOUND_BEFORE_2026 = -32002  # the 2026-07-28 revision moved "resource not found" to -32602


@asynccontextmanager
async def organisation(
    server: MarketServer,
    context: Context[Any, Any] | None,
    *,
    method: str,
    rate_limited: bool = True,
    uri: str | None = None,
) -> AsyncIterator[OrgContext]:
    """The caller's OrgContext in a read transaction; any refusal inside leaves as an MCPError (naming `uri`,
    the resource asked for, in its data).

    rate_limited: counts against the token's per-minute allowance, as a tool call does (completion does not:
    a client asks it on every keystroke, and that must not use up the organiser's tool calls).
    """
    identity: TokenIdentity | None = None
    counted_apart = rate_limited and server.config.rate_limit_shared
    try:
        async with server.db.transaction() as session:
            identity = await server.caller(session, context)
            await admit(server, session, identity, counted=rate_limited)
            if not counted_apart:
                yield OrgContext.of(session, identity, server.clock, email_delivery=server.mailer is not None)
        if counted_apart:
            await count(server, identity)
            async with server.db.transaction() as session:
                yield OrgContext.of(session, identity, server.clock, email_delivery=server.mailer is not None)
    except MCPError:
        raise
    except Exception as exc:
        # The tools' own words for every refusal (and the incident id for a crash), in a JSON-RPC envelope.
        data = {"uri": uri} if uri is not None else {}
        raise protocol_error(server._refusal(method, exc), _version(context), **data) from exc
    finally:
        if identity is not None and use_is_stale(identity):  # a read is a use of the token too
            async with server.db.transaction(write=True) as session:
                await mark_used(session, identity)


async def admit(
    server: MarketServer,
    session: AsyncSession,
    identity: TokenIdentity,
    *,
    tool: str | None = None,
    counted: bool = True,
) -> None:
    """Whether the token may make this call now: its rate limit (when `counted`), then its scope (when `tool`
    writes). Checked in the caller's read transaction before anything is written, so a refused call writes
    nothing. In shared mode this only reads the token's window; `count` then counts a call let through."""
    if counted and not server.config.rate_limit_shared:
        server.rate_limiter.check(identity.token_id)
    elif counted:
        await check_shared_limit(session, identity, server.config.rate_limit, server.clock())
    if tool is not None and identity.scope != "write":
        raise Forbidden(f"This token is read-only; {tool} needs a write token.")


async def count(server: MarketServer, identity: TokenIdentity) -> None:
    """Shared mode: one call more in the token's window, in a short write of its own. Called after admit's
    transaction has ended, never inside it: a call holding one connection while it waits for a second drains
    the pool once enough calls do the same."""
    if server.config.rate_limit_shared:
        async with server.db.transaction(write=True) as session:
            await count_call(session, identity, server.config.rate_limit, server.clock())


def protocol_error(refusal: dict[str, Any], protocol_version: str | None, **data: Any) -> MCPError:
    """A refusal ({"error", "code"}, as a tool gives it) as a JSON-RPC error: the sentence as its message, the
    code in data["code"].

    404 is the spec's resource-not-found (-32002 before 2026-07-28, -32602 from then on); 422 is invalid
    params; 500 (an incident: its id is in the sentence) is an internal error; 401, 403, 409 and 429 are
    requests this caller cannot make as things stand (invalid request).
    """
    code = refusal["code"]
    if code == 404:
        rpc_code = RESOURCE_NOT_FOUND_BEFORE_2026 if protocol_version in HANDSHAKE_PROTOCOL_VERSIONS else INVALID_PARAMS
    else:
        rpc_code = {422: INVALID_PARAMS, 500: INTERNAL_ERROR}.get(code, INVALID_REQUEST)
    return MCPError(rpc_code, refusal["error"], {**data, "code": code})


def _version(context: Context[Any, Any] | None) -> str | None:
    return context.protocol_version if context is not None else None
