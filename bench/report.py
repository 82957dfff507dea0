"""bench/RESULTS.md from a run's results: the machine, the command, every figure beside its target.

The analysis of what missed and why (bench/MISSES.md, written by a person from the figures) is appended as it
is: the numbers above it are the run's, the reasoning is not regenerated.
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).parent

# Issue 16's targets.
GET_VENDOR = {"in-process": 2.0, "stdio": 1.8}  # get_vendor p50 ÷ echo's, by transport
LIST_PAGES, PAGE_VS_SAME = ("list_bookings", "list_vendors", "list_market_dates"), 1.5  # ÷ the same answer's
VS_PEER = 1.0  # every read ÷ mcp-server-sqlite's, same question
SEARCH_MS, SEARCH_AT = 10.0, 300_000  # search p50 in-process at 300,000 bookings
GROWTH, GROWTH_FROM, GROWTH_TO = 1.5, 300_000, 3_000_000  # search and get_dashboard p50, 3 million ÷ 300,000
THROUGHPUT_32, WORKERS_2 = 0.8, 1.6  # HTTP at 32 clients: one process ÷ echo; two workers ÷ one process
COLD_START, PER_BOOKING_MS, MEMORY_MB = 1.2, 0.15, 200


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")
    kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({model}), {kib / 1024 / 1024:.1f} GB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; load average at the end {load}"
    )


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=BENCH, capture_output=True, text=True).stdout.strip()

    dirty = " with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    return f"{git('rev-parse', '--short', 'HEAD')}{dirty}"


def verdict(met: bool | None) -> str:
    return "**not measured**" if met is None else "met" if met else "**missed**"


def ms(summary: dict[str, float]) -> str:
    return f"{summary['p50']:g} / {summary['p99']:g}"


def short(row: dict[str, Any]) -> str:
    return row["figure"].split(" (")[0]


def row_targets(row: dict[str, Any], bookings: int) -> list[tuple[str, bool]]:
    """Issue 16's targets that apply to one figure, and whether each was met."""
    found = []
    if row["kind"] != "write" and row["tool"] == "get_vendor" and row["transport"] in GET_VENDOR:
        limit = GET_VENDOR[row["transport"]]
        found.append((f"≤ {limit:g}× echo", row["vs_echo"] <= limit))
    if row["tool"] in LIST_PAGES and "vs_same" in row:
        found.append((f"≤ {PAGE_VS_SAME:g}× same answer", row["vs_same"] <= PAGE_VS_SAME))
    if "vs_peer" in row:
        found.append((f"≤ {VS_PEER:g}× peer", row["vs_peer"] <= VS_PEER))
    if row["tool"] == "search" and row["transport"] == "in-process" and bookings == SEARCH_AT:
        found.append((f"≤ {SEARCH_MS:g} ms", row["ours"]["p50"] <= SEARCH_MS))
    if "per_booking_ms" in row:
        found.append((f"< {PER_BOOKING_MS:g} ms/booking", row["per_booking_ms"] < PER_BOOKING_MS))
    return found


