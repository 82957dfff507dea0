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
SINGLE, AGGREGATE, GROWTH = 1.5, 3.0, 1.5
PER_BOOKING_MS, COLD_START, THROUGHPUT_32, MEMORY_MB = 0.2, 1.5, 0.7, 200


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


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def ms(summary: dict[str, float]) -> str:
    return f"{summary['p50']:g} / {summary['p99']:g}"


def target_of(row: dict[str, Any]) -> tuple[str, bool | None]:
    """The row's target against the echo floor, and whether it was met (None: no target for writes)."""
    if row["kind"] == "single":
        return f"≤ {SINGLE}×", row["vs_echo"] <= SINGLE
    if row["kind"] == "aggregate":
        return f"≤ {AGGREGATE}×", row["vs_echo"] <= AGGREGATE
    if "per_booking_ms" in row:
        return f"< {PER_BOOKING_MS} ms/booking", row["per_booking_ms"] < PER_BOOKING_MS
    return "none", None


def figures_table(result: dict[str, Any]) -> list[str]:
    lines = [
        "| transport | figure | calls | echo p50 / p99 ms | ours p50 / p99 ms | ours ÷ echo | target | | "
        "same answer p50 ms | ours ÷ same answer | peer p50 / p99 ms | ours ÷ peer (≤ 1.0) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in result["figures"]:
        target, met = target_of(row)
        ratio = f"{row['vs_echo']:g}×" + (f" ({row['per_booking_ms']:g} ms/booking)" if "per_booking_ms" in row else "")
        note = " (one call: too slow to repeat)" if row.get("too_slow") else ""
        peer = ms(row["peer"]) if "peer" in row else "–"
        vs_peer = f"{row['vs_peer']:g} {verdict(row['vs_peer'] <= 1.0)}" if "peer" in row else "–"
        same = f"{row['same']['p50']:g}" if "same" in row else "–"
        vs_same = f"{row['vs_same']:g}×" if "same" in row else "–"
        lines.append(
            f"| {row['transport']} | {row['figure']}{note} | {row['ours']['calls']} | {ms(row['echo'])} | "
            f"{ms(row['ours'])} | {ratio} | {target} | {'' if met is None else verdict(met)} | {same} | {vs_same} | "
            f"{peer} | {vs_peer} |"
        )
    return lines


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
        *figures_table(result),
        "",
        *(
            [f"Not called at this size: {', '.join(result['not_repeated'])} (over 10 s a call at a smaller size).", ""]
            if result["not_repeated"]
            else []
        ),
        f"**Cold start** to the first tools/list answer over stdio (p50 / p99 ms, {cold['ours']['calls']} launches "
        f"each): bare SDK server {ms(cold['echo'])}, market-mcp {ms(cold['ours'])}: {cold['vs_echo']:g}× "
        f"(target ≤ {COLD_START}×: {verdict(cold['vs_echo'] <= COLD_START)}).",
        "",
        f"**tools/list answer**: {cold['tools_list_bytes']['ours']:,} bytes (the echo server's: "
        f"{cold['tools_list_bytes']['echo']:,}).",
        "",
        "**HTTP throughput** (calls per second, each client calling in a loop; ours: get_vendor):",
        "",
        "| clients | echo | ours | ours ÷ echo |",
        "| --- | --- | --- | --- |",
        *(f"| {t['clients']} | {t['echo']:g} | {t['ours']:g} | {t['vs_echo']:g} |" for t in result["throughput"]),
        "",
        f"**Peak memory** (VmHWM of each server process): {memory}.",
        "",
    ]
    return lines


