"""search's time in-process (no transport), word by word, on a bench file: python -m bench.search_times FILE.

For before/after comparisons of the search service on the same data (bench/RESULTS.md, "search"). The file is
opened as any store is (migrated to the code's newest schema first), so point it at a copy. FILE may also be a
database URL (a PostgreSQL copy of a bench file, as `python -m bench` loads one).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import anyio
from sqlalchemy import text

from market_mcp.auth import OrgContext, TokenIdentity
from market_mcp.db import Database
from market_mcp.db.migrate import upgrade
from market_mcp.services.connector import search

WORDS = ("sourdough", "ceramics", "rosa", "honey", "kombucha", "nguyen", "gelato", "candles")  # as bench/questions
MORE = ("ro", "a", "example.com", "order 12", "#4521", "Nguyễn", "ROSA'S")


async def measure(path: str, calls: int, words_only: bool = False) -> dict[str, object]:
    db = Database(path if "://" in path else f"sqlite+aiosqlite:///{path}")
    await upgrade(db)
    async with db.transaction() as session:
        org_id, name, slug = (
            await session.execute(text("SELECT id, name, slug FROM organization ORDER BY id LIMIT 1"))
        ).one()
    identity = TokenIdentity(
        token_id=1,
        token_name="bench",
        scope="read",
        last_used_at=None,
        organization_id=org_id,
        organization_name=name,
        organization_slug=slug,
        currency="AUD",
        timezone="Australia/Melbourne",
    )
    figures: dict[str, object] = {}
    answers: dict[str, list[str]] = {}
    for word in WORDS if words_only else (*WORDS, *MORE):
        times = []
        for _ in range(calls):
            async with db.transaction() as session:
                started = time.perf_counter()
                found = await search(OrgContext.of(session, identity), word)
                times.append((time.perf_counter() - started) * 1000)
        figures[word] = round(statistics.median(times), 2)
        answers[word] = [r.id for r in found.results]
    words = [figures[w] for w in WORDS]
    figures["p50 of the bench's words"] = round(statistics.median(words), 2)  # type: ignore[arg-type]
    await db.dispose()
    return {"ms (median)": figures, "answers": answers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--calls", type=int, default=9)
    parser.add_argument("--words-only", action="store_true", help="only the bench's eight words (not MORE)")
    args = parser.parse_args()
    sys.stdout.write(json.dumps(anyio.run(measure, args.file, args.calls, args.words_only), indent=1) + "\n")


if __name__ == "__main__":
    main()
