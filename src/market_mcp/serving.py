"""uvicorn as `market-mcp serve --transport http` runs it: nothing holds a connection for nothing, and the
access log never records a query string.

uvicorn waits for ever for a request's head on a new connection (its keep-alive timeout ends at a request's
first byte) and for its body, so a client trickling either holds a connection, and its buffers, as long as it
likes. Here each must arrive within `MARKET_MCP_HTTP_REQUEST_TIMEOUT_SECONDS`, or the request is answered 408
and the connection closed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import socket
from collections import deque
from typing import Any

import anyio
import h11
import uvicorn
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from market_mcp.config import Settings
from market_mcp.http import duration, json_rpc_error


def uvicorn_config(app: ASGIApp, settings: Settings, *, host: str, port: int) -> uvicorn.Config:
    """The server's configuration: the deadlines, and logging on standard error through the root logger
    (uvicorn's own configuration writes its access log on standard output)."""
    timeout = settings.http_request_timeout_seconds
    config = uvicorn.Config(
        BodyDeadline(app, timeout),
        host=host,
        port=port,
        http=functools.partial(H11WithHeadDeadline, head_timeout=timeout),
        log_config=None,
        log_level=settings.log_level.lower(),
        lifespan="on",
    )
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, WithoutQueryStrings) for f in access.filters):
        access.addFilter(WithoutQueryStrings())
    return config


class BodyDeadline:
    """A request's body must arrive within `seconds` of its head, or it is answered 408 and its connection closed.

    The body is read here, before any other part of the app sees the request, so none of them waits on a slow
    client; bodies over the SDK's limit (4 MiB) are answered 413 as the SDK answers them on /mcp.
    """

    def __init__(self, app: ASGIApp, seconds: float, max_size: int = DEFAULT_MAX_REQUEST_BODY_SIZE) -> None:
        self.app = app
        self.seconds = seconds
        self.max_size = max_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = Response("Request body too large", status_code=413)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_size:
            await too_large(scope, receive, send)
            return
        received: deque[Message] = deque()
        size = 0
        with anyio.move_on_after(self.seconds) as deadline:
            while True:
                message = await receive()
                received.append(message)
                size += len(message.get("body", b""))
                if size > self.max_size:
                    await too_large(scope, receive, send)
                    return
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
        if deadline.cancelled_caught:
            await json_rpc_error(
                f"The request's body did not arrive within {duration(self.seconds)}; send it again, all at once.",
                408,
                Connection="close",
            )(scope, receive, send)
            return

        async def replay() -> Message:
            return received.popleft() if received else await receive()

        await self.app(scope, replay, send)


class H11WithHeadDeadline(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, with a deadline for each request's head (its request line and headers).

    uvicorn has none: a new connection may wait for ever, and its keep-alive timeout ends at a request's first
    byte, so a client sending half a head holds the connection for as long as it likes. At the deadline a
    connection with part of a head is answered 408, and either way closed.
    """

    def __init__(self, *args: Any, head_timeout: float, **options: Any) -> None:
        super().__init__(*args, **options)
        self.head_timeout = head_timeout
        self._head_deadline: asyncio.TimerHandle | None = None
        body = json_rpc_error(
            f"The request's head did not arrive within {duration(head_timeout)}; send it again, all at once.", 408
        ).body
        self._too_slow = (
            b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + bytes(body)
        )

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # asyncio sets TCP_NODELAY only when the listener was made with proto=IPPROTO_TCP; without it, Nagle's
        # algorithm and the client's delayed ACK hold a small response back ~40 ms. Set it whoever made it.
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        self._await_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head is in (or the request was refused as malformed)
            self._stop_waiting()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():  # kept alive for the next one
            self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        self._stop_waiting()
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def _stop_waiting(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing():
            return
        if self.conn.trailing_data[0]:  # part of a head came: say why the connection ends
            self.transport.write(self._too_slow)
        self.transport.close()


_LINK_PATH = re.compile(r"^(/v/|/ical/)[^/]+")  # a vendor link's or calendar feed's path is its token


class WithoutQueryStrings(logging.Filter):
    """For uvicorn's access log: each request's path without its query string. A client may put a token in
    one (?access_token=), and OAuth's requests carry codes; the path and the status are what the log is for.
    A vendor link's or a calendar feed's token (in its path) is left out too: /v/…, /ical/…."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _LINK_PATH.sub(r"\1…", arg.partition("?")[0]) if isinstance(arg, str) else arg for arg in record.args
            )
        return True