def targets(results: list[dict[str, Any]]) -> list[str]:
    """One line per target of the issue, judged over every scale and transport."""
    largest = results[-1]
    reads = [row for result in results for row in result["figures"] if row["kind"] in ("single", "aggregate")]
    single = [r for r in reads if r["kind"] == "single"]
    aggregate = [r for r in reads if r["kind"] == "aggregate"]
    peer = [r for r in reads if "peer" in r]
    bulk = [r for result in results for r in result["figures"] if "per_booking_ms" in r]
    thirty_two = [t for t in largest["throughput"] if t["clients"] == 32]
    ours_memory = max(mb for side, mb in largest["memory_mb"].items() if side.startswith("ours") and mb)

    def worst(rows: list[dict[str, Any]], key: str) -> str:
        row = max(rows, key=lambda r: r[key])
        return f"worst {row[key]:g}× ({row['figure'].split(' (')[0]}, {row['transport']})"

    def count(rows: list[dict[str, Any]], limit: float, key: str = "vs_echo") -> str:
        return f"{sum(r[key] <= limit for r in rows)} of {len(rows)} within"

    lines = [
        "| target | result | |",
        "| --- | --- | --- |",
        f"| single-record and filtered-list reads: p50 ≤ {SINGLE}× echo, every transport and size | "
        f"{count(single, SINGLE)}; {worst(single, 'vs_echo')} | {verdict(all(r['vs_echo'] <= SINGLE for r in single))} |",
        f"| aggregate reads: p50 ≤ {AGGREGATE}× echo | {count(aggregate, AGGREGATE)}; {worst(aggregate, 'vs_echo')} | "
        f"{verdict(all(r['vs_echo'] <= AGGREGATE for r in aggregate))} |",
        f"| as fast as mcp-server-sqlite's read_query (ours ÷ peer ≤ 1.0, stdio) | {count(peer, 1.0, 'vs_peer')}; "
        f"{worst(peer, 'vs_peer')} | {verdict(all(r['vs_peer'] <= 1.0 for r in peer))} |",
    ]
    if len(results) > 1:
        growth = growth_rows(results)
        unmeasured = largest["not_repeated"]
        too_slow = f"; not measured (too slow): {', '.join(unmeasured)}" if unmeasured else ""
        lines.append(
            f"| no growth with size (p50 at {largest['bookings']:,} ÷ p50 at {results[0]['bookings']:,} bookings "
            f"≤ {GROWTH}) | {sum(g <= GROWTH for _, _, g in growth)} of {len(growth)} within; worst "
            f"{max(g for _, _, g in growth):g}×{too_slow} | "
            f"{verdict(not unmeasured and all(g <= GROWTH for _, _, g in growth))} |"
        )
    else:
        lines.append("| no growth with size | one size measured: not judged | **not measured** |")
    lines += [
        f"| bulk_cancel_bookings of 1,000: < {PER_BOOKING_MS} ms per booking | "
        + ", ".join(f"{r['per_booking_ms']:g} ms" for r in bulk)
        + f" | {verdict(all(r['per_booking_ms'] < PER_BOOKING_MS for r in bulk))} |",
        f"| cold start ≤ {COLD_START}× the bare SDK server's | "
        + ", ".join(f"{r['cold_start']['vs_echo']:g}×" for r in results)
        + f" | {verdict(all(r['cold_start']['vs_echo'] <= COLD_START for r in results))} |",
        f"| HTTP throughput with 32 clients ≥ {THROUGHPUT_32}× echo's (largest size) | "
        + ", ".join(f"{t['vs_echo']:g}×" for t in thirty_two)
        + f" | {verdict(all(t['vs_echo'] >= THROUGHPUT_32 for t in thirty_two))} |",
        f"| peak server memory < {MEMORY_MB} MB at the largest size ({largest['bookings']:,} bookings) | "
        f"{ours_memory} MB | {verdict(ours_memory < MEMORY_MB)} |",
    ]
    return lines


def growth_rows(results: list[dict[str, Any]]) -> list[tuple[str, str, float]]:
    """(figure, transport, p50 at the largest size ÷ p50 at the smallest) for every read measured at both."""
    first = {(r["figure"], r["transport"]): r for r in results[0]["figures"] if r["kind"] in ("single", "aggregate")}
    rows = []
    for r in results[-1]["figures"]:
        before = first.get((r["figure"], r["transport"]))
        if before is not None:
            rows.append((r["figure"], r["transport"], round(r["ours"]["p50"] / before["ours"]["p50"], 2)))
    return rows


def growth_table(results: list[dict[str, Any]]) -> list[str]:
    header = " | ".join(f"{r['bookings']:,} bookings" for r in results)
    lines = [f"| figure | transport | {header} | growth |", "| --- | --- |" + " --- |" * (len(results) + 1)]
    p50 = {(r["figure"], r["transport"], n): r["ours"]["p50"] for n, res in enumerate(results) for r in res["figures"]}
    for name, transport, growth in growth_rows(results):
        cells = " | ".join(
            f"{p50[(name, transport, n)]:g} ms" if (name, transport, n) in p50 else "–" for n in range(len(results))
        )
        lines.append(f"| {name} | {transport} | {cells} | {growth:g}× {verdict(growth <= GROWTH)} |")
    return lines


def markdown(results: list[dict[str, Any]], *, command: str, minutes: float) -> str:
    misses = BENCH / "MISSES.md"
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m bench` (see bench/README.md): market-mcp's tools against the MCP SDK's own floor "
        "(an `echo` tool on a bare `MCPServer`) and against `mcp-server-sqlite`'s `read_query` answering the same "
        "questions in hand-written SQL, pair by pair in one run. Beside echo, the floor server also returns "
        "market-mcp's own answer to each read question at once, under the same output schema (`same answer`): "
        "what is left of a ratio to echo once the answer's size is paid for is market-mcp's work. Times are round "
        "trips as the SDK client sees them, in milliseconds.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; the run took {minutes:.0f} minutes.",
        f"- Command: `.venv/bin/{command}` (from the project's root)",
        f"- Commit: {commit()}",
        f"- Machine: {machine()}. The machine is shared: absolute times move with its load; the ratios, measured "
        "call by call side by side, much less.",
        "",
        "## Targets",
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
