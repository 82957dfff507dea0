"""Log messages to the client (notifications/message): the outcome of each tool call, in a few words.

info for a call that succeeded ("approve_order ok"), warning for a refusal (its code), error for an
unexpected incident (its id). Never an argument, a vendor's data or a token: the result already carries what
the call did; this is for a client's log pane.

Up to protocol 2025-11-25 a client picks the lowest level it wants with logging/setLevel, kept per connection
(default warning, so a quiet client hears only of trouble). From 2026-07-28 there is no setLevel: each request
opts in with the log level in its _meta, and nothing is sent to a request that did not.
"""

from __future__ import annotations

import logging
import re
from typing import Any, get_args

from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.types import (
    LOG_LEVEL_META_KEY,
    CallToolResult,
    EmptyResult,
    LoggingLevel,
    LoggingMessageNotification,
    LoggingMessageNotificationParams,
    SetLevelRequestParams,
)
from mcp.types.version import MODERN_PROTOCOL_VERSIONS

logger = logging.getLogger("market_mcp")

LEVELS: tuple[LoggingLevel, ...] = get_args(LoggingLevel)  # least severe first
DEFAULT_LEVEL: LoggingLevel = "warning"
LOGGER_NAME = "market-mcp"
_LEVEL_KEY = "market_mcp.log_level"


def _connection_state(ctx: ServerRequestContext[Any, Any]) -> dict[str, Any]:
    # The SDK keeps per-connection scratch state on Connection.state; a request's ServerSession holds its
    # Connection but offers no public way to it.
    return ctx.session._connection.state


async def set_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
    """logging/setLevel: from now on this connection hears messages at this level and above."""
    _connection_state(ctx)[_LEVEL_KEY] = params.level
    return EmptyResult()


def outcome(name: str, result: CallToolResult) -> tuple[LoggingLevel, str]:
    """A tool call's outcome as a level and a few words."""
    if not result.is_error:
        return "info", f"{name} ok"
    refusal = result.structured_content or {}
    incident = re.search(r"\(incident ([0-9a-f]+)\)", str(refusal.get("error", "")))
    if refusal.get("code") == 500 and incident:
        return "error", f"{name} failed: incident {incident.group(1)}"
    return "warning", f"{name} refused: {refusal.get('code')}"


def _threshold(ctx: ServerRequestContext[Any, Any]) -> LoggingLevel | None:
    """The least severe level this request's client wants to hear, or None for nothing."""
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        requested = (ctx.meta or {}).get(LOG_LEVEL_META_KEY)
        return requested if requested in LEVELS else None
    return _connection_state(ctx).get(_LEVEL_KEY, DEFAULT_LEVEL)


async def tell(context: Context[Any, Any] | None, name: str, result: CallToolResult) -> None:
    """Send the call's outcome to its client if the client asked for messages of that level."""
    if context is None:
        return
    try:
        ctx = context.request_context
    except ValueError:  # a call made in-process, not over a connection: nobody to tell
        return
    level, text = outcome(name, result)
    threshold = _threshold(ctx)
    if threshold is None or LEVELS.index(level) < LEVELS.index(threshold):
        return
    message = LoggingMessageNotification(
        params=LoggingMessageNotificationParams(level=level, logger=LOGGER_NAME, data=text)
    )
    # From 2026-07-28 a log message must ride its request's own stream. Before, the connection's stream is the
    # one every client reads: over HTTP this server answers each request with a plain JSON body, which has no
    # room for notifications.
    modern = ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
    try:
        await ctx.session.send_notification(message, related_request_id=ctx.request_id if modern else None)
    except Exception:  # a log line must never cost the caller the call's result
        logger.debug("could not send the log message for %s", name, exc_info=True)
