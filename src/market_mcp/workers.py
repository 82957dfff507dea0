"""`market-mcp serve --transport http --stateless --workers N`: N server processes on one port.

Each worker binds its own listening socket with SO_REUSEPORT, so the kernel shares new connections out among
them; none inherits a socket from the parent (uvicorn's `--workers` shares one). The parent migrates the store,
starts the workers (`python -m market_mcp serve … --worker`), forwards SIGTERM and SIGINT to them and exits when
they have. A worker that dies on its own makes the parent stop the others and exit 1: never half a server.

Only a stateless server can be spread out like this: a session lives in one process's memory, and a client's
next request may reach another. The rate limit is counted in the database (`MARKET_MCP_RATE_LIMIT_SHARED`) so
every worker sees each token's one allowance; outbox delivery stays in every worker, since mail.py's claims
send each email once whichever process claims it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
from types import FrameType

import anyio

logger = logging.getLogger("market_mcp.workers")


def listening_sockets(host: str, port: int) -> list[socket.socket]:
    """Sockets bound to every address `host` resolves to (as uvicorn binds them), each with SO_REUSEPORT so the
    other workers can bind the same port. asyncio listens on them."""
    sockets: list[socket.socket] = []
    seen = set()
    for family, kind, proto, _, address in socket.getaddrinfo(
        host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    ):
        if (family, address) in seen:
            continue
        seen.add((family, address))
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
        except OSError:
            sock.close()
            for bound in sockets:
                bound.close()
            raise
        sockets.append(sock)
    return sockets


async def supervise(command: list[str], count: int, environment: dict[str, str]) -> int:
    """Run `count` workers until they exit: 0 when they stopped on a signal sent to this process, 1 when one
    stopped by itself (the others are then stopped too)."""
    workers = [subprocess.Popen(command, env=environment) for _ in range(count)]
    asked: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        asked.append(signum)
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signum)

    previous = {signum: signal.signal(signum, forward) for signum in (signal.SIGTERM, signal.SIGINT)}
    died: subprocess.Popen[bytes] | None = None
    try:
        while any(worker.poll() is None for worker in workers):
            if died is None and not asked:
                died = next((worker for worker in workers if worker.poll() is not None), None)
                if died is not None:
                    logger.error("Worker process %s exited with %s; stopping the others.", died.pid, died.returncode)
                    for worker in workers:
                        if worker.poll() is None:
                            worker.terminate()
            await anyio.sleep(0.1)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for worker in workers:  # only if this process itself failed: no worker outlives it
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    return 1 if died is not None else 0


def worker_environment(environment: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The workers' environment: this one, with the rate limit counted in the shared database."""
    return {**environment, "MARKET_MCP_RATE_LIMIT_SHARED": "true"}
