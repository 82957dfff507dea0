"""dashboard: get_context, get_dashboard, get_dashboard_summary against data whose figures are known."""

from __future__ import annotations

from datetime import timedelta

from mcp import Client
from sqlalchemy import update

from market_mcp.config import Settings
from market_mcp.db.tables import Email
from market_mcp.server import build_server
from tests.factories import Caller, Tenant, today
from tests.tools.test_bookings import paid_booking, unpaid_booking
from tests.tools.test_orders import approved_vendor, market_with_dates, order_of, rosa, set_market_date


async def test_get_context_says_who_and_where_and_with_which_token(alice: Tenant) -> None:
    async with alice.client() as c:
        riverside = await c.ok("create_market", name="Riverside")
        harbour = await c.ok("create_market", name="Harbour Night Market", status="published")
        context = await c.ok("get_context")
    async with alice.client(read_only=True) as c:
        read = await c.ok("get_context")
    assert {k: context[k] for k in ("organization_name", "organization_slug", "currency", "timezone")} == {
        "organization_name": "Alice Markets",
        "organization_slug": "alice",
        "currency": "AUD",
        "timezone": "Australia/Melbourne",
    }
    assert context["today"] == str(today())
    assert (context["token_name"], context["scope"], read["token_name"], read["scope"]) == (
        "alice write",
        "write",
        "alice read",
        "read",
    )
    assert context["markets"] == [
        {"id": harbour["id"], "name": "Harbour Night Market", "status": "published"},
        {"id": riverside["id"], "name": "Riverside", "status": "unpublished"},
    ]
    assert {"markets", "orders", "bookings", "waitlist", "dashboard"} <= set(context["toolsets"])


async def known_week(alice: Tenant) -> dict[str, int]:
    """A market with three Saturdays and a past date not closed out; orders in every state; one failed email."""
    async with alice.client() as c:
        s = await market_with_dates(c, dates=3, capacity=10)
        last_week = await c.ok("create_market_date", market_id=s.market_id, scheduled_at=str(today()))
        r = await rosa(c, s.market_id)
        bob = await approved_vendor(c, s.market_id, "Bob's Honey")
        cat = await approved_vendor(c, s.market_id, "Cat's Candles")
        await c.ok("create_vendor", business_name="Dee's Donuts", email="dee@example.com")
        await c.ok("create_application", market_id=s.market_id, business_name="Eve's Eggs", email="eve@example.com")
        await paid_booking(c, s.market_id, r, s.date_ids[:1])  # $45 taken this month
        await unpaid_booking(c, bob, s.date_ids[:2])  # $90 owed, the first date within 7 days
        await order_of(c, cat, s.date_ids[2:])  # pending approval
        await c.ok("send_vendor_email", vendor_id=r, subject="Hi", message="Hello")
    await set_market_date(alice, last_week["id"], scheduled_at=today() - timedelta(days=7))
    await set_market_date(alice, s.date_ids[0], scheduled_at=today() + timedelta(days=2))  # Bob's unpaid date is close
    async with alice.db.transaction(write=True) as session:
        await session.execute(update(Email).where(Email.kind == "vendor_message").values(status="failed"))
    return {"market_id": s.market_id, "next_date_id": s.date_ids[0]}


async def test_the_dashboard_counts_what_is_pending_owed_taken_and_coming(alice: Tenant) -> None:
    known = await known_week(alice)
    async with alice.client() as c:
        board = await c.ok("get_dashboard")
    assert {k: v for k, v in board.items() if k not in ("next_market_date", "season")} == {
        "today": str(today()),
        "currency": "AUD",
        "pending_applications": 1,
        "pending_orders": 1,
        "unpaid_orders": 1,
        "money_owed_cents": 9000,
        "money_taken_this_month_cents": 4500,
        "upcoming_market_dates": 3,
        "total_vendors": 5,
        "open_waitlist_offers": 0,
        "emails_queued": 3,  # two approvals and a receipt (delivery is not configured here)
        "emails_failed": 1,
        "calls": {
            "pending_applications": {"tool": "list_applications", "arguments": {"status": "pending"}},
            "pending_orders": {"tool": "list_orders", "arguments": {"status": "pending"}},
            "unpaid_orders": {"tool": "list_orders", "arguments": {"status": "payment_pending"}},
            "money_owed_cents": {"tool": "list_orders", "arguments": {"status": "payment_pending"}},
            "money_taken_this_month_cents": {
                "tool": "list_payments",
                "arguments": {"from_date": str(today().replace(day=1)), "to_date": str(today())},
            },
            "upcoming_market_dates": {
                "tool": "list_market_dates",
                "arguments": {"date_filter": "upcoming", "status": "scheduled"},
            },
            "next_market_date": {"tool": "get_market_date", "arguments": {"market_date_id": known["next_date_id"]}},
            "total_vendors": {"tool": "list_vendors", "arguments": {}},
            "open_waitlist_offers": {"tool": "list_waitlist", "arguments": {"status": "notified"}},
            "emails_queued": {"tool": "list_emails", "arguments": {"status": "queued"}},
            "emails_failed": {"tool": "list_emails", "arguments": {"status": "failed"}},
        },
    }
    nxt = board["next_market_date"]
    assert (nxt["id"], nxt["confirmed_count"], nxt["capacity"], nxt["spaces_left"]) == (
        known["next_date_id"],
        2,
        10,
        8,
    )


