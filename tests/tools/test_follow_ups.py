"""Every figure the dashboards give names the call that lists exactly the records it counts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Caller, Tenant


async def listed(c: Caller, tool: str, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    """Every record the call lists, page by page, with every field."""
    rows: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        whole = {} if tool == "list_payments" else {"detail": "full"}  # a ledger row is always whole
        page = await c.ok(tool, **arguments, **whole, limit=200, offset=offset)
        rows += page["items"]
        offset = page["next_offset"]
    return rows


async def test_each_dashboard_figure_is_the_count_of_the_call_it_names(demo: Tenant) -> None:
    async with demo.client() as c:
        dashboard = await c.ok("get_dashboard")
        calls = dashboard["calls"]
        assert set(calls) == {
            "pending_applications",
            "pending_orders",
            "unpaid_orders",
            "money_owed_cents",
            "money_taken_this_month_cents",
            "upcoming_market_dates",
            "next_market_date",
            "total_vendors",
            "open_waitlist_offers",
            "emails_queued",
            "emails_failed",
        }
        for figure in (
            "pending_applications",
            "pending_orders",
            "unpaid_orders",
            "upcoming_market_dates",
            "total_vendors",
            "open_waitlist_offers",
            "emails_queued",
            "emails_failed",
        ):
            call = calls[figure]
            if call["tool"] == "list_waitlist":
                rows = (await c.ok("list_waitlist", **call["arguments"], limit=200))["items"]
            else:
                rows = await listed(c, call["tool"], call["arguments"])
            assert len(rows) == dashboard[figure], figure
        owed = await listed(c, calls["money_owed_cents"]["tool"], calls["money_owed_cents"]["arguments"])
        taken = await listed(
            c, calls["money_taken_this_month_cents"]["tool"], calls["money_taken_this_month_cents"]["arguments"]
        )
        nxt = await c.ok(calls["next_market_date"]["tool"], **calls["next_market_date"]["arguments"])
    assert sum(o["amount_due_cents"] for o in owed) == dashboard["money_owed_cents"]
    moved = {"payment": 1, "refund": -1}  # a refund as credit, and excess moved to credit, are money still held
    assert (
        sum(p["amount_cents"] * moved.get(p["kind"], 0) for p in taken if p["method"] != "credit")
        == dashboard["money_taken_this_month_cents"]
    )
    assert nxt == dashboard["next_market_date"]
    # The demo has something behind most figures, so the checks above are not all of empty lists.
    assert sum(1 for f in ("pending_applications", "unpaid_orders", "upcoming_market_dates") if dashboard[f]) == 3


async def test_each_attention_item_lists_exactly_what_it_counts(demo: Tenant) -> None:
    async with demo.client() as c:
        summary = await c.ok("get_dashboard_summary")
        assert summary["attention"], "the demo should need some attention"
        for item in summary["attention"]:
            rows = await listed(c, item["tool"], item["arguments"])
            assert len(rows) == item["count"], item["what"]
    unpaid_soon = [i for i in summary["attention"] if "next 7 days" in i["what"]]
    assert [i["tool"] for i in unpaid_soon] == ["list_orders"]
    assert set(unpaid_soon[0]["arguments"]) == {"status", "from_date", "to_date"}


@pytest.mark.parametrize("read_only", [False, True])
async def test_the_unpaid_orders_trading_soon_show_their_trading_days(demo: Tenant, read_only: bool) -> None:
    async with demo.client(read_only=read_only) as c:
        (item,) = [i for i in (await c.ok("get_dashboard_summary"))["attention"] if "next 7 days" in i["what"]]
        page = await c.ok(item["tool"], **item["arguments"])
    start, end = item["arguments"]["from_date"], item["arguments"]["to_date"]
    for order in page["items"]:
        assert order["status"] == "payment_pending"
        assert order["first_date"] <= end and order["last_date"] >= start and order["date_count"] >= 1
