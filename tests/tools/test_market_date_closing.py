"""Ending a market date: cancel_market_date (the storm) and close_out_market_date (attendance is final).

Set up through the tools (paid, unpaid and pending bookings, a cancelled booking, a waitlist); a date on or
before today, which the tools would refuse to create, is made by moving scheduled_at in the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from market_mcp.db.tables import WaitlistEntry
from tests.factories import Caller, Tenant, emails_queued, today
from tests.tools.test_orders import (
    Setup,
    approved_vendor,
    market_with_dates,
    order_of,
    outbox,
    raw,
    recent,
    rosa,
    set_market_date,
    snapshot,
)

MISSING = 999_999


def long_day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


async def state(tenant: Tenant) -> dict[str, list[tuple[Any, ...]]]:
    """Everything cancelling or closing out a date could change, as stored."""
    return await snapshot(tenant) | {
        "waitlist_entry": await raw(tenant, "waitlist_entry"),
        "market_date": await raw(tenant, "market_date"),
    }


async def removed_reasons(tenant: Tenant) -> dict[int, str | None]:
    """Each removed waitlist entry's reason, as stored."""
    async with tenant.db.transaction() as session:
        rows = await session.execute(
            select(WaitlistEntry.id, WaitlistEntry.removed_reason).where(WaitlistEntry.status == "removed")
        )
        return {entry_id: reason for entry_id, reason in rows.all()}


async def approved(c: Caller, vendor_id: int, date_ids: list[int]) -> dict[str, Any]:
    order = await order_of(c, vendor_id, date_ids)
    return await c.ok("approve_order", order_id=order["id"])


def booking_on(order: dict[str, Any], market_date_id: int) -> int:
    (booking,) = [b["booking_id"] for b in order["bookings"] if b["market_date_id"] == market_date_id]
    return booking


@dataclass
class Storm:
    """A market date with a paid, an unpaid and a pending booking, a cancelled one, and a vendor waiting."""

    s: Setup
    rosa: int  # paid (order complete after record_order_payment)
    kiri: int  # approved, unpaid (order payment_pending, dates 0 and 1)
    tom: int  # not yet approved (order pending, dates 0 and 2)
    ana: int  # her booking on date 0 was cancelled before the storm
    ben: int  # waiting for a space on date 0
    paid_order: int
    unpaid_order: int
    pending_order: int
    paid: int
    unpaid: int
    pending: int
    cancelled: int
    entry: int

    @property
    def date_id(self) -> int:
        return self.s.date_ids[0]


async def storm(c: Caller) -> Storm:
    s = await market_with_dates(c)
    r = await rosa(c, s.market_id)
    kiri, tom, ana, ben = [
        await approved_vendor(c, s.market_id, name)
        for name in ("Kiri's Kitchen", "Tom's Tomatoes", "Ana's Art", "Ben's Bread")
    ]
    paid_order = await approved(c, r, [s.date_ids[0]])
    await c.ok("record_order_payment", order_id=paid_order["id"], method="cash")
    unpaid_order = await approved(c, kiri, [s.date_ids[0], s.date_ids[1]])
    pending_order = await order_of(c, tom, [s.date_ids[0], s.date_ids[2]])
    ana_order = await approved(c, ana, [s.date_ids[0]])
    await c.ok("cancel_booking", booking_id=booking_on(ana_order, s.date_ids[0]), reason="Unwell")
    entry = await c.ok("add_to_waitlist", market_date_id=s.date_ids[0], vendor_id=ben)
    return Storm(
        s=s,
        rosa=r,
        kiri=kiri,
        tom=tom,
        ana=ana,
        ben=ben,
        paid_order=paid_order["id"],
        unpaid_order=unpaid_order["id"],
        pending_order=pending_order["id"],
        paid=booking_on(paid_order, s.date_ids[0]),
        unpaid=booking_on(unpaid_order, s.date_ids[0]),
        pending=booking_on(pending_order, s.date_ids[0]),
        cancelled=booking_on(ana_order, s.date_ids[0]),
        entry=entry["id"],
    )


