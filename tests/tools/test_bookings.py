"""bookings: list, get, confirm, reject, cancel, rebook, restore, update_space_number, bulk_cancel_bookings.

Set up through the tools (markets, dates, approved vendors, orders); money is followed through the order and
the credit ledger, emails through the outbox, and every refusal is checked to write nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anyio
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from market_mcp.db.tables import AuditEntry, Booking, Credit, CreditTransaction, Vendor
from tests.factories import Caller, Tenant, today
from tests.tools.test_orders import (
    approved_vendor,
    credit,
    market_with_dates,
    order_of,
    outbox,
    rosa,
    set_market_date,
    snapshot,
)


async def paid_booking(c: Caller, market_id: int, vendor_id: int, date_ids: list[int]) -> dict[str, Any]:
    """An approved and paid order on the dates: its detail (bookings confirmed, nothing due)."""
    order = await order_of(c, vendor_id, date_ids)
    await c.ok("approve_order", order_id=order["id"])
    return await c.ok("record_order_payment", order_id=order["id"], method="cash")


async def unpaid_booking(c: Caller, vendor_id: int, date_ids: list[int]) -> dict[str, Any]:
    """An approved order on the dates, still payment_pending."""
    order = await order_of(c, vendor_id, date_ids)
    return await c.ok("approve_order", order_id=order["id"])


def booking_ids(order: dict[str, Any]) -> list[int]:
    return [line["booking_id"] for line in order["bookings"]]


async def ledger(tenant: Tenant, booking_id: int) -> list[tuple[str, int]]:
    async with tenant.db.transaction() as session:
        rows = await session.execute(
            select(CreditTransaction.kind, CreditTransaction.amount_cents)
            .where(CreditTransaction.booking_id == booking_id)
            .order_by(CreditTransaction.id)
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


# ---------------------------------------------------------------- list and get


async def test_list_bookings_filters_by_date_market_vendor_status_and_name(alice: Tenant) -> None:
    async with alice.client() as c:
        riverside = await market_with_dates(c, dates=2)
        harbour = await market_with_dates(c, "Harbour", dates=1)
        r = await rosa(c, riverside.market_id)
        await approve_application_to(c, harbour.market_id, r)
        bob = await approved_vendor(c, riverside.market_id, "Bob's Honey")
        rosas = await unpaid_booking(c, r, riverside.date_ids)
        bobs = await order_of(c, bob, [riverside.date_ids[0]])  # pending
        at_harbour = await unpaid_booking(c, r, harbour.date_ids)
        await set_market_date(alice, riverside.date_ids[0], scheduled_at=today() - timedelta(days=7))

        def ids(page: dict[str, Any]) -> list[int]:
            return [b["id"] for b in page["items"]]

        first, second = booking_ids(rosas)
        upcoming = await c.ok("list_bookings", date_filter="upcoming")
        past = await c.ok("list_bookings", date_filter="past")
        assert ids(upcoming) == [booking_ids(at_harbour)[0], second]  # soonest first: Harbour trades a week earlier
        assert ids(past) == [booking_ids(bobs)[0], first]
        assert ids(await c.ok("list_bookings", market_id=harbour.market_id)) == booking_ids(at_harbour)
        assert ids(await c.ok("list_bookings", market_date_id=riverside.date_ids[0])) == [booking_ids(bobs)[0], first]
        assert ids(await c.ok("list_bookings", vendor_id=bob)) == booking_ids(bobs)
        assert ids(await c.ok("list_bookings", status="pending")) == booking_ids(bobs)
        assert ids(await c.ok("list_bookings", query="HONEY")) == booking_ids(bobs)
        every = await c.ok("list_bookings", limit=2)
        assert (every["total"], len(every["items"]), every["next_offset"]) == (4, 2, 2)


async def test_from_date_and_to_date_keep_bookings_on_market_dates_in_the_range_both_ends_included(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=4)
        r = await rosa(c, s.market_id)
        on = dict(zip(s.days, booking_ids(await unpaid_booking(c, r, s.date_ids)), strict=True))
        await set_market_date(alice, s.date_ids[0], scheduled_at=today() - timedelta(days=7))
        last_week = today() - timedelta(days=7)

        async def days(**arguments: Any) -> list[str]:
            page = await c.ok("list_bookings", **arguments)
            assert page["total"] == len(page["items"])
            return [b["scheduled_at"] for b in page["items"]]

        assert await days(from_date=str(s.days[1]), to_date=str(s.days[2])) == [str(s.days[2]), str(s.days[1])]
        assert await days(from_date=str(s.days[2])) == [str(s.days[3]), str(s.days[2])]
        assert await days(to_date=str(s.days[1])) == [str(s.days[1]), str(last_week)]
        assert await days(from_date=str(last_week), to_date=str(last_week)) == [str(last_week)]
        assert (
            await days(from_date=str(last_week + timedelta(days=1)), to_date=str(s.days[1] - timedelta(days=1))) == []
        )
        assert await days(date_filter="upcoming", to_date=str(s.days[1])) == [str(s.days[1])]
        page = await c.ok("list_bookings", from_date=str(s.days[3]), to_date=str(s.days[3]))
    assert [b["id"] for b in page["items"]] == [on[s.days[3]]]


async def approve_application_to(c: Caller, market_id: int, vendor_id: int) -> None:
    application = await c.ok("create_application", market_id=market_id, vendor_id=vendor_id)
    await c.ok(
        "update_application_status", application_id=application["id"], status="approved", send_notification=False
    )


async def test_get_booking_gives_the_vendor_market_date_space_and_money(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        r = await rosa(c, s.market_id)
        (booking_id,) = booking_ids(await unpaid_booking(c, r, s.date_ids))
        await c.ok("update_space_number", booking_id=booking_id, space_number="14A")
        booking = await c.ok("get_booking", booking_id=booking_id)
        missing = await c.refused("get_booking", 404, booking_id=booking_id + 100)
    assert {k: booking[k] for k in ("status", "vendor_id", "business_name", "market_id", "market_name")} == {
        "status": "confirmed",
        "vendor_id": r,
        "business_name": "Rosa's Bakery",
        "market_id": s.market_id,
        "market_name": "Riverside",
    }
    assert (booking["market_date_id"], booking["scheduled_at"]) == (s.date_ids[0], str(s.days[0]))
    assert (booking["space_number"], booking["amount_cents"], booking["currency"]) == ("14A", 4500, "AUD")
    assert booking["attended"] is None and booking["cancelled_at"] is None
    assert missing == f"Booking {booking_id + 100} not found."


# ---------------------------------------------------------------- confirm and reject


async def test_confirming_a_pending_booking_takes_a_space_and_emails_the_vendor(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        r = await rosa(c, s.market_id)
        (booking_id,) = booking_ids(await order_of(c, r, s.date_ids))
        confirmed = await c.ok("confirm_booking", booking_id=booking_id)
        md = await c.ok("get_market_date", market_date_id=s.date_ids[0])
        again = await c.refused("confirm_booking", 409, booking_id=booking_id)
    assert (confirmed["status"], confirmed["emails"]["queued"]) == ("confirmed", 1)
    assert (md["confirmed_count"], md["pending_count"]) == (1, 0)
    assert again == f"Booking {booking_id} is not pending (it is confirmed), so it cannot be confirmed."
    (email,) = await outbox(alice)
    assert (email["to"], email["kind"]) == ("Rosa@Bakery.example.com", "booking_confirmed")
    assert email["subject"] == f"Confirmed: Riverside on {s.days[0]:%A} {s.days[0].day} {s.days[0]:%B %Y}"
    assert email["body"].startswith("Hi Rosa,\n\nRosa's Bakery's space at Riverside on")


async def test_confirming_on_a_full_date_is_refused_and_writes_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1, capacity=1)
        r = await rosa(c, s.market_id)
        bob = await approved_vendor(c, s.market_id, "Bob's Honey")
        (waiting,) = booking_ids(await order_of(c, r, s.date_ids))
        await unpaid_booking(c, bob, s.date_ids)
        before = await snapshot(alice)
        refusal = await c.refused("confirm_booking", 409, booking_id=waiting)
    assert refusal.startswith(f"Market date {s.date_ids[0]} ({s.days[0]}) is full: 1 of 1 spaces are taken.")
    assert await snapshot(alice) == before


async def test_rejecting_a_pending_booking_takes_it_off_the_order_and_emails_the_reason(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=2)
        r = await rosa(c, s.market_id)
        order = await order_of(c, r, s.date_ids)
        first, second = booking_ids(order)
        rejected = await c.ok("reject_booking", booking_id=first, reason="That Saturday is for food trucks only.")
        after = await c.ok("get_order", order_id=order["id"])
        refused = await c.refused("reject_booking", 409, booking_id=first)
    assert (rejected["status"], rejected["cancel_reason"], rejected["emails"]["queued"]) == (
        "rejected",
        "That Saturday is for food trucks only.",
        1,
    )
    assert (after["total_cents"], after["amount_due_cents"], after["status"]) == (4500, 4500, "pending")
    assert [(line["booking_id"], line["status"]) for line in after["bookings"]] == [
        (first, "rejected"),
        (second, "pending"),
    ]
    assert refused == f"Booking {first} is not pending (it is rejected), so it cannot be rejected."
    (email,) = await outbox(alice)
    assert email["kind"] == "booking_rejected"
    assert "That Saturday is for food trucks only." in email["body"]
    assert "You won't be charged for this date." in email["body"]


# ---------------------------------------------------------------- cancel


async def test_cancelling_a_paid_booking_with_credit_gives_its_amount_back_as_a_credit(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=2)
        r = await rosa(c, s.market_id)
        order = await paid_booking(c, s.market_id, r, s.date_ids)
        first, _ = booking_ids(order)
        cancelled = await c.ok("cancel_booking", booking_id=first, reason="Rosa is unwell.", credit_vendor=True)
        given = await c.ok("get_credit", credit_id=cancelled["credit_id"])
        after = await c.ok("get_order", order_id=order["id"])
        md = await c.ok("get_market_date", market_date_id=s.date_ids[0])
        log = await c.client.call_tool("list_audit_log", {"tool": "cancel_booking"})
    assert (cancelled["status"], cancelled["cancel_reason"], cancelled["credit_issued_cents"]) == (
        "cancelled",
        "Rosa is unwell.",
        4500,
    )
    assert cancelled["cancelled_at"] is not None and cancelled["emails"]["queued"] == 1
    assert (given["vendor_id"], given["amount_cents"], given["remaining_cents"], given["source"]) == (
        r,
        4500,
        4500,
        "cancellation",
    )
    assert await ledger(alice, first) == [("grant", 4500)]
    assert (after["status"], after["total_cents"], after["amount_due_cents"]) == ("complete", 9000, 0)
    assert (md["confirmed_count"], md["spaces_left"]) == (0, 40)
    (entry,) = log.structured_content["items"]  # type: ignore[index]
    assert (entry["outcome"], f"booking:{first}" in entry["records"]) == ("ok", True)
    email = (await outbox(alice))[-1]
    assert (email["kind"], email["to"]) == ("booking_cancelled", "Rosa@Bakery.example.com")
    assert "Rosa is unwell." in email["body"]
    assert "We've added a credit of $45.00 to your account" in email["body"]


async def test_cancelling_a_paid_booking_without_credit_gives_nothing_back(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        r = await rosa(c, s.market_id)
        (booking_id,) = booking_ids(await paid_booking(c, s.market_id, r, s.date_ids))
        cancelled = await c.ok("cancel_booking", booking_id=booking_id)
        credits = await c.ok("list_credits", vendor_id=r)
    assert (cancelled["credit_issued_cents"], cancelled["credit_id"]) == (0, None)
    assert credits["total"] == 0
    email = (await outbox(alice))[-1]
    assert "credit" not in email["body"] and "charged" not in email["body"]


async def test_cancelling_on_an_unpaid_order_stops_charging_for_it_instead_of_crediting(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=2)
        r = await rosa(c, s.market_id)
        order = await unpaid_booking(c, r, s.date_ids)
        first, second = booking_ids(order)
        cancelled = await c.ok("cancel_booking", booking_id=first, credit_vendor=True)
        owing = await c.ok("get_order", order_id=order["id"])
        await c.ok("cancel_booking", booking_id=second, credit_vendor=True)
        settled = await c.ok("get_order", order_id=order["id"])
        credits = await c.ok("list_credits", vendor_id=r)
    assert cancelled["credit_issued_cents"] == 0 and credits["total"] == 0
    assert (owing["status"], owing["total_cents"], owing["amount_due_cents"]) == ("payment_pending", 4500, 4500)
    assert (settled["status"], settled["total_cents"], settled["amount_due_cents"]) == ("complete", 0, 0)
    assert "You won't be charged for this date." in (await outbox(alice))[-1]["body"]


async def test_cancelling_gives_back_credit_an_unpaid_order_no_longer_needs(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=2)
        r = await rosa(c, s.market_id)
        welcome = await credit(c, r, 60, None)
        order = await unpaid_booking(c, r, s.date_ids)  # $90 less $60 of credit: $30 due
        first, _ = booking_ids(order)
        await c.ok("cancel_booking", booking_id=first)
        after = await c.ok("get_order", order_id=order["id"])
        left = await c.ok("get_credit", credit_id=welcome)
    assert (order["credit_applied_cents"], order["amount_due_cents"]) == (6000, 3000)
    # $45 left to pay for, all of it covered by credit: $15 goes back to the credit, nothing is due.
    assert (after["total_cents"], after["credit_applied_cents"], after["amount_due_cents"], after["status"]) == (
        4500,
        4500,
        0,
        "complete",
    )
    assert left["remaining_cents"] == 1500
    assert [t["kind"] for t in left["transactions"]] == ["grant", "use", "refund"]


@pytest.mark.parametrize("status", ["pending", "cancelled"])
async def test_only_a_confirmed_booking_can_be_cancelled_in_domain_words(alice: Tenant, status: str) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        r = await rosa(c, s.market_id)
        (booking_id,) = booking_ids(await order_of(c, r, s.date_ids))
        if status == "cancelled":
            await c.ok("confirm_booking", booking_id=booking_id)
            await c.ok("cancel_booking", booking_id=booking_id)
        before = await snapshot(alice)
        refusal = await c.refused("cancel_booking", 409, booking_id=booking_id, credit_vendor=True)
    instead = "; a pending booking is turned down with reject_booking" if status == "pending" else ""
    assert refusal == f"Booking {booking_id} is not confirmed (it is {status}), so it cannot be cancelled{instead}."
    assert await snapshot(alice) == before


async def test_a_booking_whose_day_has_passed_cannot_be_cancelled(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        r = await rosa(c, s.market_id)
        (booking_id,) = booking_ids(await paid_booking(c, s.market_id, r, s.date_ids))
        await set_market_date(alice, s.date_ids[0], scheduled_at=today() - timedelta(days=1))
        refusal = await c.refused("cancel_booking", 409, booking_id=booking_id, credit_vendor=True)
    assert refusal.startswith(f"Booking {booking_id} was for {today() - timedelta(days=1)}, which has passed")
    assert "close_out_market_date" in refusal


# ---------------------------------------------------------------- rebook


async def test_rebooking_moves_a_paid_booking_and_the_vendor_owes_only_the_fee(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=3)
        r = await rosa(c, s.market_id)
        (old_id,) = booking_ids(await paid_booking(c, s.market_id, r, s.date_ids[:1]))
        moved = await c.ok("rebook_booking", booking_id=old_id, target_market_date_id=s.date_ids[2], fee="7.50")
        old = await c.ok("get_booking", booking_id=old_id)
        new_order = await c.ok("get_order", order_id=moved["order_id"])
        rebook_credit = await c.ok("get_credit", credit_id=moved["credit_id"])
    assert (moved["status"], moved["market_date_id"], moved["amount_cents"]) == ("confirmed", s.date_ids[2], 4500)
    assert (moved["rebooked_from_id"], moved["credit_issued_cents"], moved["emails"]["queued"]) == (old_id, 3750, 1)
    assert (old["status"], old["rebooked_to_id"], old["cancel_reason"]) == (
        "cancelled",
        moved["id"],
        f"moved to {s.days[2]}",
    )
    assert (new_order["status"], new_order["total_cents"], new_order["credit_applied_cents"]) == (
        "payment_pending",
        4500,
        3750,
    )
    assert new_order["amount_due_cents"] == 750
    assert (rebook_credit["source"], rebook_credit["amount_cents"], rebook_credit["remaining_cents"]) == (
        "rebook",
        3750,
        0,
    )
    email = (await outbox(alice))[-1]
    assert (email["kind"], email["to"]) == ("booking_rebooked", "Rosa@Bakery.example.com")
    assert (
        f"from {s.days[0]:%A} {s.days[0].day} {s.days[0]:%B %Y} to {s.days[2]:%A} {s.days[2].day} {s.days[2]:%B %Y}"
        in email["body"]
    )
    assert "The rebooking fee of $7.50 is due" in email["body"]


async def test_rebooking_without_a_fee_carries_the_payment_over(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=2)
        r = await rosa(c, s.market_id)
        (old_id,) = booking_ids(await paid_booking(c, s.market_id, r, s.date_ids[:1]))
        moved = await c.ok("rebook_booking", booking_id=old_id, target_market_date_id=s.date_ids[1])
        new_order = await c.ok("get_order", order_id=moved["order_id"])
    assert (new_order["status"], new_order["amount_due_cents"]) == ("complete", 0)
    assert "nothing more to pay" in (await outbox(alice))[-1]["body"]


async def test_rebooking_refusals_write_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=3, capacity=1)
        r = await rosa(c, s.market_id)
        bob = await approved_vendor(c, s.market_id, "Bob's Honey")
        (paid_id,) = booking_ids(await paid_booking(c, s.market_id, r, s.date_ids[:1]))
        (unpaid_id,) = booking_ids(await unpaid_booking(c, bob, s.date_ids[1:2]))
        before = await snapshot(alice)
        unpaid = await c.refused("rebook_booking", 409, booking_id=unpaid_id, target_market_date_id=s.date_ids[2])
        full = await c.refused("rebook_booking", 409, booking_id=paid_id, target_market_date_id=s.date_ids[1])
        same = await c.refused("rebook_booking", 422, booking_id=paid_id, target_market_date_id=s.date_ids[0])
        dear = await c.refused("rebook_booking", 422, booking_id=paid_id, target_market_date_id=s.date_ids[2], fee=46)
    assert unpaid.startswith(f"Booking {unpaid_id}'s order") and "record_order_payment" in unpaid
    assert full.startswith(f"Market date {s.date_ids[1]} ({s.days[1]}) is full")
    assert same == f"Booking {paid_id} is already on market date {s.date_ids[0]}; choose another date."
    assert dear == f"fee $46.00 is more than booking {paid_id}'s $45.00."
    assert await snapshot(alice) == before


# ---------------------------------------------------------------- restore


async def test_restoring_a_credited_cancellation_takes_the_credit_back(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        r = await rosa(c, s.market_id)
        (booking_id,) = booking_ids(await paid_booking(c, s.market_id, r, s.date_ids))
        await c.ok("update_space_number", booking_id=booking_id, space_number="7")
        cancelled = await c.ok("cancel_booking", booking_id=booking_id, credit_vendor=True)
        restored = await c.ok("restore_booking", booking_id=booking_id)
        taken_back = await c.ok("get_credit", credit_id=cancelled["credit_id"])
        again = await c.refused("restore_booking", 409, booking_id=booking_id)
    assert (restored["status"], restored["cancelled_at"], restored["space_number"]) == ("confirmed", None, "7")
    assert taken_back["remaining_cents"] == 0
    assert await ledger(alice, booking_id) == [("grant", 4500), ("adjust", -4500)]
    assert again == (
        f"Booking {booking_id} is not cancelled (it is confirmed), so it cannot be restored; it holds its space already."
    )
    email = (await outbox(alice))[-1]
    assert email["kind"] == "booking_confirmed" and "Your space is 7." in email["body"]
    assert "credit we gave you when it was cancelled has been taken back" in email["body"]


async def test_a_cancellation_credit_already_spent_blocks_the_restore(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=2)
        r = await rosa(c, s.market_id)
        (booking_id,) = booking_ids(await paid_booking(c, s.market_id, r, s.date_ids[:1]))
        await c.ok("cancel_booking", booking_id=booking_id, credit_vendor=True)
        await unpaid_booking(c, r, s.date_ids[1:])  # spends the credit
        before = await snapshot(alice)
        refusal = await c.refused("restore_booking", 409, booking_id=booking_id)
    assert "has been used or removed" in refusal and "create_order" in refusal
    assert await snapshot(alice) == before


async def test_restoring_a_released_booking_charges_its_order_again(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        r = await rosa(c, s.market_id)
        order = await unpaid_booking(c, r, s.date_ids)
        (booking_id,) = booking_ids(order)
        await c.ok("cancel_booking", booking_id=booking_id)
        released = await c.ok("get_order", order_id=order["id"])
        await c.ok("restore_booking", booking_id=booking_id)
        charged = await c.ok("get_order", order_id=order["id"])
    assert (released["status"], released["total_cents"], released["amount_due_cents"]) == ("complete", 0, 0)
    assert (charged["status"], charged["total_cents"], charged["amount_due_cents"]) == ("payment_pending", 4500, 4500)
    assert f"$45.00 is due for it on order {order['id']}." in (await outbox(alice))[-1]["body"]


async def test_restore_needs_room_and_the_space_free(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1, capacity=1)
        r = await rosa(c, s.market_id)
        bob = await approved_vendor(c, s.market_id, "Bob's Honey")
        (rosas,) = booking_ids(await paid_booking(c, s.market_id, r, s.date_ids))
        await c.ok("update_space_number", booking_id=rosas, space_number="3")
        await c.ok("cancel_booking", booking_id=rosas)
        (bobs,) = booking_ids(await unpaid_booking(c, bob, s.date_ids))
        full = await c.refused("restore_booking", 409, booking_id=rosas)
        await c.ok("update_market_date", market_date_id=s.date_ids[0], capacity=2)
        await c.ok("update_space_number", booking_id=bobs, space_number="3")
        taken = await c.refused("restore_booking", 409, booking_id=rosas)
        await c.ok("update_space_number", booking_id=bobs, space_number="4")
        restored = await c.ok("restore_booking", booking_id=rosas)
    assert full.startswith(f"Market date {s.date_ids[0]} ({s.days[0]}) is full")
    assert taken.startswith(f"Space 3 has been given to booking {bobs} (Bob's Honey)")
    assert restored["status"] == "confirmed"


async def test_a_rebooked_booking_cannot_be_restored(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=2)
        r = await rosa(c, s.market_id)
        (old_id,) = booking_ids(await paid_booking(c, s.market_id, r, s.date_ids[:1]))
        moved = await c.ok("rebook_booking", booking_id=old_id, target_market_date_id=s.date_ids[1])
        refusal = await c.refused("restore_booking", 409, booking_id=old_id)
    assert refusal == (
        f"Booking {old_id} was moved to booking {moved['id']} by rebook_booking, so it cannot be restored; to put "
        f"the vendor back on market date {s.date_ids[0]}, move booking {moved['id']} back with rebook_booking."
    )


# ---------------------------------------------------------------- spaces


async def test_a_space_is_held_by_one_active_booking_on_a_date(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=2)
        r = await rosa(c, s.market_id)
        bob = await approved_vendor(c, s.market_id, "Bob's Honey")
        rosas = booking_ids(await unpaid_booking(c, r, s.date_ids))
        (bobs,) = booking_ids(await order_of(c, bob, s.date_ids[:1]))  # a pending booking holds a space too
        assert (await c.ok("update_space_number", booking_id=rosas[0], space_number=" 14A "))["space_number"] == "14A"
        await c.ok("update_space_number", booking_id=rosas[1], space_number="14A")  # another date: free
        before = await snapshot(alice)
        clash = await c.refused("update_space_number", 409, booking_id=bobs, space_number="14A")
        assert await snapshot(alice) == before
        await c.ok("update_space_number", booking_id=rosas[0], space_number=None)
        assert (await c.ok("update_space_number", booking_id=bobs, space_number="14A"))["space_number"] == "14A"
        await c.ok("reject_booking", booking_id=bobs)
        gone = await c.refused("update_space_number", 409, booking_id=bobs, space_number="2")
        blank = await c.refused("update_space_number", 422, booking_id=rosas[0], space_number="   ")
    assert clash == (
        f'Space 14A on market date {s.date_ids[0]} is already taken by booking {rosas[0]} ("Rosa\'s Bakery"). '
        f"Choose another space, or give booking {rosas[0]} another one with update_space_number first."
    )
    assert gone.startswith(f"Booking {bobs} is rejected, so it holds no space")
    assert "space_number" in blank


async def test_the_database_refuses_a_second_active_booking_on_a_space(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        r = await rosa(c, s.market_id)
        bob = await approved_vendor(c, s.market_id, "Bob's Honey")
        (booking_id,) = booking_ids(await unpaid_booking(c, r, s.date_ids))
        await c.ok("update_space_number", booking_id=booking_id, space_number="9")

    def booking(vendor_id: int, status: str, space: str | None) -> Booking:
        return Booking(
            organization_id=alice.org_id,
            vendor_id=vendor_id,
            market_date_id=s.date_ids[0],
            status=status,
            space_number=space,
        )

    with pytest.raises(IntegrityError, match="space"):  # another vendor, the same space
        async with alice.db.transaction(write=True) as session:
            session.add(booking(bob, "pending", "9"))
    with pytest.raises(IntegrityError, match="vendor"):  # the same vendor twice on the date
        async with alice.db.transaction(write=True) as session:
            session.add(booking(r, "pending", None))
    async with alice.db.transaction(write=True) as session:  # inactive bookings keep their space and vendor
        session.add_all([booking(bob, "cancelled", "9"), booking(r, "rejected", "9")])


async def test_two_simultaneous_claims_on_one_space_give_it_to_exactly_one(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        vendors = [await approved_vendor(c, s.market_id, f"Stall {n}") for n in range(6)]
        ids = [booking_ids(await unpaid_booking(c, v, s.date_ids))[0] for v in vendors]
    outcomes: list[bool] = []

    async def claim(booking_id: int) -> None:
        async with alice.client() as c:
            result = await c.call("update_space_number", booking_id=booking_id, space_number="1")
            outcomes.append(not result.is_error)

    async with anyio.create_task_group() as tasks:
        for booking_id in ids:
            tasks.start_soon(claim, booking_id)
    async with alice.db.transaction() as session:
        holders = (await session.execute(select(func.count()).where(Booking.space_number == "1"))).scalar_one()
    assert sorted(outcomes) == [False] * 5 + [True]
    assert holders == 1


# ---------------------------------------------------------------- bulk cancel


async def storm(c: Caller, tenant: Tenant, n: int) -> tuple[Any, list[int], list[int]]:
    """A date with n vendors: the first half paid, the second half unpaid. (set-up, paid ids, unpaid ids)"""
    s = await market_with_dates(c, dates=1, capacity=n)
    paid, unpaid = [], []
    for k in range(n):
        vendor = await approved_vendor(c, s.market_id, f"Stall {k:02d}")
        if k < n // 2:
            paid += booking_ids(await paid_booking(c, s.market_id, vendor, s.date_ids))
        else:
            unpaid += booking_ids(await unpaid_booking(c, vendor, s.date_ids))
    return s, paid, unpaid


async def test_a_dry_run_reports_exactly_what_a_bulk_cancel_then_does(alice: Tenant) -> None:
    async with alice.client() as c:
        s, paid, unpaid = await storm(c, alice, 6)
        await c.ok("cancel_booking", booking_id=paid[0])
        asked = [*paid, *unpaid, 999_999, paid[0]]
        before = await snapshot(alice)
        preview = await c.ok("bulk_cancel_bookings", booking_ids=asked, credit_vendor=True, dry_run=True)
        assert await snapshot(alice) == before
        done = await c.ok("bulk_cancel_bookings", booking_ids=asked, credit_vendor=True, reason="Storm warning")
        credits = await c.ok("list_credits", limit=200)
        md = await c.ok("get_market_date", market_date_id=s.date_ids[0])
    # The preview names exactly what the run then did, each under a would_ name of its own.
    assert preview == {
        "dry_run": True,
        "currency": "AUD",
        "note": "Preview only: no booking was cancelled, no credit issued and no email queued. Call again with "
        "dry_run false to do it.",
        "would_cancel": done["cancelled"],
        "would_skip": done["skipped"],
        "would_credit_cents": done["credits_issued_cents"],
        "would_email": done["emails"]["queued"],
    }
    assert done["dry_run"] is False
    assert done["waitlist_offers"] == []
    assert done["cancelled"] == [*paid[1:], *unpaid]
    assert done["skipped"] == [
        {
            "booking_id": paid[0],
            "reason": f"Booking {paid[0]} is not confirmed (it is cancelled), so it cannot be cancelled.",
            "code": 409,
        },
        {"booking_id": 999_999, "reason": "Booking 999999 not found.", "code": 404},
    ]
    assert (done["emails"]["queued"], done["credits_issued_cents"], done["currency"]) == (5, 2 * 4500, "AUD")
    assert sorted(cr["amount_cents"] for cr in credits["items"]) == [4500, 4500]
    assert md["confirmed_count"] == 0
    bodies = [e["body"] for e in (await outbox(alice)) if e["kind"] == "booking_cancelled"][-5:]
    assert all("Storm warning" in body for body in bodies)


@pytest.mark.parametrize("ids, problem", [([], "at least 1"), (list(range(1, 1002)), "at most 1,000 items")])
async def test_bulk_cancel_takes_1_to_1000_ids(alice: Tenant, ids: list[int], problem: str) -> None:
    async with alice.client() as c:
        refusal = await c.refused("bulk_cancel_bookings", 422, booking_ids=ids)
    assert "booking_ids" in refusal and problem in refusal


async def stalls_booked(tenant: Tenant, *, confirmed: int, pending: int = 0) -> list[int]:
    """Bookings of as many vendors on one date, confirmed then pending, written straight to the store: their ids."""
    async with tenant.client() as c:
        s = await market_with_dates(c, dates=1, capacity=1000)
    async with tenant.db.transaction(write=True) as session:
        stalls = [
            Vendor(organization_id=tenant.org_id, business_name=f"Stall {n}", email=f"stall{n}@example.com")
            for n in range(confirmed + pending)
        ]
        session.add_all(stalls)
        await session.flush()
        session.add_all(
            Booking(
                organization_id=tenant.org_id,
                vendor_id=stall.id,  # type: ignore[arg-type]
                market_date_id=s.date_ids[0],
                status="confirmed" if n < confirmed else "pending",
                amount_cents=4500,
            )
            for n, stall in enumerate(stalls)
        )
    async with tenant.db.transaction() as session:
        return list((await session.execute(select(Booking.id).order_by(Booking.id))).scalars())


async def test_bulk_cancel_of_1000_ids_with_mixed_skips_is_one_write_with_an_email_each(alice: Tenant) -> None:
    ids = await stalls_booked(alice, confirmed=990, pending=5)
    strangers = list(range(900_001, 900_006))
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with alice.client() as c:
        result = await c.client.call_tool(
            "bulk_cancel_bookings",
            {"booking_ids": ids + strangers, "credit_vendor": True},
            progress_callback=on_progress,
        )
        assert not result.is_error, result.content[0].text
        log = await c.client.call_tool("list_audit_log", {"tool": "bulk_cancel_bookings"})
    done = result.structured_content
    assert done is not None
    assert (done["cancelled"], done["emails"]["queued"]) == (ids[:990], 990)
    assert [(skip["booking_id"], skip["code"]) for skip in done["skipped"]] == [
        *((i, 409) for i in ids[990:]),
        *((i, 404) for i in strangers),
    ]
    assert done["credits_issued_cents"] == 990 * 4500
    assert [p[:2] for p in progress] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert progress[-1][2] == "Queued 990 emails"
    async with alice.db.transaction() as session:
        statuses = (
            await session.execute(
                select(Booking.status, func.count()).group_by(Booking.status).order_by(Booking.status)
            )
        ).all()
        grants = (await session.execute(select(func.count()).where(CreditTransaction.kind == "grant"))).scalar_one()
    assert [tuple(row) for row in statuses] == [("cancelled", 990), ("pending", 5)]
    assert grants == 990
    assert len([e for e in await outbox(alice) if e["kind"] == "booking_cancelled"]) == 990
    async with alice.db.transaction() as session:
        (stored,) = (
            await session.execute(select(AuditEntry.records).where(AuditEntry.tool == "bulk_cancel_bookings"))
        ).scalars()
    assert len([r for r in stored if r.startswith("booking:")]) == 990
    # The log shows the first 20 records the call changed.
    (entry,) = log.structured_content["items"]  # type: ignore[index]
    assert (entry["outcome"], entry["records"]) == ("ok", [f"booking:{i}" for i in ids[:20]])


async def test_an_audit_rows_record_count_is_every_record_the_call_changed_past_a_thousand(alice: Tenant) -> None:
    ids = await stalls_booked(alice, confirmed=600)
    async with alice.client() as c:
        await c.ok("bulk_cancel_bookings", booking_ids=ids, credit_vendor=True)
        log = await c.client.call_tool("list_audit_log", {"tool": "bulk_cancel_bookings"})
    (entry,) = log.structured_content["items"]  # type: ignore[index]
    assert entry["record_count"] == 600 + 600  # each booking and the credit it was given


async def test_a_bulk_cancels_credits_each_belong_to_the_vendor_of_the_booking_they_name(alice: Tenant) -> None:
    # On SQLite the credits go in with one executemany and their ids are read back: each must still be the
    # credit of its own booking's vendor, whatever the order asked and whatever credits exist already.
    async with alice.client() as c:
        _, paid, _ = await storm(c, alice, 12)
        await c.ok(
            "create_credit", vendor_id=(await c.ok("get_booking", booking_id=paid[0]))["vendor_id"], credit_amount=5
        )
        done = await c.ok("bulk_cancel_bookings", booking_ids=paid[::-1], credit_vendor=True)
    assert done["cancelled"] == paid[::-1]
    async with alice.db.transaction() as session:
        granted = (
            await session.execute(
                select(Credit.id, Credit.vendor_id, Credit.notes, Booking.id, Booking.vendor_id)
                .join(CreditTransaction, CreditTransaction.credit_id == Credit.id)
                .join(Booking, Booking.id == CreditTransaction.booking_id)
                .where(CreditTransaction.kind == "grant")
            )
        ).all()
    assert sorted(booking for _, _, _, booking, _ in granted) == sorted(paid)
    for _, credit_vendor, notes, booking, booking_vendor in granted:
        assert credit_vendor == booking_vendor
        assert notes.startswith(f"Booking {booking} at ")


async def test_overlapping_bulk_and_single_cancels_cancel_and_credit_each_booking_once(alice: Tenant) -> None:
    async with alice.client() as c:
        _, paid, _ = await storm(c, alice, 8)

    async def bulk() -> None:
        async with alice.client() as c:
            await c.ok("bulk_cancel_bookings", booking_ids=paid, credit_vendor=True)

    async def single(booking_id: int) -> None:
        async with alice.client() as c:
            await c.call("cancel_booking", booking_id=booking_id, credit_vendor=True)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(bulk)
        for booking_id in paid:
            tasks.start_soon(single, booking_id)
    async with alice.db.transaction() as session:
        grants = (
            await session.execute(
                select(CreditTransaction.booking_id, func.count())
                .where(CreditTransaction.kind == "grant")
                .group_by(CreditTransaction.booking_id)
            )
        ).all()
        cancelled = (await session.execute(select(func.count()).where(Booking.status == "cancelled"))).scalar_one()
    assert sorted(tuple(row) for row in grants) == [(b, 1) for b in sorted(paid)]
    assert cancelled == len(paid)
    assert len([e for e in await outbox(alice) if e["kind"] == "booking_cancelled"]) == len(paid)


async def test_simultaneous_confirmations_for_the_last_space_confirm_exactly_one(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1, capacity=1)
        vendors = [await approved_vendor(c, s.market_id, f"Stall {n}") for n in range(6)]
        pending = [booking_ids(await order_of(c, v, s.date_ids))[0] for v in vendors]
    outcomes: list[str] = []

    async def confirm(booking_id: int) -> None:
        async with alice.client() as c:
            result = await c.call("confirm_booking", booking_id=booking_id)
            outcomes.append("ok" if not result.is_error else str(result.structured_content["code"]))  # type: ignore[index]

    async with anyio.create_task_group() as tasks:
        for booking_id in pending:
            tasks.start_soon(confirm, booking_id)
    async with alice.client() as c:
        md = await c.ok("get_market_date", market_date_id=s.date_ids[0])
    assert sorted(outcomes) == ["409"] * 5 + ["ok"]
    assert (md["confirmed_count"], md["pending_count"], md["spaces_left"]) == (1, 5, 0)


async def test_cancelling_a_booking_of_an_archived_unpaid_order_stops_charging_for_it(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=2)
        r = await rosa(c, s.market_id)
        order = await unpaid_booking(c, r, s.date_ids)
        first, _ = booking_ids(order)
        await c.ok("archive_order", order_id=order["id"])
        await c.ok("cancel_booking", booking_id=first)
        restored = await c.ok("restore_order", order_id=order["id"])
    assert (restored["status"], restored["total_cents"], restored["amount_due_cents"]) == (
        "payment_pending",
        4500,
        4500,
    )
