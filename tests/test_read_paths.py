"""Every read tool answers the same whichever way the store is read, on generated data: two organisations of
the benchmark's shape at a small scale. On SQLite: through the event loop's own connection (db/onloop.py) and
through aiosqlite's thread. On PostgreSQL: the same data copied into PostgreSQL answers as SQLite does.

The calls cover each read tool with its filters, pages and details; the answers are compared whole, and each
must be a real answer (no refusal) unless the call is meant to be refused.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from bench import postgres
from bench.generate import generate, manifest_path
from mcp import Client
from sqlalchemy import text

from market_mcp.config import Settings
from market_mcp.db import Database
from market_mcp.server import build_server
from tests.conftest import on_postgres

SCALE = 0.02  # 6,000 bookings an organisation: every kind of record, every state (the smallest that builds)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    import json

    path = generate(SCALE, path=tmp_path_factory.mktemp("generated") / "market.db")
    yield path, json.loads(manifest_path(path).read_text())


def _calls(path: Path, organization_id: int) -> list[tuple[str, dict[str, Any]]]:
    con = sqlite3.connect(path)

    def ids(table: str, n: int = 3, where: str = "1") -> list[int]:
        sql = f"SELECT id FROM {table} WHERE organization_id = ? AND {where} ORDER BY id LIMIT ?"
        return [row[0] for row in con.execute(sql, (organization_id, n))]

    try:
        market, date_id, vendor = ids("market", 1)[0], ids("market_date", 1)[0], ids("vendor", 1)[0]
        name = con.execute("SELECT business_name FROM vendor WHERE id = ?", (vendor,)).fetchone()[0]
        records = {
            "application": ids("application"),
            "booking": ids("booking", 2) + ids("booking", 1, "status = 'cancelled'"),
            "credit": ids("credit"),
            "market": ids("market"),
            "market_date": ids("market_date", 2) + ids("market_date", 1, "status = 'cancelled'"),
            "order": ids("vendor_order", 2) + ids("vendor_order", 1, "status = 'paid'"),
            "vendor": ids("vendor"),
        }
        other = con.execute("SELECT id FROM vendor WHERE organization_id != ? LIMIT 1", (organization_id,)).fetchone()
        trading = con.execute(  # the first upcoming day with bookings: list_compliance(date) has rows to compare
            "SELECT MIN(d.scheduled_at) FROM market_date d JOIN booking b ON b.market_date_id = d.id "
            "WHERE d.organization_id = ? AND d.scheduled_at >= ? AND b.status IN ('pending', 'confirmed')",
            (organization_id, date.today().isoformat()),
        ).fetchone()[0]
        paying = con.execute(
            "SELECT vendor_id FROM payment WHERE organization_id = ? LIMIT 1", (organization_id,)
        ).fetchone()[0]
    finally:
        con.close()
    word = name.split()[0]
    calls: list[tuple[str, dict[str, Any]]] = [
        ("get_context", {}),
        ("get_dashboard", {}),
        ("get_dashboard_summary", {}),
        ("search", {"query": word}),
        ("search", {"query": "sourdough"}),
        ("search", {"query": str(vendor)}),
        ("get_vendor", {"vendor_id": other[0]}),  # another organisation's: 404 both ways
    ]
    for kind, found in records.items():
        for record_id in found:
            calls.append((f"get_{kind}", {f"{kind}_id": record_id}))
            if kind != "credit":  # search finds no credits, so fetch reads none
                calls.append(("fetch", {"id": f"{kind}:{record_id}"}))
    pages = [{}, {"limit": 3, "offset": 2}, {"detail": "full", "limit": 5}]
    filtered: list[tuple[str, dict[str, Any]]] = [
        ("list_markets", {"query": "market"}),
        ("list_market_dates", {"market_id": market, "date_filter": "upcoming"}),
        ("list_market_dates", {"date_filter": "past", "status": "scheduled"}),
        ("list_vendors", {"query": word}),
        ("list_vendors", {"market_id": market}),
        ("list_applications", {"status": "approved", "market_id": market}),
        ("list_applications", {"answer_key": "needs_power", "answer_value": "Yes", "sort": "score"}),
        ("list_applications", {"answer_key": "products", "answer_value": "sourdough", "detail": "full"}),
        ("list_orders", {"status": "payment_pending"}),
        ("list_orders", {"vendor_id": vendor, "include_archived": True}),
        ("list_bookings", {"market_id": market, "status": "confirmed", "date_filter": "upcoming"}),
        ("list_bookings", {"vendor_id": vendor}),
        ("list_bookings", {"query": word}),
        ("list_market_date_bookings", {"market_date_id": date_id}),
        ("list_waitlist", {"status": "waiting"}),
        ("list_credits", {"vendor_id": vendor}),
        ("list_credits", {"status": "unexpired"}),
        ("list_emails", {"status": "sent"}),
        ("list_emails", {"vendor_id": vendor}),
        ("list_vendor_notes", {"vendor_id": vendor}),
        ("list_audit_log", {}),
        ("list_payments", {"vendor_id": paying}),
        ("list_payments", {"method": "card", "kind": "payment"}),
        ("list_overdue_orders", {}),
        ("list_overdue_orders", {"market_id": market}),
        ("get_money_report", {}),
        ("get_money_report", {"market_id": market, "from_date": str(date.today() - timedelta(days=120))}),
        ("get_site_plan", {"market_id": market}),
        ("list_seasons", {}),
        ("list_seasons", {"market_id": market, "detail": "full"}),
        ("get_calendar_links", {"market_id": market}),
        ("get_calendar_links", {"vendor_id": vendor}),
        ("get_market_map", {"market_date_id": date_id}),
        ("list_compliance", {}),
        ("list_compliance", {"market_id": market, "status": "all", "limit": 5}),
        ("list_compliance", {"date": trading, "status": "all"}),
        ("export_csv", {"kind": "payments"}),
        ("export_csv", {"kind": "orders", "market_id": market}),
        ("export_csv", {"kind": "bookings", "market_id": market, "from_date": str(date.today())}),
    ]
    calls += [("list_markets", {}), ("list_markets", {"detail": "full"})]  # this scale has one market a group
    for tool in ("list_market_dates", "list_vendors", "list_applications", "list_orders"):
        calls += [(tool, page) for page in pages]
    calls.append(("list_payments", {"limit": 3, "offset": 2}))  # every field in every row: no detail
    for tool in ("list_bookings", "list_waitlist", "list_credits", "list_emails", "list_audit_log"):
        calls += [(tool, page) for page in pages if "detail" in page or tool == "list_bookings"]
    return calls + filtered


async def _answers(database: Database, token: str, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    server = build_server(Settings(database_url=str(database.url), rate_limit=100_000), db=database, token=token)
    answers = []
    async with Client(server) as client:
        for tool, arguments in calls:
            result = await client.call_tool(tool, arguments)
            answers.append((tool, arguments, result.is_error, result.structured_content))
            if tool == "export_csv":  # the CSV itself, beside what the result says of it
                answers.append((tool, arguments, result.is_error, result.content[1].resource.text))  # type: ignore[union-attr]
    await database.dispose()
    return answers


async def test_every_read_tool_answers_the_same_on_both_paths(
    generated: tuple[Path, dict[str, Any]], fresh: Database
) -> None:
    """`fresh` is an empty database: on PostgreSQL the generated data is copied into it."""
    path, manifest = generated
    organisation = manifest["organisations"][0]
    calls = _calls(path, organisation["organization_id"])
    read_tools = {name for name, spec in build_server(Settings()).specs.items() if not spec.writes}
    assert read_tools <= {tool for tool, _ in calls}, "every read tool is asked"

    url = f"sqlite+aiosqlite:///{path}"
    on_loop = await _answers(Database(url), organisation["token"], calls)
    if on_postgres():
        await asyncio.to_thread(
            postgres.load, fresh.url.render_as_string(hide_password=False), path, manifest, lambda line: None
        )
        other = await _answers(Database(fresh.url.render_as_string(hide_password=False)), organisation["token"], calls)
    else:
        other = await _answers(Database(url, reads_on_loop=False), organisation["token"], calls)

    assert on_loop == other
    refused = [(tool, arguments) for tool, arguments, is_error, _ in on_loop if is_error]
    assert refused == [("get_vendor", calls[6][1])], "only the other organisation's vendor is refused"
    assert on_loop[6][3]["code"] == 404
    empty = [
        (tool, arguments) for tool, arguments, _, answer in on_loop if tool.startswith("list_") and not answer["items"]
    ]
    assert not empty, "every page has rows to compare"


@pytest.mark.skipif(not on_postgres(), reason="PostgreSQL's JIT compiler")
async def test_postgresql_connections_do_not_jit_compile(db: Database) -> None:
    """A walk's LIMIT hides how short it is from the planner's cost estimate, which then JIT-compiles it: 250 ms
    of a search whose statements run in 13 ms (PostgreSQL 15, 300,000 bookings)."""
    async with db.transaction() as session:
        assert (await session.execute(text("SHOW jit"))).scalar_one() == "off"