def affected(w: Storm, *, credited: bool, preview: bool = False) -> list[dict[str, Any]]:
    """The bookings the storm's date holds: as a preview lists them (as they are, and what each would get back),
    or as the cancellation did them (cancelled now, what they were, and what each got back)."""
    rows = [
        (w.paid, w.rosa, "Rosa's Bakery", "Rosa@Bakery.example.com", "confirmed", 4500 if credited else 0),
        (w.unpaid, w.kiri, "Kiri's Kitchen", "kiris.kitchen@example.com", "confirmed", 0),
        (w.pending, w.tom, "Tom's Tomatoes", "toms.tomatoes@example.com", "pending", 0),
    ]
    return [
        {"booking_id": booking, "vendor_id": vendor, "business_name": name, "email": email, "amount_cents": 4500}
        | (
            {"booking_status": status, "would_credit_cents": credit}
            if preview
            else {"booking_status": "cancelled", "was": status, "credit_cents": credit}
        )
        for booking, vendor, name, email, status, credit in rows
    ]


# ================================================================ cancel_market_date


@pytest.mark.parametrize("credit_vendors", [True, False])
async def test_a_dry_run_lists_the_pending_and_confirmed_bookings_with_their_money_and_changes_nothing(
    alice: Tenant, credit_vendors: bool
) -> None:
    async with alice.client() as c:
        w = await storm(c)
        before = await state(alice)
        preview = await c.ok(
            "cancel_market_date", market_date_id=w.date_id, reason="Storm", credit_vendors=credit_vendors, dry_run=True
        )
    assert preview["would_cancel"] == affected(w, credited=credit_vendors, preview=True)
    # Nothing in a preview is spelled like what a done cancellation reports.
    assert not {"bookings", "emails", "credits_issued_cents", "waitlist_entries_closed"} & set(preview)
    assert {
        k: preview[k]
        for k in (
            "id",
            "status",
            "dry_run",
            "note",
            "would_email",
            "would_credit_cents",
            "would_close_waitlist_entries",
            "currency",
            "cancelled_at",
            "cancel_reason",
            "confirmed_count",
            "pending_count",
            "waitlist_count",
        )
    } == {
        "id": w.date_id,
        "status": "scheduled",
        "dry_run": True,
        "note": "Preview only: the date is still scheduled; no booking was cancelled, no credit issued, no email "
        "queued. Call again with dry_run false to do it.",
        "would_email": 3,
        "would_credit_cents": 4500 if credit_vendors else 0,
        "would_close_waitlist_entries": 1,
        "currency": "AUD",
        "cancelled_at": None,
        "cancel_reason": None,
        "confirmed_count": 2,
        "pending_count": 1,
        "waitlist_count": 1,
    }
    assert await state(alice) == before