def figures_table(figures: list[dict[str, Any]], bookings: int) -> list[str]:
    lines = [
        "| transport | figure | calls | echo p50 / p99 ms | ours p50 / p99 ms | ours ÷ echo | same answer p50 ms | "
        "ours ÷ same answer | peer p50 / p99 ms | ours ÷ peer | targets |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in figures:
        ratio = f"{row['vs_echo']:g}×" + (f" ({row['per_booking_ms']:g} ms/booking)" if "per_booking_ms" in row else "")
        note = " (one call: too slow to repeat)" if row.get("too_slow") else ""
        peer = ms(row["peer"]) if "peer" in row else "–"
        vs_peer = f"{row['vs_peer']:g}×" if "peer" in row else "–"
        same = f"{row['same']['p50']:g}" if "same" in row else "–"
        vs_same = f"{row['vs_same']:g}×" if "same" in row else "–"
        targets_met = "; ".join(f"{text}: {verdict(met)}" for text, met in row_targets(row, bookings)) or "–"
        lines.append(
            f"| {row['transport']} | {row['figure']}{note} | {row['ours']['calls']} | {ms(row['echo'])} | "
            f"{ms(row['ours'])} | {ratio} | {same} | {vs_same} | {peer} | {vs_peer} | {targets_met} |"
        )
    return lines


def throughput_table(rows: list[dict[str, Any]], pinning: str | None) -> list[str]:
    lines = [
        "| server | CPUs | clients | echo calls/s | ours calls/s | ours ÷ echo | ours ÷ one process (unpinned) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]

    def rate(value: float | str | None) -> str:
        return "–" if value is None else f"{value:g}" if isinstance(value, float) else f"**{value}**"

    for t in rows:
        echo = rate(t.get("echo"))
        vs_echo = f"{t['vs_echo']:g}×" if "vs_echo" in t else "–"
        vs_one = f"{t['vs_one_process']:g}×" if "vs_one_process" in t else "–"
        lines.append(
            f"| {t['server']} | {t['cpus']} | {t['clients']} | {echo} | {rate(t['ours'])} | {vs_echo} | {vs_one} |"
        )
    if pinning:
        lines += ["", f"Not pinned: {pinning}."]
    if any(isinstance(t.get(side), str) for t in rows for side in ("echo", "ours")):
        lines += [
            "",
            "Stalled: that server stopped answering altogether (a call unanswered for 10 s, and every call after it, "
            "on new connections too); its figure is left out and it was started afresh for the next count.",
        ]
    return lines


THROUGHPUT_NOTE = (
    "**HTTP throughput** (calls per second; ours: get_vendor over many vendors, echo: echo): `market-mcp serve "
    "--transport http --stateless` and the echo server run the same way, each client a keep-alive connection "
    "sending JSON-RPC tools/call POSTs in a loop, from the lean raw-HTTP load generator of bench/throughput.py "
    "(no MCP client: the figure is the server's). Pinned: the server on one CPU, the generator on the other; "
    "`--workers 2` needs both CPUs, so it runs unpinned."
)


def scale_section(result: dict[str, Any]) -> list[str]:
    data = result["data"]
    rows = ", ".join(f"{n:,} {table}" for table, n in sorted(data["rows_per_table"].items()))
    cold = result["cold_start"]
    memory = ", ".join(f"{side} {mb} MB" for side, mb in result["memory_mb"].items())
    lines = [
        f"## Scale {result['scale']:g}: {result['bookings']:,} bookings per organisation",
        "",
        f"Data (two organisations; built {'earlier today, reused' if data['reused'] else 'by this run'} in "
        f"{data['seconds']} s): {rows}.",
        "",
        *figures_table(result["figures"], result["bookings"]),
        "",
        *(
            [f"Not called at this size: {', '.join(result['not_repeated'])} (over 10 s a call at a smaller size).", ""]
            if result["not_repeated"]
            else []
        ),
        f"**Cold start** to the first tools/list answer over stdio (p50 / p99 ms, {cold['ours']['calls']} launches "
        f"each): bare SDK server {ms(cold['echo'])}, market-mcp {ms(cold['ours'])}: {cold['vs_echo']:g}× "
        f"(target ≤ {COLD_START:g}×: {verdict(cold['vs_echo'] <= COLD_START)}).",
        "",
        f"**tools/list answer**: {cold['tools_list_bytes']['ours']:,} bytes (the echo server's: "
        f"{cold['tools_list_bytes']['echo']:,}).",
        "",
        THROUGHPUT_NOTE,
        "",
        *throughput_table(result["throughput"], result.get("pinning")),
        "",
        f"**Peak memory** (VmHWM of each server process): {memory}.",
        "",
    ]
    if "postgres" in result:
        lines += postgres_section(result)
    return lines


def postgres_section(result: dict[str, Any]) -> list[str]:
    pg = result["postgres"]
    load = pg["load"]
    how = "loaded by an earlier run" if load["reused"] else f"{load['rows']:,} rows copied in {load['seconds']} s"
    memory = ", ".join(f"{side} {mb} MB" for side, mb in pg["memory_mb"].items())
    return [
        f"### Scale {result['scale']:g} on PostgreSQL",
        "",
        f"The same read questions on a PostgreSQL copy of the same file ({how}; migrated by the project's own "
        "migrations, ANALYZEd). mcp-server-sqlite reads SQLite files only: no peer figures (–).",
        "",
        *figures_table(pg["figures"], result["bookings"]),
        "",
        THROUGHPUT_NOTE,
        "",
        *throughput_table(pg["throughput"], pg.get("pinning")),
        "",
        f"**Peak memory** (VmHWM of each server process): {memory}.",
        "",
    ]


def targets(results: list[dict[str, Any]]) -> list[str]:
    """One line per target of issue 16, judged over every scale and transport of the SQLite runs."""
    largest = results[-1]
    figures = [(result["bookings"], row) for result in results for row in result["figures"]]
    reads = [row for _, row in figures if row["kind"] != "write"]
    pages = [r for r in reads if r["tool"] in LIST_PAGES and "vs_same" in r]
    peer = [r for r in reads if "vs_peer" in r]
    bulk = [r for _, r in figures if "per_booking_ms" in r]
    by_size = {result["bookings"]: result for result in results}
    ours_memory = max(mb for side, mb in largest["memory_mb"].items() if side.startswith("ours") and mb)

    def worst(rows: list[dict[str, Any]], key: str) -> str:
        row = max(rows, key=lambda r: r[key])
        return f"worst {row[key]:g}× ({short(row)}, {row['transport']})"

    def count(rows: list[dict[str, Any]], limit: float, key: str) -> str:
        return f"{sum(r[key] <= limit for r in rows)} of {len(rows)} within"

    lines = ["| target | result | |", "| --- | --- | --- |"]
    for transport, limit in GET_VENDOR.items():
        rows = [(n, r) for n, r in figures if r["tool"] == "get_vendor" and r["transport"] == transport]
        lines.append(
            f"| get_vendor p50 ≤ {limit:g}× echo's, {transport}, every size | "
            + ", ".join(f"{r['vs_echo']:g}× at {n:,}" for n, r in rows)
            + f" | {verdict(all(r['vs_echo'] <= limit for _, r in rows) if rows else None)} |"
        )
    lines.append(
        f"| list pages ({', '.join(LIST_PAGES)}) p50 ≤ {PAGE_VS_SAME:g}× the same-answer floor's, every transport "
        f"and size | {count(pages, PAGE_VS_SAME, 'vs_same')}; {worst(pages, 'vs_same')} | "
        f"{verdict(all(r['vs_same'] <= PAGE_VS_SAME for r in pages))} |"
    )
    lines.append(
        f"| every read p50 ≤ {VS_PEER:g}× mcp-server-sqlite's read_query for the same question (stdio) | "
        f"{count(peer, VS_PEER, 'vs_peer')}; {worst(peer, 'vs_peer')} | "
        f"{verdict(all(r['vs_peer'] <= VS_PEER for r in peer))} |"
    )
    at = by_size.get(SEARCH_AT)
    search = (
        next((r for r in at["figures"] if r["tool"] == "search" and r["transport"] == "in-process"), None)
        if at
        else None
    )
    lines.append(
        f"| search p50 ≤ {SEARCH_MS:g} ms in-process at {SEARCH_AT:,} bookings | "
        + (f"{search['ours']['p50']:g} ms" if search else "not measured at this size")
        + f" | {verdict(search['ours']['p50'] <= SEARCH_MS if search else None)} |"
    )
    for tool in ("search", "get_dashboard"):
        growth = [g for g in growth_rows(results) if g[0] == tool]
        lines.append(
            f"| {tool} p50 growth from {GROWTH_FROM:,} to {GROWTH_TO:,} bookings ≤ {GROWTH:g}×, every transport | "
            + (", ".join(f"{g:g}× ({transport})" for _, transport, g in growth) or "both sizes not measured")
            + f" | {verdict(all(g <= GROWTH for _, _, g in growth) if growth else None)} |"
        )
    one = [t for t in largest["throughput"] if t["workers"] == 1 and t["clients"] == 32 and "vs_echo" in t]
    judged = [t for t in one if t["pinned"]] or one
    lines.append(
        f"| HTTP at 32 clients, one process: ≥ {THROUGHPUT_32:g}× echo's calls/s ({largest['bookings']:,} bookings; "
        "judged pinned where the machine allows) | "
        + (", ".join(f"{t['vs_echo']:g}× ({'pinned' if t['pinned'] else 'unpinned'})" for t in one) or "not measured")
        + f" | {verdict(all(t['vs_echo'] >= THROUGHPUT_32 for t in judged) if judged else None)} |"
    )
    two = [t for t in largest["throughput"] if t["workers"] == 2 and t["clients"] == 32 and "vs_one_process" in t]
    lines.append(
        f"| HTTP at 32 clients: `--workers 2` ≥ {WORKERS_2:g}× one process's calls/s (both unpinned) | "
        + (", ".join(f"{t['vs_one_process']:g}×" for t in two) or "not measured")
        + f" | {verdict(all(t['vs_one_process'] >= WORKERS_2 for t in two) if two else None)} |"
    )
    lines += [
        f"| cold start ≤ {COLD_START:g}× the bare SDK server's | "
        + ", ".join(f"{r['cold_start']['vs_echo']:g}×" for r in results)
        + f" | {verdict(all(r['cold_start']['vs_echo'] <= COLD_START for r in results))} |",
        f"| bulk_cancel_bookings of 1,000: < {PER_BOOKING_MS:g} ms per booking | "
        + (", ".join(f"{r['per_booking_ms']:g} ms" for r in bulk) or "not measured")
        + f" | {verdict(all(r['per_booking_ms'] < PER_BOOKING_MS for r in bulk) if bulk else None)} |",
        f"| peak server memory < {MEMORY_MB} MB at the largest size ({largest['bookings']:,} bookings) | "
        f"{ours_memory} MB | {verdict(ours_memory < MEMORY_MB)} |",
    ]
    on_pg = [(r["bookings"], r["postgres"]) for r in results if "postgres" in r]
    for bookings, pg in on_pg:
        judged_rows = [(text, met) for row in pg["figures"] for text, met in row_targets(row, bookings)]
        two = [t for t in pg["throughput"] if t["workers"] == 2 and t["clients"] == 32 and "vs_one_process" in t]
        lines.append(
            f"| on PostgreSQL at {bookings:,} bookings: the per-figure targets above (no peer there) | "
            f"{sum(met for _, met in judged_rows)} of {len(judged_rows)} met; `--workers 2` ÷ one process at 32 "
            "clients: "
            + (", ".join(f"{t['vs_one_process']:g}×" for t in two) or "not measured")
            + " | "
            + f"{verdict(all(met for _, met in judged_rows) and all(t['vs_one_process'] >= WORKERS_2 for t in two))} |"
        )
    return lines


def growth_rows(results: list[dict[str, Any]]) -> list[tuple[str, str, float]]:
    """(tool, transport, p50 at 3,000,000 bookings ÷ p50 at 300,000) for every read measured at both."""
    by_size = {result["bookings"]: result for result in results}
    if GROWTH_FROM not in by_size or GROWTH_TO not in by_size:
        return []
    first = {(r["tool"], r["transport"]): r for r in by_size[GROWTH_FROM]["figures"] if r["kind"] != "write"}
    rows = []
    for r in by_size[GROWTH_TO]["figures"]:
        before = first.get((r["tool"], r["transport"]))
        if before is not None:
            rows.append((r["tool"], r["transport"], round(r["ours"]["p50"] / before["ours"]["p50"], 2)))
    return rows


def growth_table(results: list[dict[str, Any]]) -> list[str]:
    header = " | ".join(f"{r['bookings']:,} bookings" for r in results)
    lines = [
        f"| figure | transport | {header} | growth {GROWTH_FROM:,} → {GROWTH_TO:,} |",
        "| --- | --- |" + " --- |" * (len(results) + 1),
    ]
    p50 = {(r["tool"], r["transport"], n): r["ours"]["p50"] for n, res in enumerate(results) for r in res["figures"]}
    growth = {(tool, transport): g for tool, transport, g in growth_rows(results)}
    for r in results[0]["figures"]:
        if r["kind"] == "write":
            continue
        key = (r["tool"], r["transport"])
        cells = " | ".join(f"{p50[(*key, n)]:g} ms" if (*key, n) in p50 else "–" for n in range(len(results)))
        g = growth.get(key)
        judged = f" {verdict(g <= GROWTH)}" if g is not None and r["tool"] in ("search", "get_dashboard") else ""
        lines.append(f"| {short(r)} | {r['transport']} | {cells} | {'–' if g is None else f'{g:g}×'}{judged} |")
    return lines


def markdown(
    results: list[dict[str, Any]], *, command: str, minutes: float, postgres_skipped: str | None = None
) -> str:
    misses = BENCH / "MISSES.md"
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m bench` (see bench/README.md): market-mcp's tools against the MCP SDK's own floor "
        "(an `echo` tool on a bare `MCPServer`) and against `mcp-server-sqlite`'s `read_query` answering the same "
        "questions in hand-written SQL, pair by pair in one run. Beside echo, the floor server also returns "
        "market-mcp's own answer to each read question at once, under the same output schema (`same answer`): "
        "what is left of a ratio to echo once the answer's size is paid for is market-mcp's work. Times are round "
        "trips as the SDK client sees them, in milliseconds; HTTP throughput is counted by a lean raw-HTTP load "
        "generator instead, so that it is the server's. The read questions and throughput are also measured on a "
        "PostgreSQL copy of the data (at 300,000 bookings by default).",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; the run took {minutes:.0f} minutes.",
        f"- Command: `.venv/bin/{command}` (from the project's root)",
        f"- Commit: {commit()}",
        f"- Machine: {machine()}. The machine is shared: absolute times move with its load; the ratios, measured "
        "call by call side by side, much less.",
        *([f"- PostgreSQL figures skipped: {postgres_skipped}."] if postgres_skipped else []),
        "",
        "## Targets (issue 16)",
        "",
        *targets(results),
        "",
    ]
    if len(results) > 1:
        lines += ["## Growth with the store's size (p50, ms)", "", *growth_table(results), ""]
    for result in results:
        lines += scale_section(result)
    if misses.exists():
        lines += [misses.read_text().rstrip(), ""]
    return "\n".join(lines)
