"""`python -m bench.throughput`: calls a second from `serve --transport http --stateless`, 1 process against N.

    .venv/bin/python -m bench.throughput --workers 1 2                  # 32 clients, 10 s each
    .venv/bin/python -m bench.throughput --workers 1 2 --tool list_markets --seconds 20
    .venv/bin/python -m bench.throughput --workers 1 --shared-limit     # 1 process, counting as the workers do

Makes the demo organisation (`market-mcp demo`) in a fresh SQLite store (or MARKET_MCP_DATABASE_URL's, e.g. a
PostgreSQL database), starts the server with each `--workers` count, and has `--clients` clients call one tool
with the demo token as fast as they are answered, each on its own keep-alive connection. The load generator is
lean on purpose (raw HTTP/1.1 over asyncio streams, no MCP client): it shares the machine with the server. Every
answer must be 200 and not an error. Also reports one client's calls one after another (p50), where a
response held back by Nagle's algorithm would show as ~40 ms.

`python -m bench` measures its HTTP throughput with this same generator (`request`, `load`), on the bench's data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.measure import http_server

STALL_SECONDS = 10.0  # a call unanswered this long: the server has stopped answering


class Stalled(RuntimeError):
    """The server stopped answering: a call went unanswered for STALL_SECONDS (so did every call in flight)."""

    def __init__(self, answered: int, seconds: float) -> None:
        super().__init__(f"no answer for {seconds:g} s after {answered} calls")
        self.answered = answered


def request(port: int, token: str, tool: str, arguments: dict[str, Any] | None = None) -> bytes:
    """One JSON-RPC tools/call POST, ready to send as it is (the stateless server needs no session)."""
    params = {"name": tool, "arguments": arguments or {}}
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})
    head = (
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body.encode()


async def client(
    port: int,
    sent: bytes | Sequence[bytes],
    until: float,
    latencies: list[float],
    first: int = 0,
    stall: float = STALL_SECONDS,
) -> None:
    """Calls on one connection until `until`; each call's seconds appended. Refuses any answer but a result,
    and raises Stalled when one takes longer than `stall` seconds. Given several requests, sends them in turn
    from the `first`."""
    requests = [sent] if isinstance(sent, bytes) else list(sent)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        n = first
        while (start := time.perf_counter()) < until:
            writer.write(requests[n % len(requests)])
            n += 1
            try:
                async with asyncio.timeout(stall):
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = next(
                        int(line[15:]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")
                    )
                    body = await reader.readexactly(length)
            except TimeoutError:
                raise Stalled(len(latencies), stall) from None
            if not head.startswith(b"HTTP/1.1 200") or json.loads(body)["result"]["isError"]:
                raise RuntimeError(f"not a result: {head[:12]!r} {body[:300]!r}")
            latencies.append(time.perf_counter() - start)
    finally:
        writer.close()


async def load(port: int, sent: bytes | Sequence[bytes], clients: int, seconds: float) -> list[float]:
    """`clients` connections calling in a loop for `seconds`: every call's seconds (each client starts its own
    place in a list of requests)."""
    latencies: list[float] = []
    until = time.perf_counter() + seconds
    try:
        async with asyncio.TaskGroup() as tasks:  # one client failing ends the others
            for n in range(clients):
                tasks.create_task(client(port, sent, until, latencies, first=n * 7919))
    except* Stalled as group:
        raise group.exceptions[0] from None
    return latencies


async def measure(workers: int, env: dict[str, str], token: str, args: argparse.Namespace) -> dict[str, float]:
    command = [sys.executable, "-m", "market_mcp", "serve", "--transport", "http", "--stateless"]
    command += ["--workers", str(workers)] if workers > 1 else []
    async with http_server([*command, "--port"], env) as (url, _):
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        sent = request(port, token, args.tool)
        await load(port, sent, args.clients, 3)  # warm up; every worker listening by now
        one = await load(port, sent, 1, 3)
        many = await load(port, sent, args.clients, args.seconds)
    return {
        "workers": workers,
        "rate_limit_in_database": workers > 1 or args.shared_limit,
        "calls_per_second": round(len(many) / args.seconds, 1),
        "p50_ms": round(statistics.median(many) * 1000, 1),
        "one_client_p50_ms": round(statistics.median(one) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--tool", default="get_dashboard_summary")
    parser.add_argument(
        "--shared-limit", action="store_true", help="count the rate limit in the database with 1 worker too"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_MCP_")}
        env["MARKET_MCP_DATABASE_URL"] = os.environ.get(
            "MARKET_MCP_DATABASE_URL", f"sqlite+aiosqlite:///{Path(scratch) / 'market.db'}"
        )
        env["MARKET_MCP_RATE_LIMIT"] = str(10**9)  # the figure is the server's, not the allowance's
        env["MARKET_MCP_RATE_LIMIT_SHARED"] = str(args.shared_limit).lower()  # --workers 2 and more: always
        demo = subprocess.run(
            [sys.executable, "-m", "market_mcp", "demo"], env=env, capture_output=True, text=True, check=True
        )
        token = demo.stdout.strip().splitlines()[-1]
        for workers in args.workers:
            sys.stdout.write(json.dumps(asyncio.run(measure(workers, env, token, args))) + "\n")


if __name__ == "__main__":
    main()