async def test_cancelling_a_date_cancels_its_bookings_emails_each_vendor_the_reason_and_closes_its_waitlist(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        w = await storm(c)
        mail_before = await outbox(alice)
        done = await c.ok(
            "cancel_market_date", market_date_id=w.date_id, reason="Severe storm warning", credit_vendors=True
        )
        bookings = {b["id"]: b for b in (await c.ok("list_bookings", market_date_id=w.date_id, detail="full"))["items"]}
        other_dates = (await c.ok("list_bookings", market_id=w.s.market_id, status="confirmed"))["items"]
        waitlist = await c.ok("list_waitlist", market_date_id=w.date_id, status="removed")
        md = await c.ok("get_market_date", market_date_id=w.date_id)
        listed = await c.ok("list_market_dates", market_id=w.s.market_id, status="cancelled")
    assert done["bookings"] == affected(w, credited=True)
    assert not [k for k in done if k.startswith("would_")] and "note" not in done
    assert {
        k: done[k]
        for k in (
            "status",
            "cancel_reason",
            "dry_run",
            "emails",
            "credits_issued_cents",
            "waitlist_entries_closed",
        )
    } == {
        "status": "cancelled",
        "cancel_reason": "Severe storm warning",
        "dry_run": False,
        "emails": emails_queued(3),
        "credits_issued_cents": 4500,
        "waitlist_entries_closed": 1,
    }
    assert recent(done["cancelled_at"])
    assert (md["status"], md["cancel_reason"], md["confirmed_count"], md["pending_count"], md["spaces_left"]) == (
        "cancelled",
        "Severe storm warning",
        0,
        0,
        0,
    )
    assert [d["id"] for d in listed["items"]] == [w.date_id]
    for booking_id in (w.paid, w.unpaid, w.pending):
        assert (bookings[booking_id]["status"], bookings[booking_id]["cancel_reason"]) == (
            "cancelled",
            "Severe storm warning",
        )
        assert recent(bookings[booking_id]["cancelled_at"])
    assert (bookings[w.cancelled]["status"], bookings[w.cancelled]["cancel_reason"]) == ("cancelled", "Unwell")
    # the other dates' bookings stand
    assert sorted((b["vendor_id"], b["market_date_id"]) for b in other_dates) == [(w.kiri, w.s.date_ids[1])]
    assert [(e["id"], e["status"]) for e in waitlist["items"]] == [(w.entry, "removed")]
    # list_waitlist's rows leave out removed_reason and it takes no detail="full": the store says why
    assert await removed_reasons(alice) == {w.entry: "market date cancelled"}
    new_mail = (await outbox(alice))[len(mail_before) :]
    assert sorted((e["kind"], e["to"], e["vendor_id"], e["record_type"], e["record_id"]) for e in new_mail) == sorted(
        [
            ("market_date_cancelled", "Rosa@Bakery.example.com", w.rosa, "booking", w.paid),
            ("market_date_cancelled", "kiris.kitchen@example.com", w.kiri, "booking", w.unpaid),
            ("market_date_cancelled", "toms.tomatoes@example.com", w.tom, "booking", w.pending),
        ]
    )
    for mail in new_mail:
        assert mail["subject"] == f"Riverside on {long_day(w.s.days[0])} is cancelled"
        assert "\n\nSevere storm warning" in mail["body"]
        assert f"Riverside on {long_day(w.s.days[0])} will not go ahead" in mail["body"]
    by_vendor = {e["vendor_id"]: e["body"] for e in new_mail}
    assert by_vendor[w.rosa].startswith("Hi Rosa,")
    assert "We've added a credit of $45.00 to your account" in by_vendor[w.rosa]
    assert "You won't be charged for this date." in by_vendor[w.kiri]
    assert "You won't be charged for this date." in by_vendor[w.tom]
    assert "credit" not in by_vendor[w.kiri] and "credit" not in by_vendor[w.tom]
    assert all(e["vendor_id"] not in (w.ana, w.ben) for e in new_mail)


async def test_with_credit_vendors_each_paid_booking_is_credited_its_amount_as_a_weather_credit(alice: Tenant) -> None:
    async with alice.client() as c:
        w = await storm(c)
        await c.ok("cancel_market_date", market_date_id=w.date_id, reason="Storm", credit_vendors=True)
        rosas = (await c.ok("list_credits", vendor_id=w.rosa))["items"]
        others = [(await c.ok("list_credits", vendor_id=v))["items"] for v in (w.kiri, w.tom, w.ana)]
        detail = await c.ok("get_credit", credit_id=rosas[0]["id"])
        paid_order = await c.ok("get_order", order_id=w.paid_order)
    assert len(rosas) == 1
    assert {k: detail[k] for k in ("vendor_id", "amount_cents", "remaining_cents", "source", "status", "currency")} == {
        "vendor_id": w.rosa,
        "amount_cents": 4500,
        "remaining_cents": 4500,
        "source": "weather",
        "status": "live",
        "currency": "AUD",
    }
    assert [
        (t["kind"], t["amount_cents"], t["balance_after_cents"], t["booking_id"]) for t in detail["transactions"]
    ] == [("grant", 4500, 4500, w.paid)]
    assert others == [[], [], []]
    assert (paid_order["status"], paid_order["total_cents"], paid_order["amount_due_cents"]) == ("complete", 4500, 0)


async def test_an_unpaid_orders_total_and_amount_due_drop_by_the_cancelled_booking_and_no_credit_is_given(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        w = await storm(c)
        unpaid_before = await c.ok("get_order", order_id=w.unpaid_order)
        pending_before = await c.ok("get_order", order_id=w.pending_order)
        await c.ok("cancel_market_date", market_date_id=w.date_id, reason="Storm", credit_vendors=True)
        unpaid = await c.ok("get_order", order_id=w.unpaid_order)
        pending = await c.ok("get_order", order_id=w.pending_order)
        credits = (await c.ok("list_credits"))["items"]
    assert (unpaid_before["status"], unpaid_before["total_cents"], unpaid_before["amount_due_cents"]) == (
        "payment_pending",
        9000,
        9000,
    )
    assert (unpaid["status"], unpaid["total_cents"], unpaid["amount_due_cents"]) == ("payment_pending", 4500, 4500)
    assert [(b["market_date_id"], b["status"]) for b in unpaid["bookings"]] == [
        (w.s.date_ids[0], "cancelled"),
        (w.s.date_ids[1], "confirmed"),
    ]
    assert (pending_before["total_cents"], pending_before["amount_due_cents"]) == (9000, 9000)
    assert (pending["status"], pending["total_cents"], pending["amount_due_cents"]) == ("pending", 4500, 4500)
    assert [cr["vendor_id"] for cr in credits] == [w.rosa]


async def test_without_credit_vendors_a_paid_booking_is_cancelled_but_not_credited(alice: Tenant) -> None:
    async with alice.client() as c:
        w = await storm(c)
        done = await c.ok("cancel_market_date", market_date_id=w.date_id, reason="Storm")
        credits = (await c.ok("list_credits"))["items"]
        paid = await c.ok("get_booking", booking_id=w.paid)
    assert (done["credits_issued_cents"], [b["credit_cents"] for b in done["bookings"]]) == (0, [0, 0, 0])
    assert credits == []
    assert paid["status"] == "cancelled"
    (mail,) = [e for e in await outbox(alice) if e["kind"] == "market_date_cancelled" and e["vendor_id"] == w.rosa]
    assert "credit" not in mail["body"]


async def test_cancelling_a_date_with_nobody_booked_only_cancels_the_date(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        done = await c.ok("cancel_market_date", market_date_id=s.date_ids[1], reason="Council works")
    assert (done["status"], done["bookings"], done["emails"]["queued"], done["waitlist_entries_closed"]) == (
        "cancelled",
        [],
        0,
        0,
    )
    assert await outbox(alice) == []


async def test_cancelling_a_date_of_an_auto_notifying_market_offers_its_freed_spaces_to_nobody(alice: Tenant) -> None:
    async with alice.client() as c:
        w = await storm(c)
        await c.ok("update_market", market_id=w.s.market_id, waitlist_auto_notify=True)
        mail_before = await outbox(alice)
        done = await c.ok("cancel_market_date", market_date_id=w.date_id, reason="Storm")
        entries = await c.ok("list_waitlist", market_date_id=w.date_id, status="removed")
    assert done["waitlist_entries_closed"] == 1
    assert [(e["id"], e["status"]) for e in entries["items"]] == [(w.entry, "removed")]
    new_mail = (await outbox(alice))[len(mail_before) :]
    assert [e["kind"] for e in new_mail] == ["market_date_cancelled"] * 3
    assert done["emails"]["queued"] == 3


@pytest.mark.parametrize("how", ["cancelled", "closed", "passed"])
async def test_a_cancelled_closed_or_past_date_cannot_be_cancelled(alice: Tenant, how: str) -> None:
    async with alice.client() as c:
        w = await storm(c)
        day = w.s.days[0]
        if how == "cancelled":
            await c.ok("cancel_market_date", market_date_id=w.date_id, reason="Storm")
        elif how == "closed":
            day = today()
            await set_market_date(alice, w.date_id, scheduled_at=day)
            await c.ok("close_out_market_date", market_date_id=w.date_id)
        else:
            day = today() - timedelta(days=1)
            await set_market_date(alice, w.date_id, scheduled_at=day)
        before = await state(alice)
        mail_before = await outbox(alice)
        message = await c.refused("cancel_market_date", 409, market_date_id=w.date_id, reason="Again", dry_run=False)
        dry = await c.refused("cancel_market_date", 409, market_date_id=w.date_id, dry_run=True)
    expected = {
        "cancelled": f"Market date {w.date_id} ({day}) is already cancelled, so it cannot be cancelled.",
        "closed": f"Market date {w.date_id} ({day}) was closed out on {today()}, so it cannot be cancelled.",
        "passed": (
            f"Market date {w.date_id} ({day}) has passed, so it cannot be cancelled; close it out with "
            "close_out_market_date."
        ),
    }[how]
    assert message == dry == expected
    assert await state(alice) == before
    assert await outbox(alice) == mail_before


# ================================================================ close_out_market_date


async def confirmed_three(c: Caller) -> tuple[Setup, list[int], int]:
    """Three confirmed bookings and one pending booking on the market's first date."""
    s = await market_with_dates(c)
    names = ("Kiri's Kitchen", "Tom's Tomatoes", "Ana's Art", "Ben's Bread")
    kiri, tom, ana, ben = [await approved_vendor(c, s.market_id, name) for name in names]
    confirmed = [booking_on(await approved(c, v, [s.date_ids[0]]), s.date_ids[0]) for v in (kiri, tom, ana)]
    pending = booking_on(await order_of(c, ben, [s.date_ids[0]]), s.date_ids[0])
    return s, confirmed, pending


async def test_a_date_cannot_be_closed_out_before_its_day(alice: Tenant) -> None:
    async with alice.client() as c:
        s, _, _ = await confirmed_three(c)
        before = await state(alice)
        message = await c.refused("close_out_market_date", 409, market_date_id=s.date_ids[0])
    assert message == (
        f"Market date {s.date_ids[0]} is on {s.days[0]}; it can be closed out only on or after its day "
        f"(today is {today()} in Australia/Melbourne). If it will not go ahead, cancel it with cancel_market_date."
    )
    assert await state(alice) == before


@pytest.mark.parametrize("days_ago", [0, 1], ids=["on the day", "the day after"])
async def test_closing_out_marks_confirmed_bookings_attended_except_the_no_shows(alice: Tenant, days_ago: int) -> None:
    async with alice.client() as c:
        s, (came, missed, came_too), pending = await confirmed_three(c)
        await set_market_date(alice, s.date_ids[0], scheduled_at=today() - timedelta(days=days_ago))
        mail_before = await outbox(alice)
        closed = await c.ok("close_out_market_date", market_date_id=s.date_ids[0], no_show_booking_ids=[missed])
        attended = {b: (await c.ok("get_booking", booking_id=b))["attended"] for b in (came, missed, came_too, pending)}
        listed = {
            b["id"]: b["attended"]
            for b in (await c.ok("list_bookings", market_date_id=s.date_ids[0], detail="full"))["items"]
        }
        md = await c.ok("get_market_date", market_date_id=s.date_ids[0])
        later = {
            b["id"]: b["attended"]
            for b in (await c.ok("list_bookings", market_date_id=s.date_ids[1], detail="full"))["items"]
        }
    assert {k: closed[k] for k in ("id", "status", "attended_count", "no_show_count", "no_show_booking_ids")} == {
        "id": s.date_ids[0],
        "status": "closed",
        "attended_count": 2,
        "no_show_count": 1,
        "no_show_booking_ids": [missed],
    }
    assert recent(closed["closed_at"])
    assert (md["status"], md["closed_at"], md["spaces_left"]) == ("closed", closed["closed_at"], 0)
    assert attended == {came: True, missed: False, came_too: True, pending: None}
    assert listed == attended
    assert later == {}
    assert await outbox(alice) == mail_before  # closing out emails nobody


async def test_closing_out_with_no_no_shows_marks_everyone_attended(alice: Tenant) -> None:
    async with alice.client() as c:
        s, confirmed, _ = await confirmed_three(c)
        await set_market_date(alice, s.date_ids[0], scheduled_at=today())
        closed = await c.ok("close_out_market_date", market_date_id=s.date_ids[0])
        attended = [(await c.ok("get_booking", booking_id=b))["attended"] for b in confirmed]
    assert (closed["attended_count"], closed["no_show_count"], closed["no_show_booking_ids"]) == (3, 0, [])
    assert attended == [True, True, True]


async def test_closing_out_ends_the_dates_waitlist(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, capacity=1)
        booked, waiting = [await approved_vendor(c, s.market_id, n) for n in ("Kiri's Kitchen", "Tom's Tomatoes")]
        await approved(c, booked, [s.date_ids[0]])
        entry = await c.ok("add_to_waitlist", market_date_id=s.date_ids[0], vendor_id=waiting)
        await set_market_date(alice, s.date_ids[0], scheduled_at=today())
        await c.ok("close_out_market_date", market_date_id=s.date_ids[0])
        open_entries = await c.ok("list_waitlist", market_date_id=s.date_ids[0])
        ended = await c.ok("list_waitlist", market_date_id=s.date_ids[0], status="expired")
        md = await c.ok("get_market_date", market_date_id=s.date_ids[0])
    assert (open_entries["items"], open_entries["spaces_left"], md["waitlist_count"]) == ([], 0, 0)
    assert [(e["id"], e["status"]) for e in ended["items"]] == [(entry["id"], "expired")]


async def test_closing_out_twice_is_refused_and_writes_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        s, (_, missed, _), _ = await confirmed_three(c)
        await set_market_date(alice, s.date_ids[0], scheduled_at=today())
        await c.ok("close_out_market_date", market_date_id=s.date_ids[0], no_show_booking_ids=[missed])
        before = await state(alice)
        message = await c.refused("close_out_market_date", 409, market_date_id=s.date_ids[0])
        attended = (await c.ok("get_booking", booking_id=missed))["attended"]
    assert message == (
        f"Market date {s.date_ids[0]} ({today()}) was closed out on {today()}, so it cannot be closed out."
    )
    assert attended is False  # the second call did not mark the no-show attended
    assert await state(alice) == before


async def test_a_no_show_that_is_not_a_confirmed_booking_of_the_date_is_refused_naming_it(alice: Tenant) -> None:
    async with alice.client() as c:
        s, (came, _, _), pending = await confirmed_three(c)
        elsewhere = booking_on(
            await approved(c, await rosa(c, s.market_id), [s.date_ids[1]]),
            s.date_ids[1],
        )
        await set_market_date(alice, s.date_ids[0], scheduled_at=today())
        before = await state(alice)
        one = await c.refused(
            "close_out_market_date", 422, market_date_id=s.date_ids[0], no_show_booking_ids=[came, elsewhere]
        )
        many = await c.refused(
            "close_out_market_date",
            422,
            market_date_id=s.date_ids[0],
            no_show_booking_ids=[MISSING, pending, elsewhere],
        )
        attended = (await c.ok("get_booking", booking_id=came))["attended"]
    assert one == (
        f"no_show_booking_ids: {elsewhere} is not a confirmed booking on market date {s.date_ids[0]}; "
        "list_market_date_bookings shows its roster."
    )
    assert many == (
        f"no_show_booking_ids: {', '.join(str(i) for i in sorted([MISSING, pending, elsewhere]))} are not confirmed "
        f"bookings on market date {s.date_ids[0]}; list_market_date_bookings shows its roster."
    )
    assert attended is None
    assert await state(alice) == before


async def test_a_cancelled_date_cannot_be_closed_out(alice: Tenant) -> None:
    async with alice.client() as c:
        s, _, _ = await confirmed_three(c)
        await c.ok("cancel_market_date", market_date_id=s.date_ids[0], reason="Storm")
        await set_market_date(alice, s.date_ids[0], scheduled_at=today())
        before = await state(alice)
        message = await c.refused("close_out_market_date", 409, market_date_id=s.date_ids[0])
    assert message == f"Market date {s.date_ids[0]} ({today()}) is already cancelled, so it cannot be closed out."
    assert await state(alice) == before


async def test_closing_and_cancelling_are_in_the_audit_log_with_the_records_they_changed(alice: Tenant) -> None:
    async with alice.client() as c:
        s, confirmed, _ = await confirmed_three(c)
        await set_market_date(alice, s.date_ids[0], scheduled_at=today())
        await c.refused("close_out_market_date", 422, market_date_id=s.date_ids[0], no_show_booking_ids=[MISSING])
        await c.ok("close_out_market_date", market_date_id=s.date_ids[0])
        await c.ok("cancel_market_date", market_date_id=s.date_ids[1], dry_run=True)
        await c.ok("cancel_market_date", market_date_id=s.date_ids[2])
        closing = (await c.ok("list_audit_log", tool="close_out_market_date"))["items"]
        cancelling = (await c.ok("list_audit_log", tool="cancel_market_date"))["items"]
    assert [e["outcome"] for e in closing] == ["ok", "422"]
    assert set(closing[0]["records"]) == {f"market_date:{s.date_ids[0]}", *(f"booking:{b}" for b in confirmed)}
    assert [(e["outcome"], e["records"]) for e in cancelling] == [
        ("ok", [f"market_date:{s.date_ids[2]}"]),
        ("ok", []),
    ]


# ================================================================ other organisations


async def test_another_organisations_market_date_is_not_found_and_left_alone(alice: Tenant, bob: Tenant) -> None:
    async with bob.client() as b:
        bs = await market_with_dates(b, "Bob's Market")
        await approved(b, await rosa(b, bs.market_id), [bs.date_ids[0]])
    await set_market_date(bob, bs.date_ids[1], scheduled_at=today())
    async with alice.client() as c:
        before = await state(alice)
        theirs = [
            await c.refused("cancel_market_date", 404, market_date_id=bs.date_ids[0], reason="Storm"),
            await c.refused("cancel_market_date", 404, market_date_id=bs.date_ids[0], dry_run=True),
            await c.refused("close_out_market_date", 404, market_date_id=bs.date_ids[1]),
        ]
        nobodys = [
            await c.refused("cancel_market_date", 404, market_date_id=MISSING, reason="Storm"),
            await c.refused("cancel_market_date", 404, market_date_id=MISSING, dry_run=True),
            await c.refused("close_out_market_date", 404, market_date_id=MISSING),
        ]
    assert theirs == [
        f"Market date {bs.date_ids[0]} not found.",
        f"Market date {bs.date_ids[0]} not found.",
        f"Market date {bs.date_ids[1]} not found.",
    ]
    assert nobodys == [f"Market date {MISSING} not found."] * 3
    assert await state(alice) == before  # the whole store: bob's date and booking are untouched
    async with bob.client() as b:
        dates = (await b.ok("list_market_dates", market_id=bs.market_id))["items"]
    assert [d["status"] for d in dates] == ["scheduled", "scheduled", "scheduled"]


async def test_a_closed_date_keeps_its_closed_at_when_listed_later(alice: Tenant) -> None:
    async with alice.client() as c:
        s, _, _ = await confirmed_three(c)
        await set_market_date(alice, s.date_ids[0], scheduled_at=today() - timedelta(days=2))
        closed = await c.ok("close_out_market_date", market_date_id=s.date_ids[0])
        past = (await c.ok("list_market_dates", market_id=s.market_id, date_filter="past", detail="full"))["items"]
    assert [(d["id"], d["status"], d["closed_at"]) for d in past] == [(s.date_ids[0], "closed", closed["closed_at"])]
    assert datetime.now(UTC) - datetime.fromisoformat(closed["closed_at"].replace("Z", "+00:00")) < timedelta(minutes=1)
