"""Measuring: the servers on each transport, and calls timed pair by pair.

The machine is shared, so nothing is measured alone: on each transport the echo floor, market-mcp (and on
stdio the peer) run side by side, and each of our calls is preceded by an echo call (and followed by the
peer's answer to the same question). Load that slows one slows the others within milliseconds, so the
ratios hold even when the absolute figures move.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from bench.echo_server import echo_server
from bench.questions import Question, Store
from market_mcp.config import Settings
from market_mcp.db import Database
from market_mcp.server import build_server

BENCH = Path(__file__).parent
ECHO = str(BENCH / "echo_server.py")
PEER_VENV = BENCH / "data" / "venv-peer"
PEER = PEER_VENV / "bin" / "mcp-server-sqlite"
PEER_REQUIREMENTS = ("mcp-server-sqlite==2025.4.25", "mcp<2")  # written for SDK v1: it gets a venv of its own
RATE_LIMIT = "1000000"  # the default 60 calls a minute would refuse the benchmark within a second
THROUGHPUT_TOOL = "get_vendor"


@dataclass
class Plan:
    """How many calls each figure gets (a full run, or the smoke test's few)."""

    reads: int = 200
    read_seconds: float = 15.0  # a slow figure stops after this long, with at least `minimum` calls
    minimum: int = 5
    warmups: int = 2
    too_slow: float = 10.0  # seconds: a figure whose first call takes longer is reported from that call alone
    writes: int = 30
    bulk_creates: int = 10
    bulk_cancels: int = 5
    cold_starts: int = 10
    throughput_seconds: float = 5.0
    throughput_warmup: float = 1.0
    throughput_both: bool = True  # one process pinned and unpinned (else pinned only, where the machine allows)
    throughput_workers: bool = True  # and `--workers 2`
    concurrency: tuple[int, ...] = (1, 8, 32)

    @classmethod
    def smoke(cls) -> Plan:
        return cls(
            reads=3,
            read_seconds=1,
            minimum=1,
            warmups=0,
            writes=2,
            bulk_creates=1,
            bulk_cancels=1,
            cold_starts=1,
            throughput_seconds=0.5,
            throughput_warmup=0.2,
            throughput_both=False,
            throughput_workers=False,
            concurrency=(1, 8),
        )


def ensure_peer(log: Callable[[str], None]) -> None:
    """Create the peer's virtualenv from PyPI on first use (our own venv is never touched)."""
    if PEER.exists():
        return
    log(f"installing {' '.join(PEER_REQUIREMENTS)} into {PEER_VENV}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEER_VENV)], check=True)
    subprocess.run([str(PEER_VENV / "bin" / "pip"), "install", "-q", *PEER_REQUIREMENTS], check=True)


def summary(samples: list[float]) -> dict[str, float]:
    """Median and 99th percentile in milliseconds (the largest sample when there are too few for a p99)."""
    ordered = sorted(samples)
    p99 = statistics.quantiles(ordered, n=100, method="inclusive")[98] if len(ordered) >= 2 else ordered[-1]
    return {"p50": round(statistics.median(ordered), 3), "p99": round(p99, 3), "calls": len(ordered)}


def peak_memory_mb(pid: int) -> float | None:
    """The process's peak resident set (VmHWM), in MB; None once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return round(kib / 1024, 1)


def child_pid(marker: str) -> int:
    """Our child process whose command line contains `marker` (the SDK's stdio client does not expose it)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and marker in command:
            return int(stat.parent.name)
    raise LookupError(f"no child process running {marker}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Target:
    """The database and token every server of the run uses, and market-mcp's answers for the same-answer floor."""

    path: Path  # the SQLite file (the questions' ids come from it; the peer reads it)
    token: str
    answers: Path | None = None
    database_url: str | None = None  # another store holding the same records (PostgreSQL); no peer then

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.path}"

    @property
    def backend(self) -> str:
        return "postgresql" if self.url.startswith("postgresql") else "sqlite"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_MCP_")}
        return env | {"MARKET_MCP_DATABASE_URL": self.url, "MARKET_MCP_RATE_LIMIT": RATE_LIMIT}


@dataclass
class Sides:
    """The clients of one transport: the echo floor, market-mcp, and the peer (stdio only)."""

    transport: str
    echo: Client
    ours: Client
    peer: Client | None = None
    pids: dict[str, int] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)  # http: where throughput opens more clients


def ours_in_process(target: Target) -> Any:
    settings = Settings(database_url=target.url, rate_limit=int(RATE_LIMIT))
    return build_server(settings, db=Database(target.url), token=target.token)


async def capture_answers(target: Target, store: Store) -> Path:
    """market-mcp's answer to each read question (its first arguments), with the tool's output schema: what the
    echo servers' same_<tool> tools return."""
    answers = []
    async with Client(ours_in_process(target)) as ours:
        schemas = {tool.name: tool.output_schema for tool in (await ours.list_tools()).tools}
        for question in store.questions():
            result = await ours.call_tool(question.tool, question.arguments(0))
            answers.append(
                {
                    "tool": question.tool,
                    "output_schema": schemas[question.tool],
                    "structured": result.structured_content,
                }
            )
    path = target.path.with_name(f"{target.path.stem}-{target.backend}-answers.json")
    path.write_text(json.dumps(answers))
    return path


def echo_arguments(target: Target) -> list[str]:
    return [str(target.answers)] if target.answers else []


@asynccontextmanager
async def in_process(target: Target) -> AsyncIterator[Sides]:
    answers = json.loads(target.answers.read_text()) if target.answers else []
    async with Client(echo_server(answers)) as echo, Client(ours_in_process(target)) as client:
        yield Sides("in-process", echo, client)


@asynccontextmanager
async def stdio(target: Target) -> AsyncIterator[Sides]:
    env = target.environment()
    ours = StdioServerParameters(
        command=sys.executable, args=["-m", "market_mcp", "serve"], env=env | {"MARKET_MCP_TOKEN": target.token}
    )
    echo = StdioServerParameters(command=sys.executable, args=[ECHO, "stdio", *echo_arguments(target)], env=env)
    peer = StdioServerParameters(command=str(PEER), args=["--db-path", str(target.path)], env=env)
    async with Client(echo) as e, Client(ours) as o:
        pids = {"echo": child_pid(ECHO), "ours": child_pid("market_mcp serve")}
        if target.backend != "sqlite":  # the peer reads SQLite files only
            yield Sides("stdio", e, o, None, pids)
            return
        # The peer speaks SDK v1: the legacy handshake spares it a discovery request it would log as invalid.
        async with Client(peer, mode="legacy") as p:
            yield Sides("stdio", e, o, p, pids | {"peer": child_pid(str(PEER))})


@asynccontextmanager
async def http_server(
    command: list[str], env: dict[str, str], cpus: set[int] | None = None
) -> AsyncIterator[tuple[str, int]]:
    """A server process on a free loopback port: its /mcp URL once it accepts connections. Ended by PID.
    With `cpus`, the process (and any it starts) runs on those CPUs only."""
    port = free_port()
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    process = subprocess.Popen(
        [*command, str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=pin
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command} did not start") from None
                await anyio.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp", process.pid
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@asynccontextmanager
async def http_client(url: str, token: str) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120) as http:
        async with Client(streamable_http_client(url, http_client=http)) as client:
            yield client


@asynccontextmanager
async def http(target: Target) -> AsyncIterator[Sides]:
    env = target.environment()
    ours_command = [sys.executable, "-m", "market_mcp", "serve", "--transport", "http", "--stateless", "--port"]
    async with (
        http_server([sys.executable, ECHO, "http", *echo_arguments(target)], env) as (echo_url, echo_pid),
        http_server(ours_command, env) as (ours_url, ours_pid),
        http_client(echo_url, target.token) as e,
        http_client(ours_url, target.token) as o,
    ):
        yield Sides("http", e, o, pids={"echo": echo_pid, "ours": ours_pid}, urls={"echo": echo_url, "ours": ours_url})


async def timed(client: Client, tool: str, arguments: dict[str, Any]) -> float:
    """One call's round trip in ms; a refused call stops the run (a benchmark of errors measures nothing)."""
    started = time.perf_counter()
    result = await client.call_tool(tool, arguments)
    elapsed = (time.perf_counter() - started) * 1000
    text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
    if result.is_error or text.startswith(("Database error", "Error:")):
        raise RuntimeError(f"{tool}({json.dumps(arguments)[:200]}) failed: {text[:500]}")
    return elapsed


ECHO_ARGUMENTS = {"text": "hello"}


async def read_figure(sides: Sides, question: Question, plan: Plan, too_slow: set[str]) -> dict[str, Any] | None:
    """Echo, ours, peer; echo, ours, peer; … until `plan.reads` calls or the time is up.

    The first call is a probe: one that takes longer than `plan.too_slow` is the figure (repeating it would
    take the run hours), and the tool is not called again at this scale, on any transport.
    """
    if question.tool in too_slow:
        return None
    probe = await timed(sides.ours, question.tool, question.arguments(0))
    if probe > plan.too_slow * 1000:
        too_slow.add(question.tool)
        row = figure(
            sides.transport,
            question.figure,
            question.tool,
            question.kind,
            [await timed(sides.echo, "echo", ECHO_ARGUMENTS)],
            [probe],
            [],
        )
        return row | {"too_slow": True}
    for i in range(plan.warmups):  # first calls compile statements and fill caches
        await sides.ours.call_tool(question.tool, question.arguments(i))
        if sides.peer is not None:
            await sides.peer.call_tool("read_query", {"query": question.sql(i)})
    echo, same, ours, peer = [], [], [], []
    started = time.monotonic()
    for i in range(plan.reads):
        if i >= plan.minimum and time.monotonic() - started > plan.read_seconds:
            break
        echo.append(await timed(sides.echo, "echo", ECHO_ARGUMENTS))
        same.append(await timed(sides.echo, f"same_{question.tool}", {}))
        ours.append(await timed(sides.ours, question.tool, question.arguments(i)))
        if sides.peer is not None:
            peer.append(await timed(sides.peer, "read_query", {"query": question.sql(i)}))
    row = figure(sides.transport, question.figure, question.tool, question.kind, echo, ours, peer)
    row["same"] = summary(same)
    row["vs_same"] = round(row["ours"]["p50"] / row["same"]["p50"], 2)
    return row


async def write_figure(
    sides: Sides, figure_name: str, tool: str, arguments: Iterator[dict[str, Any]], calls: int
) -> dict[str, Any] | None:
    """Echo, ours; echo, ours; … each of ours on a fresh target (None when the pool has none left)."""
    echo, ours = [], []
    for _, args in zip(range(calls), arguments, strict=False):
        echo.append(await timed(sides.echo, "echo", ECHO_ARGUMENTS))
        ours.append(await timed(sides.ours, tool, args))
    return figure(sides.transport, figure_name, tool, "write", echo, ours, []) if ours else None


def figure(
    transport: str, name: str, tool: str, kind: str, echo: list[float], ours: list[float], peer: list[float]
) -> dict[str, Any]:
    row = {"transport": transport, "figure": name, "tool": tool, "kind": kind, "echo": summary(echo)}
    row["ours"] = summary(ours)
    row["vs_echo"] = round(row["ours"]["p50"] / row["echo"]["p50"], 2)
    if peer:
        row["peer"] = summary(peer)
        row["vs_peer"] = round(row["ours"]["p50"] / row["peer"]["p50"], 2)
    return row


class Writes:
    """The write targets of the whole run, shared by the transports (each target is used once)."""

    def __init__(self, store: Store) -> None:
        # Some bench vendors lack a required document (as real ones do): the approval still runs every check, and
        # the override lets it through, so the figure is approval's whole path.
        self.approvals = (
            {"order_id": order_id, "override_reason": "bench: approved whatever the documents say"}
            for order_id in store.pending_orders()
        )
        self.cancellations = (
            {"booking_id": booking_id, "reason": "Unwell this week", "credit_vendor": True}
            for booking_id in store.waitlisted_bookings()
        )
        self.years = store.years_to_schedule()
        self.batches = (
            {"booking_ids": batch, "reason": "Road closure", "credit_vendor": True}
            for batch in store.bulk_batches(1000)
        )


def said(row: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    same = f", same answer {row['same']['p50']} ms" if "same" in row else ""
    peer = f", peer {row['peer']['p50']} ms" if "peer" in row else ""
    log(
        f"    {row['figure']}: {row['ours']['p50']} ms (echo {row['echo']['p50']} ms{same}{peer}; "
        f"{row['ours']['calls']} calls)"
    )
    return row


async def transport_figures(
    sides: Sides, store: Store, writes: Writes | None, plan: Plan, too_slow: set[str], log: Callable[[str], None]
) -> list[dict[str, Any]]:
    rows = []
    for question in store.questions():
        row = await read_figure(sides, question, plan, too_slow)
        if row is not None:
            rows.append(said(row, log))
    if writes is None:
        return rows
    for name, tool, pool, calls in (
        ("approve_order", "approve_order", writes.approvals, plan.writes),
        ("cancel_booking (credit, waitlist offer)", "cancel_booking", writes.cancellations, plan.writes),
        ("bulk_create_market_dates (a year: 52 dates)", "bulk_create_market_dates", writes.years, plan.bulk_creates),
    ):
        row = await write_figure(sides, name, tool, pool, calls)
        if row is not None:
            rows.append(said(row, log))
    if sides.transport == "stdio":  # an absolute target (per booking): measured once, where Claude Desktop runs
        row = await write_figure(
            sides, "bulk_cancel_bookings (1,000, credit)", "bulk_cancel_bookings", writes.batches, plan.bulk_cancels
        )
        if row is not None:
            row["per_booking_ms"] = round(row["ours"]["p50"] / 1000, 4)
            rows.append(said(row, log))
    return rows


def pinning() -> tuple[set[int], set[int]] | None:
    """(the server's CPUs, the load generator's) when the machine allows them apart: one CPU each."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    return ({allowed[0]}, {allowed[1]}) if len(allowed) >= 2 else None


def set_affinity(cpus: set[int]) -> None:
    """Every thread of this process onto `cpus` (sched_setaffinity(0) would move the calling thread only)."""
    for task in Path("/proc/self/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), cpus)
        except OSError:  # a thread that has just ended
            pass


async def throughput(target: Target, store: Store, plan: Plan, log: Callable[[str], None]) -> dict[str, Any]:
    """Calls per second from `serve --transport http --stateless` and from the echo server run the same way,
    with C clients calling in a loop on keep-alive connections: the lean raw-HTTP load generator of
    bench/throughput.py, in this process. One process pinned to one CPU with the generator on another (when
    there are two), one process unpinned, and `--workers 2` unpinned (it needs both CPUs)."""
    from bench import throughput as raw  # (it imports this module)

    env = target.environment()
    ours_command = [sys.executable, "-m", "market_mcp", "serve", "--transport", "http", "--stateless"]
    echo_command = [sys.executable, ECHO, "http", *echo_arguments(target)]
    pins = pinning()
    modes: list[tuple[str, int, bool]] = [
        ("one process", 1, True),
        ("one process", 1, False),
        ("two workers", 2, False),
    ]
    if pins is None:
        modes = [m for m in modes if not m[2]]
    elif not plan.throughput_both:
        modes = [m for m in modes if m[2] or m[1] > 1]
    if not plan.throughput_workers:
        modes = [m for m in modes if m[1] == 1]
    rows = []
    everything = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    for name, workers, pinned in modes:
        server_cpus, generator_cpus = pins if pinned and pins else (None, None)
        sides = [("ours", [*ours_command, *(["--workers", str(workers)] if workers > 1 else []), "--port"])]
        if workers == 1:
            sides.insert(0, ("echo", echo_command))
        rates: dict[int, dict[str, float | str]] = {clients: {} for clients in plan.concurrency}
        try:
            if generator_cpus:
                set_affinity(generator_cpus)
            for side, command in sides:
                pending = list(plan.concurrency)
                while pending:  # a server that stops answering is reported so, and started afresh for the rest
                    async with http_server(command, env, server_cpus) as (url, _):
                        port = int(url.rsplit(":", 1)[1].split("/")[0])
                        if side == "echo":
                            sent = [raw.request(port, target.token, "echo", ECHO_ARGUMENTS)]
                        else:
                            sent = [
                                raw.request(port, target.token, THROUGHPUT_TOOL, {"vendor_id": v})
                                for v in store.vendor_ids
                            ]
                        try:
                            await raw.load(port, sent, max(pending), plan.throughput_warmup)  # every worker up
                            while pending:
                                calls = await raw.load(port, sent, pending[0], plan.throughput_seconds)
                                rates[pending.pop(0)][side] = round(len(calls) / plan.throughput_seconds, 1)
                        except raw.Stalled as stalled:
                            rates[pending.pop(0)][side] = f"stalled: {stalled}"
                            log(f"    {side} ({name}): stopped answering ({stalled}); starting it again")
        finally:
            if generator_cpus and everything:
                set_affinity(everything)
        cpus = (
            f"server on CPU {min(server_cpus)}, load generator on CPU {min(generator_cpus)}"
            if server_cpus and generator_cpus
            else "unpinned"
        )
        for clients, rate in rates.items():
            row = {"server": name, "workers": workers, "pinned": pinned, "cpus": cpus, "clients": clients, **rate}
            if all(isinstance(rate.get(side), float) for side in ("echo", "ours")) and rate["echo"]:
                row["vs_echo"] = round(rate["ours"] / rate["echo"], 2)  # type: ignore[operator]
            rows.append(row)
            log(f"    {name} ({cpus}), {clients} clients: {rate}")
    one = {r["clients"]: r["ours"] for r in rows if r["workers"] == 1 and not r["pinned"]}
    for row in rows:
        if row["workers"] > 1 and isinstance(one.get(row["clients"]), float) and isinstance(row["ours"], float):
            row["vs_one_process"] = round(row["ours"] / one[row["clients"]], 2)
    return {"rows": rows, "pinning": None if pins else "fewer than two CPUs to run on (or no sched_setaffinity)"}


def cold_start(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Seconds from launching a stdio server to its tools/list answer, and that answer's size in bytes."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert process.stdin is not None and process.stdout is not None

    def send(message: dict[str, Any]) -> None:
        process.stdin.write(json.dumps(message).encode() + b"\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]

    try:
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}
        send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello})
        process.stdout.readline()
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        answer = process.stdout.readline()
        elapsed = time.perf_counter() - started
        assert b'"tools"' in answer, answer[:200]
        return elapsed, len(answer.rstrip(b"\n"))
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cold_starts(target: Target, plan: Plan) -> dict[str, Any]:
    env = target.environment()
    ours_command = [sys.executable, "-m", "market_mcp", "serve"]
    ours_env = env | {"MARKET_MCP_TOKEN": target.token}
    echo, ours = [], []
    sizes = {}
    for _ in range(plan.cold_starts):
        seconds, sizes["echo"] = cold_start([sys.executable, ECHO, "stdio"], env)
        echo.append(seconds * 1000)
        seconds, sizes["ours"] = cold_start(ours_command, ours_env)
        ours.append(seconds * 1000)
    row = {"echo": summary(echo), "ours": summary(ours), "tools_list_bytes": sizes}
    row["vs_echo"] = round(row["ours"]["p50"] / row["echo"]["p50"], 2)
    return row


TRANSPORTS: dict[str, Callable[[Target], Any]] = {"in-process": in_process, "stdio": stdio, "http": http}


async def measure(
    target: Target, store: Store, plan: Plan, too_slow: set[str], log: Callable[[str], None], *, writes: bool = True
) -> dict[str, Any]:
    """Every figure of one scale. `too_slow` names the tools already too slow to repeat at a smaller scale
    (they only grow): they are not called again; tools found too slow here are added to it. Without `writes`,
    the read questions only (PostgreSQL: its copy is loaded once and kept)."""
    pool = Writes(store) if writes else None
    figures: list[dict[str, Any]] = []
    memory: dict[str, float | None] = {}
    for name, open_transport in TRANSPORTS.items():
        log(f"  {name}: {'reads and writes' if writes else 'reads'}")
        async with open_transport(target) as sides:
            figures += await transport_figures(sides, store, pool, plan, too_slow, log)
            for side, pid in sides.pids.items():
                memory[f"{side} ({name})"] = peak_memory_mb(pid)
    log("  http: throughput (raw HTTP load generator)")
    result = await throughput(target, store, plan, log)
    return {"figures": figures, "throughput": result["rows"], "pinning": result["pinning"], "memory_mb": memory}
