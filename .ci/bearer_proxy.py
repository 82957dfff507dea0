"""A loopback proxy for .ci/conformance: it adds `Authorization: Bearer <token>` to each request and changes
nothing else a server judges (the Host and Origin headers, the body, streamed responses byte for byte), so a
client that cannot send a token still tests the real server.

Connections stay open as the client and server keep them: each request head on a connection is read, given
the token and passed on with its body (by Content-Length); responses, event streams included, are piped back
byte for byte as they come.

usage: MARKET_MCP_TOKEN=… python .ci/bearer_proxy.py LISTEN_PORT SERVER_PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys


async def responses(server: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await server.read(65536):
            to_client.write(data)
            await to_client.drain()
    to_client.close()


async def requests(client: asyncio.StreamReader, to_server: asyncio.StreamWriter, token: bytes) -> None:
    with contextlib.suppress(asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        while True:
            head = await client.readuntil(b"\r\n\r\n")
            request_line, *fields = head.removesuffix(b"\r\n\r\n").split(b"\r\n")
            kept = [f for f in fields if f.partition(b":")[0].strip().lower() != b"authorization"]
            length = next(
                (int(f.partition(b":")[2]) for f in kept if f.partition(b":")[0].strip().lower() == b"content-length"),
                0,
            )
            to_server.write(b"\r\n".join([request_line, *kept, b"Authorization: Bearer " + token, b"", b""]))
            if length:
                to_server.write(await client.readexactly(length))
            await to_server.drain()
    to_server.close()


async def forward(client: asyncio.StreamReader, to_client: asyncio.StreamWriter, port: int, token: bytes) -> None:
    try:
        server, to_server = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionError:
        to_client.close()
        return
    await asyncio.gather(requests(client, to_server, token), responses(server, to_client))


async def main(listen: int, port: int, token: bytes) -> None:
    proxy = await asyncio.start_server(lambda r, w: forward(r, w, port, token), "127.0.0.1", listen)
    async with proxy:
        await proxy.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), os.environ["MARKET_MCP_TOKEN"].encode()))
