"""A loopback proxy for .ci/conformance: it adds `Authorization: Bearer <token>` to each request and changes
nothing else a server judges (the Host and Origin headers, the body, streamed responses byte for byte), so a
client that cannot send a token still tests the real server.

Each connection carries one request (the proxy asks for `Connection: close`), so nothing but the request head
is ever parsed: after it, bytes are piped both ways as they come.

usage: MARKET_MCP_TOKEN=… python .ci/bearer_proxy.py LISTEN_PORT SERVER_PORT
"""

from __future__ import annotations

import asyncio
import os
import sys

HOP_BY_HOP = (b"authorization", b"connection", b"keep-alive")


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def forward(client: asyncio.StreamReader, to_client: asyncio.StreamWriter, port: int, token: bytes) -> None:
    try:
        head = await client.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        to_client.close()
        return
    request_line, *fields = head.removesuffix(b"\r\n\r\n").split(b"\r\n")
    kept = [f for f in fields if f.partition(b":")[0].strip().lower() not in HOP_BY_HOP]
    head = b"\r\n".join([request_line, *kept, b"Authorization: Bearer " + token, b"Connection: close", b"", b""])
    server, to_server = await asyncio.open_connection("127.0.0.1", port)
    to_server.write(head)
    await asyncio.gather(pipe(client, to_server), pipe(server, to_client))


async def main(listen: int, port: int, token: bytes) -> None:
    proxy = await asyncio.start_server(lambda r, w: forward(r, w, port, token), "127.0.0.1", listen)
    async with proxy:
        await proxy.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), os.environ["MARKET_MCP_TOKEN"].encode()))
