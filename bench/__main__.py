"""`python -m bench`: build (or reuse) the data, measure every figure at each scale, write bench/RESULTS.md.

    .venv/bin/python -m bench                    # scales 0.1, 1 and 10, the full run
    .venv/bin/python -m bench --scale 0.1 1      # a quicker run without the 3-million-booking file
    .venv/bin/python -m bench --smoke            # CI: scale 0.1, a few calls each, no RESULTS.md
    .venv/bin/python -m bench --scale 0.1 --postgres   # the PostgreSQL figures at scale 0.1 too

PostgreSQL: the read questions and HTTP throughput are measured again on a PostgreSQL copy of the data, by
default at scale 1 (300,000 bookings) when it is in the run; `--postgres` adds every scale up to 1 of the run,
`--no-postgres` none. The server is MARKET_MCP_BENCH_POSTGRES_URL's, or one the bench starts (bench/postgres.py);
without either the figures are skipped with the reason printed.

Each scale's data is built once into bench/data/ (gitignored) and reused while the seed and the schema are
unchanged and it was built today; every run measures on a fresh copy, since the write figures use up their
targets (pending orders, bookings to cancel).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sqlite3
import sys
import time
from contextlib import closing, nullcontext
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio

from bench import measure, postgres, report
from bench.generate import SEED, TIMEZONE, analyse, analysed, database_path, generate, manifest_path
from bench.questions import Store
from market_mcp.db import Database
from market_mcp.db.migrate import head_revision, upgrade

DATA = Path(__file__).parent / "data"
RESULTS = Path(__file__).parent / "RESULTS.md"


def log(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def data_for(scale: float, seed: int, fresh: bool) -> dict[str, Any]:
    """The scale's pristine file and manifest: reused if current, else built (and how long that took)."""
    path = database_path(scale, seed)
    manifest_file = manifest_path(path)
    if not fresh and path.exists() and manifest_file.exists():
        manifest = json.loads(manifest_file.read_text())
        if manifest["built_on"] == datetime.now(ZoneInfo(TIMEZONE)).date().isoformat():
            if manifest["schema"] != head_revision():  # as any store is: by the project's own migrations
                log(f"scale {scale:g}: upgrading {path.name} from schema {manifest['schema']}")
                anyio.run(_upgrade, path)
                manifest["schema"] = head_revision()
                manifest_file.write_text(json.dumps(manifest, indent=2))
            if not analysed(path):
                log(f"scale {scale:g}: {path.name} has no planner statistics: analysing it")
                with closing(sqlite3.connect(path)) as con:
                    analyse(con)
            log(f"scale {scale:g}: reusing {path.name} (built in {manifest['seconds']} s)")
            return manifest | {"path": str(path), "reused": True}
    log(f"scale {scale:g}: building {path.name}")
    generate(scale, seed, path)
    manifest = json.loads(manifest_file.read_text())
    log(f"scale {scale:g}: built in {manifest['seconds']} s")
    return manifest | {"path": str(path), "reused": False}


async def _upgrade(path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(db)
    finally:
        await db.dispose()


def run_scale(
    scale: float, seed: int, plan: measure.Plan, fresh: bool, too_slow: set[str], postgres_url: str | None = None
) -> dict[str, Any]:
    measure.ensure_peer(log)
    data = data_for(scale, seed, fresh)
    copy = DATA / f"run-scale-{scale:g}.db"
    for suffix in ("-wal", "-shm"):
        Path(str(copy) + suffix).unlink(missing_ok=True)
    shutil.copyfile(data["path"], copy)
    organisation = data["organisations"][0]
    target = measure.Target(copy, organisation["token"])
    store = Store.open(copy, organisation["organization_id"])
    target.answers = anyio.run(measure.capture_answers, target, store)
    started = time.monotonic()
    log(f"scale {scale:g}: cold starts")
    cold = measure.cold_starts(target, plan)
    skipped = sorted(too_slow)
    results = anyio.run(measure.measure, target, store, plan, too_slow, log)
    log(f"scale {scale:g}: measured in {time.monotonic() - started:.0f} s")
    result = {
        "scale": scale,
        "bookings": data["rows_per_table"]["booking"] // len(data["organisations"]),
        "data": {k: v for k, v in data.items() if k != "organisations"},
        "cold_start": cold,
        "not_repeated": skipped,
        **results,
    }
    if postgres_url is not None:
        result["postgres"] = run_postgres(scale, data, plan, postgres_url)
    return result


def run_postgres(scale: float, data: dict[str, Any], plan: measure.Plan, url: str) -> dict[str, Any]:
    """The read questions and HTTP throughput again, on a PostgreSQL copy of the scale's pristine file."""
    started = time.monotonic()
    log(f"scale {scale:g}: PostgreSQL")
    loaded = postgres.load(url, Path(data["path"]), data, log)
    organisation = data["organisations"][0]
    target = measure.Target(DATA / f"run-scale-{scale:g}.db", organisation["token"], database_url=url)
    store = Store.open(Path(data["path"]), organisation["organization_id"])  # the same ids as the copy's
    target.answers = anyio.run(measure.capture_answers, target, store)
    results = anyio.run(partial(measure.measure, writes=False), target, store, plan, set(), log)
    log(f"scale {scale:g}: PostgreSQL measured in {time.monotonic() - started:.0f} s")
    return {"load": loaded, **results}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, nargs="+", default=[0.1, 1, 10], help="default: 0.1 1 10")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--fresh", action="store_true", help="rebuild the data even if a current copy exists")
    parser.add_argument("--smoke", action="store_true", help="scale 0.1, a few calls per figure, no RESULTS.md")
    parser.add_argument(
        "--postgres",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the read questions and throughput on PostgreSQL too (default: at scale 1, when it is in the run; "
        "--postgres: at every scale up to 1)",
    )
    args = parser.parse_args()
    command = "python -m bench " + shlex.join(sys.argv[1:])
    started = time.monotonic()
    if args.smoke:
        result = run_scale(0.1, args.seed, measure.Plan.smoke(), args.fresh, set())
        log(f"smoke: {len(result['figures'])} figures in {time.monotonic() - started:.0f} s, every call answered")
        return
    results: list[dict[str, Any]] = []
    too_slow: set[str] = set()
    on_postgres = (
        {s for s in args.scale if (s <= 1 if args.postgres else s == 1)} if args.postgres is not False else set()
    )
    skipped = postgres.unavailable() if on_postgres else None
    if skipped:
        log(f"PostgreSQL figures skipped: {skipped}")
        on_postgres = set()
    with postgres.server(log) if on_postgres else nullcontext(None) as url:
        for scale in sorted(args.scale):
            results.append(
                run_scale(scale, args.seed, measure.Plan(), args.fresh, too_slow, url if scale in on_postgres else None)
            )
            (DATA / "results.json").write_text(json.dumps(results, indent=2))  # kept as each scale ends
    text = report.markdown(
        results, command=command.strip(), minutes=(time.monotonic() - started) / 60, postgres_skipped=skipped
    )
    RESULTS.write_text(text)
    log(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
