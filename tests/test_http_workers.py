"""`market-mcp serve --transport http --stateless --workers N`: N processes, each with its own listener on the port.

Real processes, found through /proc: the workers are the processes whose command line is `serve … --worker` on
the test's port, and a socket belongs to the process that holds its inode.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import anyio
import httpx2
import uvicorn

from market_mcp.config import Settings
from market_mcp.serving import uvicorn_config
from tests.factories import Tenant
from tests.test_http import http_server, rpc, tool_result, wait_until_healthy
from tests.test_mail import free_port

LISTEN, ESTABLISHED = "0A", "01"


def workers_on(port: int) -> dict[int, int]:
    """The worker processes serving `port`: pid -> parent pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            status = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        if b"--worker" in command and str(port).encode() in command and b"serve" in command:
            found[int(entry.name)] = int(status.rpartition(")")[2].split()[1])
    return found


def sockets_of(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def tcp_sockets(port: int, state: str) -> set[str]:
    """Inodes of the TCP sockets whose local port is `port`, in `state`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rpartition(":")[2], 16) == port and fields[3] == state:
                inodes.add(fields[9])
    return inodes


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def listening_workers(port: int, count: int) -> dict[int, int]:
    """The workers once `count` of them each listen on `port` (10 s at most)."""
    deadline = time.monotonic() + 10
    while True:
        workers = workers_on(port)
        listening = [pid for pid in workers if sockets_of(pid) & tcp_sockets(port, LISTEN)]
        if len(listening) == count:
            return workers
        assert time.monotonic() < deadline, f"{len(listening)} of {count} workers listen on {port}"
        time.sleep(0.1)


def port_of(url: str) -> int:
    return int(url.rpartition(":")[2])


def call(tool: str, **arguments: object) -> dict[str, object]:
    return {"name": tool, "arguments": arguments}


async def test_two_workers_each_listen_on_the_port_and_share_the_calls_out_with_every_answer_right(
    alice: Tenant,
) -> None:
    logged: list[str] = []
    with http_server(alice.db, "--stateless", "--workers", "2", logged=logged, MARKET_MCP_RATE_LIMIT="1000") as url:
        port = port_of(url)
        workers = listening_workers(port, 2)
        answers: dict[int, dict[str, object]] = {}
        limits = httpx2.Limits(max_connections=16, max_keepalive_connections=16)
        headers = {"Authorization": f"Bearer {alice.token}", "Content-Type": "application/json"}
        async with httpx2.AsyncClient(headers=headers, limits=limits, timeout=30) as http:

            async def create(n: int) -> None:
                body = {
                    "jsonrpc": "2.0",
                    "id": n,
                    "method": "tools/call",
                    "params": call("create_market", name=f"M{n}"),
                }
                answers[n] = tool_result(await http.post(f"{url}/mcp", content=json.dumps(body)))

            async with anyio.create_task_group() as tasks:
                for n in range(64):
                    tasks.start_soon(create, n)
            connections = {pid: len(sockets_of(pid) & tcp_sockets(port, ESTABLISHED)) for pid in workers}
        listed = tool_result(rpc(url, alice.token, "tools/call", call("list_markets", limit=100)))
    assert len(set(workers.values())) == 1 and set(workers.values()).isdisjoint(workers)  # one parent, not a worker
    assert {n: a["structuredContent"]["name"] for n, a in answers.items()} == {n: f"M{n}" for n in range(64)}
    assert not any(a["isError"] for a in answers.values())
    assert sorted(m["name"] for m in listed["structuredContent"]["items"]) == sorted(f"M{n}" for n in range(64))
    assert sum(connections.values()) > 2 and all(connections.values()), connections  # both took connections
    assert "2 worker processes; the rate limit is counted in the database" in logged[0]


async def test_the_rate_limit_is_one_allowance_across_the_workers(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless", "--workers", "2", MARKET_MCP_RATE_LIMIT="5") as url:
        listening_workers(port_of(url), 2)
        if datetime.now(UTC).second > 45:  # the allowance is a fixed minute: keep the eight calls in one
            time.sleep(61 - datetime.now(UTC).second)
        outcomes = [tool_result(rpc(url, alice.token, "tools/call", call("list_markets"))) for _ in range(8)]
    refused = [o["structuredContent"] for o in outcomes if o["isError"]]
    assert [o["isError"] for o in outcomes] == [False] * 5 + [True] * 3
    assert [r["code"] for r in refused] == [429, 429, 429]
    assert all(r["error"].startswith("Rate limit of 5 requests per minute reached; retry in ") for r in refused)


async def test_sigterm_to_the_parent_stops_every_worker(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless", "--workers", "2") as url:
        workers = listening_workers(port_of(url), 2)
        (parent,) = set(workers.values())
        os.kill(parent, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in [*workers, parent]) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in [*workers, parent] if alive(pid)]
    assert left == []


async def test_a_worker_that_dies_takes_the_others_and_the_parent_down_with_exit_1(alice: Tenant) -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_MCP_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "market_mcp", "serve", "--transport", "http", "--port", str(port), "--stateless"]
        + ["--workers", "2"],
        env=environment | {"MARKET_MCP_DATABASE_URL": str(alice.db.url)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_healthy(process, f"http://127.0.0.1:{port}", lambda: process.communicate()[1])
        first, second = listening_workers(port, 2)
        os.kill(first, signal.SIGKILL)
        code = process.wait(timeout=10)
    finally:
        process.kill()
        logged = process.communicate()[1]
    assert code == 1
    assert not alive(second)
    assert f"Worker process {first} exited with -9; stopping the others." in logged


def test_workers_without_stateless_are_refused_with_the_reason_and_exit_code_2() -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "market_mcp", "serve", "--transport", "http", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[-1] == (
        "market-mcp: error: --workers needs --transport http --stateless: each worker is a process of its own, "
        "and a session lives in one process's memory"
    )
    assert refused.stdout == ""


async def test_every_accepted_connection_has_tcp_nodelay_even_on_a_listener_asyncio_leaves_nagle_on() -> None:
    async def ok(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
            await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0: asyncio does not set TCP_NODELAY
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(ok, Settings(), host="127.0.0.1", port=port))  # type: ignore[arg-type]
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve, [listener])
        while not server.started:
            await anyio.sleep(0.01)
        async with httpx2.AsyncClient() as http:
            answered = await http.get(f"http://127.0.0.1:{port}/")
            nodelay = [
                c.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                for c in server.server_state.connections
            ]
        server.should_exit = True
    assert answered.text == "ok"
    assert nodelay == [1]
