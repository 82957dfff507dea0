"""Payment deadlines: a market's terms give an approved order its deadline; list_overdue_orders shows who missed
it; release_unpaid_bookings (and the scheduler, where a market asks for it) gives the spaces back, offers them to
the waitlist and emails the vendor; reminders go out on the ladder's days, once each. Through the MCP client, with
the server's clock moved instead of waiting; the store and the outbox read back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import select

from market_mcp.config import Settings
from market_mcp.db.tables import AuditEntry, Booking, PaymentReminder
from market_mcp.scheduler import run_once
from market_mcp.schemas.common import long_date
from market_mcp.server import build_server
from tests.factories import Caller, Tenant, today
from tests.tools.test_orders import Setup, approved_vendor, market_with_dates, order_of, outbox, rosa, snapshot


def days_ahead(days: int) -> Callable[[], datetime]:
    """The server's clock, `days` from now."""
    return lambda: datetime.now(UTC) + timedelta(days=days)


async def rosas_order(c: Caller, **terms: Any) -> tuple[Setup, dict[str, Any]]:
    """A two-date market with these payment terms, and Rosa's approved order for both dates."""
    s = await market_with_dates(c, dates=2)
    await c.ok("update_market", market_id=s.market_id, **terms)
    vendor = await rosa(c, s.market_id)
    order = await order_of(c, vendor, s.date_ids)
    return s, await c.ok("approve_order", order_id=order["id"])


async def statuses(tenant: Tenant, order_id: int) -> list[str]:
    async with tenant.db.transaction() as session:
        found = await session.execute(select(Booking.status).where(Booking.order_id == order_id).order_by(Booking.id))
        return list(found.scalars())


async def rungs(tenant: Tenant) -> list[tuple[int, int, bool]]:
    async with tenant.db.transaction() as session:
        found = await session.execute(select(PaymentReminder).order_by(PaymentReminder.id))
        return [(r.order_id, r.days_before_due, r.email_id is not None) for r in found.scalars()]


def kinds(emails: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in emails]


# ---------------------------------------------------------------- terms and the deadline


