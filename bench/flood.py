"""`python -m bench.flood`: one organisation's read-only token floods a stateful HTTP server with `initialize`.

    .venv/bin/python -m bench.flood                       # 10,000 initializes, 8 at a time
    .venv/bin/python -m bench.flood --initializes 2000    # quicker

Starts the real server (`market-mcp serve --transport http`, stateful) on a fresh SQLite store with two
organisations, sends the initializes with the first one's read-only token (never ending a session, as a
careless or hostile client would), then checks that the second organisation can still initialize, and reports
the server's resident memory (VmRSS, and its peak VmHWM) before and after. Target: under 200 MB after.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx2

from bench.measure import http_server
from market_mcp.db import Database
from market_mcp.db.migrate import upgrade
from market_mcp.services import organizations

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "flood", "version": "1"}},
}
TARGET_MB = 200


def log(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def memory_mb(pid: int) -> dict[str, float]:
    """The process's resident set now (VmRSS) and at its peak (VmHWM), in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {name: round(int(fields[name].split()[0]) / 1024, 1) for name in ("VmRSS", "VmHWM")}


async def two_organisations(url: str) -> tuple[str, str]:
    """A fresh store with two organisations: the first's read-only token and the second's token."""
    db = Database(url)
    try:
        await upgrade(db)
        async with db.transaction(write=True) as session:
            for slug in ("flooder", "neighbour"):
                await organizations.create_organization(
                    session, name=slug.title(), slug=slug, admin_email=f"admin@{slug}.example.com"
                )
            _, flooder = await organizations.create_token(session, slug="flooder", name="read", read_only=True)
            _, neighbour = await organizations.create_token(session, slug="neighbour", name="write")
    finally:
        await db.dispose()
    return flooder, neighbour


async def initialize(http: httpx2.AsyncClient, url: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
    return (await http.post(url, headers=headers, content=json.dumps(INITIALIZE))).status_code


async def flood(initializes: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="market-mcp-flood-") as directory:
        store = f"sqlite+aiosqlite:///{directory}/market.db"
        flooder, neighbour = await two_organisations(store)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_MCP_")} | {
            "MARKET_MCP_DATABASE_URL": store
        }
        command = [sys.executable, "-m", "market_mcp", "serve", "--transport", "http", "--port"]
        async with http_server(command, env) as (url, pid), httpx2.AsyncClient(timeout=60) as http:
            await initialize(http, url, neighbour)  # warm: the first request loads what the rest reuse
            before = memory_mb(pid)
            statuses: Counter[int] = Counter()
            sent = iter(range(initializes))
            began = time.monotonic()

            async def worker() -> None:
                for _ in sent:
                    statuses[await initialize(http, url, flooder)] += 1

            async with anyio.create_task_group() as workers:
                for _ in range(concurrency):
                    workers.start_soon(worker)
            seconds = time.monotonic() - began
            other = await initialize(http, url, neighbour)
            after = memory_mb(pid)
    return {
        "initializes": initializes,
        "concurrency": concurrency,
        "seconds": round(seconds, 1),
        "statuses": dict(sorted(statuses.items())),
        "other organisation's initialize": other,
        "memory before (MB)": before,
        "memory after (MB)": after,
        "target": f"VmRSS after < {TARGET_MB} MB and the other organisation gets 200",
        "met": after["VmRSS"] < TARGET_MB and other == 200,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.flood", description=__doc__.split("\n\n")[0])
    parser.add_argument("--initializes", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    log(f"flooding a stateful server with {args.initializes} initializes, {args.concurrency} at a time")
    result = anyio.run(flood, args.initializes, args.concurrency)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    sys.exit(0 if result["met"] else 1)


if __name__ == "__main__":
    main()