async def test_the_summary_answers_whats_pending_today_in_a_few_lines(alice: Tenant) -> None:
    await known_week(alice)
    async with alice.client() as c:
        summary = await c.ok("get_dashboard_summary")
    in_two_days = today() + timedelta(days=2)
    weekday = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")[in_two_days.weekday()]
    assert summary["text"].split("\n") == [
        f"Next market: Riverside {weekday} {in_two_days.day} {in_two_days:%B}, 2 of 10 spaces booked (8 spaces left).",
        "Owed: $90.00 on 1 unpaid order; taken this month: $45.00.",
        "Needs attention: 1 application waiting for a decision; 1 order to approve; 1 unpaid order with a market in "
        "the next 7 days; 1 past market date not closed out; 1 email failed to send; 3 emails queued and never "
        "sent: delivery is not set up.",
    ]
    assert summary["attention"] == [
        {
            "what": "1 application waiting for a decision",
            "count": 1,
            "tool": "list_applications",
            "arguments": {"status": "pending"},
        },
        {"what": "1 order to approve", "count": 1, "tool": "list_orders", "arguments": {"status": "pending"}},
        {
            "what": "1 unpaid order with a market in the next 7 days",
            "count": 1,
            "tool": "list_orders",
            "arguments": {
                "status": "payment_pending",
                "from_date": str(today()),
                "to_date": str(today() + timedelta(days=7)),
            },
        },
        {
            "what": "1 past market date not closed out",
            "count": 1,
            "tool": "list_market_dates",
            "arguments": {"date_filter": "past", "status": "scheduled"},
        },
        {"what": "1 email failed to send", "count": 1, "tool": "list_emails", "arguments": {"status": "failed"}},
        {
            "what": "3 emails queued and never sent: delivery is not set up",
            "count": 3,
            "tool": "list_emails",
            "arguments": {"status": "queued"},
        },
    ]
    assert len(summary["text"]) < 400


async def test_with_delivery_set_up_queued_emails_are_on_their_way_and_need_no_attention(alice: Tenant) -> None:
    await known_week(alice)
    server = build_server(
        Settings(database_url=str(alice.db.url), rate_limit=100_000, smtp_url="smtp://mail.example.com:2525"),
        db=alice.db,
        token=alice.token,
    )
    async with Client(server) as client:  # the delivery worker runs only beside a served server: mail stays queued
        summary = await Caller(client).ok("get_dashboard_summary")
        board = await Caller(client).ok("get_dashboard")
    assert board["emails_queued"] == 3
    assert [item["what"] for item in summary["attention"]] == [
        "1 application waiting for a decision",
        "1 order to approve",
        "1 unpaid order with a market in the next 7 days",
        "1 past market date not closed out",
        "1 email failed to send",
    ]


async def test_an_empty_organisation_has_nothing_to_attend_to(alice: Tenant) -> None:
    async with alice.client() as c:
        summary = await c.ok("get_dashboard_summary")
        board = await c.ok("get_dashboard")
    assert summary == {
        "text": "No market dates are scheduled.\nOwed: $0.00 on 0 unpaid orders; taken this month: $0.00.\n"
        "Nothing needs attention today.",
        "attention": [],
    }
    assert board["next_market_date"] is None and board["total_vendors"] == 0


async def test_dashboards_count_only_the_callers_organisation(alice: Tenant, bob: Tenant) -> None:
    await known_week(bob)
    async with alice.client() as c:
        board = await c.ok("get_dashboard")
        context = await c.ok("get_context")
    assert (board["pending_applications"], board["total_vendors"], board["money_owed_cents"]) == (0, 0, 0)
    assert board["next_market_date"] is None and context["markets"] == []