async def test_a_markets_terms_give_an_approved_order_the_earlier_deadline_and_the_email_states_it(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        s, order = await rosas_order(
            c, payment_due_days=30, payment_due_days_before=3, release_unpaid=True, payment_reminders=[0, 3, 3]
        )
        market = await c.ok("get_market", market_id=s.market_id)
    due = s.days[0] - timedelta(days=3)  # earlier than 30 days after approval
    assert market["payment_terms"] == {
        "payment_due_days": 30,
        "payment_due_days_before": 3,
        "release_unpaid": True,
        "payment_reminders": [3, 0],
    }
    assert order["payment_due_on"] == str(due)
    (approval,) = [e for e in await outbox(alice) if e["kind"] == "order_approved"]
    assert (
        f"Amount due: $90.00; please pay by {long_date(due)}. Spaces still unpaid after that are released to other "
        "vendors." in approval["body"]
    )


async def test_a_deadline_is_never_before_approval_and_minus_one_removes_a_term(alice: Tenant) -> None:
    async with alice.client() as c:
        _, late = await rosas_order(c, payment_due_days=0, payment_due_days_before=60)
        s = await market_with_dates(c, "Hillside", dates=1)
        cleared = await c.ok(
            "update_market", market_id=s.market_id, payment_due_days=5, payment_reminders=[2], release_unpaid=True
        )
        cleared = await c.ok(
            "update_market", market_id=s.market_id, payment_due_days=-1, payment_reminders=[], release_unpaid=False
        )
        vendor = await approved_vendor(c, s.market_id, "Ben's Brews")
        order = await order_of(c, vendor, s.date_ids)
        free = await c.ok("approve_order", order_id=order["id"])
    assert late["payment_due_on"] == str(today())  # 60 days before a date next week has passed: due today
    assert cleared["payment_terms"] == {
        "payment_due_days": None,
        "payment_due_days_before": None,
        "release_unpaid": False,
        "payment_reminders": [],
    }
    assert free["payment_due_on"] is None
    approval = [e for e in await outbox(alice) if e["kind"] == "order_approved"][-1]
    assert "Amount due: $45.00; please pay before market day." in approval["body"]


async def test_bad_terms_are_refused_naming_the_bounds(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        too_long = await c.refused("update_market", 422, market_id=s.market_id, payment_due_days=400)
        too_many = await c.refused("update_market", 422, market_id=s.market_id, payment_reminders=[9, 7, 5, 3, 1, 0])
    assert "payment_due_days" in too_long and "365" in too_long
    assert "payment_reminders" in too_many and "5" in too_many


# ---------------------------------------------------------------- overdue, and releasing by hand


async def test_an_overdue_order_is_listed_previewed_then_released_with_its_spaces_offered_to_the_waitlist(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        s, order = await rosas_order(c, payment_due_days=2, waitlist_auto_notify=True)
        ben = await approved_vendor(c, s.market_id, "Ben's Brews")
        waiting = await c.ok("add_to_waitlist", market_date_id=s.date_ids[0], vendor_id=ben)
        paid_vendor = await approved_vendor(c, s.market_id, "Cal's Cheese")
        paid = await c.ok("approve_order", order_id=(await order_of(c, paid_vendor, s.date_ids[:1]))["id"])
        await c.ok("record_order_payment", order_id=paid["id"], method="cash")
        on_time = await c.ok("list_overdue_orders")
    async with alice.client(clock=days_ahead(3)) as c:
        overdue = await c.ok("list_overdue_orders", market_id=s.market_id)
        before = await snapshot(alice)
        preview = await c.ok("release_unpaid_bookings", market_id=s.market_id, dry_run=True)
        assert await snapshot(alice) == before
        done = await c.ok("release_unpaid_bookings", market_id=s.market_id)
        after = await c.ok("get_order", order_id=order["id"])
        again = await c.ok("release_unpaid_bookings")
        left = await c.ok("list_overdue_orders")
        audit = await c.ok("list_audit_log", tool="release_unpaid_bookings")
    bookings = [b["booking_id"] for b in order["bookings"]]
    assert on_time["items"] == []
    assert overdue["total"] == 1
    (row,) = overdue["items"]
    assert row | {"days_overdue": None} == {
        "order_id": order["id"],
        "vendor_id": order["vendor_id"],
        "business_name": "Rosa's Bakery",
        "market_id": s.market_id,
        "market_name": "Riverside",
        "payment_due_on": str(today() + timedelta(days=2)),
        "days_overdue": None,
        "amount_due_cents": 9000,
        "currency": "AUD",
        "releasable_booking_ids": bookings,
        "auto_release": False,
        "reminders_sent": 0,
    }
    assert row["days_overdue"] in (0, 1, 2)  # 1, unless Melbourne's day turns between the two clocks' readings
    released = {
        "order_id": order["id"],
        "vendor_id": order["vendor_id"],
        "business_name": "Rosa's Bakery",
        "payment_due_on": str(today() + timedelta(days=2)),
        "booking_ids": bookings,
        "amount_due_cents": 9000,
        "credited_cents": 0,
    }
    assert preview["note"].startswith("Preview only: no booking was released and no email queued.")
    assert preview["would_release"] == [released]
    assert preview["would_email"] == 1
    assert "released" not in preview and "emails" not in preview
    assert done["summary"] == "Released 2 bookings of 1 overdue order."
    assert done["released"] == [released]
    assert [(o["entry_id"], o["vendor_id"]) for o in done["waitlist_offers"]] == [(waiting["id"], ben)]
    assert done["emails"]["queued"] == 2  # Rosa's release and Ben's offer
    assert "queued" in done["emails"]["note"]
    assert (after["status"], after["total_cents"], after["amount_due_cents"]) == ("complete", 0, 0)
    assert await statuses(alice, order["id"]) == ["cancelled", "cancelled"]
    assert again["released"] == [] and again["summary"] == "Released 0 bookings of 0 overdue orders."
    assert left["items"] == []
    # newest first: the second release (nothing to do), the release, the preview
    assert [(a["outcome"], a["record_count"] > 0) for a in audit["items"]] == [
        ("ok", False),
        ("ok", True),
        ("ok", False),
    ]
    mail = [e for e in await outbox(alice) if e["kind"] in ("payment_released", "waitlist_offer")]
    assert kinds(mail) == ["waitlist_offer", "payment_released"]
    body = mail[1]["body"]
    assert f"wasn't paid by {long_date(today() + timedelta(days=2))}, so we've released its spaces:" in body
    assert f"- {long_date(s.days[0])}\n- {long_date(s.days[1])}" in body
    assert "You won't be charged for them." in body
    assert "credit" not in body


async def test_releasing_a_part_paid_order_moves_what_was_paid_to_credit_and_says_so(alice: Tenant) -> None:
    async with alice.client() as c:
        _, order = await rosas_order(c, payment_due_days=1)
        await c.ok("record_order_payment", order_id=order["id"], method="cash", amount="50")
    async with alice.client(clock=days_ahead(2)) as c:
        done = await c.ok("release_unpaid_bookings", order_id=order["id"])
        credits = await c.ok("list_credits", vendor_id=order["vendor_id"])
        after = await c.ok("get_order", order_id=order["id"])
    assert done["released"][0]["credited_cents"] == 5000
    assert [(c["amount_cents"], c["remaining_cents"]) for c in credits["items"]] == [(5000, 5000)]
    assert [(p["kind"], p["amount_cents"]) for p in after["payments"]] == [("payment", 5000), ("excess", 5000)]
    (email,) = [e for e in await outbox(alice) if e["kind"] == "payment_released"]
    assert "The $50.00 you paid towards them is now credit on your account, for your next booking." in email["body"]


async def test_release_refuses_an_order_that_is_not_overdue_saying_why(alice: Tenant, bob: Tenant) -> None:
    async with alice.client() as c:
        _, due_later = await rosas_order(c, payment_due_days=5)
        s = await market_with_dates(c, "Hillside", dates=1)
        ben = await approved_vendor(c, s.market_id, "Ben's Brews")
        no_terms = await c.ok("approve_order", order_id=(await order_of(c, ben, s.date_ids))["id"])
        before = await snapshot(alice)
        not_yet = await c.refused("release_unpaid_bookings", 409, order_id=due_later["id"])
        never = await c.refused("release_unpaid_bookings", 409, order_id=no_terms["id"])
        assert await snapshot(alice) == before
    async with bob.client() as c:
        theirs = await c.refused("release_unpaid_bookings", 404, order_id=due_later["id"])
        their_market = await c.refused("list_overdue_orders", 404, market_id=s.market_id)
    due = today() + timedelta(days=5)
    assert not_yet == (
        f"Order {due_later['id']} is not overdue: it is due by {due}; list_overdue_orders shows those that are."
    )
    assert never == (
        f"Order {no_terms['id']} has no payment deadline, so it cannot be overdue; set the market's payment_due_days "
        "or payment_due_days_before with update_market (applies at approval)."
    )
    assert theirs == f"Order {due_later['id']} not found."
    assert their_market == f"Market {s.market_id} not found."


# ---------------------------------------------------------------- the scheduler


async def test_the_scheduler_reminds_on_the_ladders_days_once_each_then_releases_where_the_market_asks(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        _, order = await rosas_order(c, payment_due_days=5, payment_reminders=[3, 0], release_unpaid=True)

    async def day(n: int) -> int:
        return await run_once(alice.db, days_ahead(n), email_delivery=False)

    assert [await day(0), await day(1)] == [0, 0]  # before the first rung (5 − 3 = day 2)
    assert await day(2) == 1
    assert await day(2) == 0  # sent once
    assert await rungs(alice) == [(order["id"], 3, True)]
    assert await day(5) == 1  # the deadline itself
    assert await statuses(alice, order["id"]) == ["confirmed", "confirmed"]
    assert await day(6) == 1  # overdue: released, and the release emailed (not reminded again)
    assert await statuses(alice, order["id"]) == ["cancelled", "cancelled"]
    assert await day(7) == 0
    assert await rungs(alice) == [(order["id"], 3, True), (order["id"], 0, True)]
    mail = [e for e in await outbox(alice) if e["kind"] in ("order_reminder", "payment_released")]
    assert kinds(mail) == ["order_reminder", "order_reminder", "payment_released"]
    due = long_date(today() + timedelta(days=5))
    assert f"Please pay by {due}. Spaces still unpaid after that are released to other vendors." in mail[0]["body"]
    async with alice.db.transaction() as session:
        entries = (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars().all()
    by_scheduler = [(e.tool, e.token_name, e.token_id) for e in entries if e.token_name == "scheduler"]
    assert by_scheduler == [("payment_deadlines", "scheduler", None)] * 3
    assert entries[-1].arguments == {"reminders_queued": 0, "released_orders": [order["id"]]}


async def test_a_scheduler_that_was_away_sends_only_the_latest_rung_and_leaves_markets_that_do_not_release(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        _, order = await rosas_order(c, payment_due_days=4, payment_reminders=[3, 1, 0])
    assert await run_once(alice.db, days_ahead(4), email_delivery=False) == 1
    assert await rungs(alice) == [(order["id"], 3, False), (order["id"], 1, False), (order["id"], 0, True)]
    assert await run_once(alice.db, days_ahead(9), email_delivery=False) == 0
    assert await statuses(alice, order["id"]) == ["confirmed", "confirmed"]  # release_unpaid is off
    (reminder,) = [e for e in await outbox(alice) if e["kind"] == "order_reminder"]
    assert "Please pay by" in reminder["body"] and "Your spaces are only guaranteed" in reminder["body"]


async def test_the_running_server_releases_on_its_own_clock(alice: Tenant) -> None:
    async with alice.client() as c:
        _, order = await rosas_order(c, payment_due_days=1, release_unpaid=True)
    settings = Settings(database_url=str(alice.db.url), deadline_check_seconds=0.05)
    server = build_server(settings, db=alice.db, token=alice.token, clock=days_ahead(2))
    async with server.delivering():
        with anyio.fail_after(20):
            while await statuses(alice, order["id"]) != ["cancelled", "cancelled"]:
                await anyio.sleep(0.05)
    assert kinds(await outbox(alice))[-1] == "payment_released"


async def test_aged_debt_counts_from_the_deadline_where_a_market_has_terms_else_from_billing(alice: Tenant) -> None:
    async with alice.client(clock=days_ahead(-40)) as c:  # both approved 40 days ago
        _, with_terms = await rosas_order(c, payment_due_days_before=3)  # due 3 days before a date still to come
        s = await market_with_dates(c, "Hillside", dates=1)
        ben = await approved_vendor(c, s.market_id, "Ben's Brews")
        await c.ok("approve_order", order_id=(await order_of(c, ben, s.date_ids))["id"])
    async with alice.client() as c:
        report = await c.ok("get_money_report")
    assert with_terms["payment_due_on"] is not None
    assert report["aged"] == {
        "current_cents": 9000,  # Rosa's: its deadline has not passed
        "days_1_30_cents": 0,
        "days_31_60_cents": 4500,  # Ben's: no terms, so due since the day it was billed
        "over_60_cents": 0,
    }
