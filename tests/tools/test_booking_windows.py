"""When a market date takes bookings: booking_enabled, the booking cutoff, the bump-in that waitlist offers lapse
by; and list_vendors(market_id) counting that market's bookings. Three of these were defects found by trying the
product as a new user (issue 19): each has its regression test here.

Time moves by the server's clock (`Clock`), never by sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests.factories import Tenant
from tests.tools.test_orders import approved_vendor, market_with_dates, order_of, outbox, snapshot
from tests.tools.test_waitlist import Clock, confirmed_booking, full_date, join, moment, vendors

MELBOURNE = ZoneInfo("Australia/Melbourne")


def clock_at(moment_: datetime) -> Clock:
    """The server's clock standing at `moment_` (and moving on from there in real time)."""
    return Clock(moment_ - datetime.now(UTC))


def local(day: object, hh: int, mm: int) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=MELBOURNE)  # type: ignore[arg-type]


# ================================================================ booking_enabled (defect)


async def test_a_market_with_bookings_turned_off_refuses_create_order_and_changes_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await approved_vendor(c, s.market_id)
        await c.ok("update_market", market_id=s.market_id, booking_enabled=False)
        before = await snapshot(alice)
        error = await c.refused("create_order", 409, vendor_id=vendor, market_date_ids=s.date_ids[:1])
        after = await snapshot(alice)
        await c.ok("update_market", market_id=s.market_id, booking_enabled=True)
        order = await order_of(c, vendor, s.date_ids[:1])
    assert error == (
        '"Riverside" is not taking bookings (booking_enabled is false); turn them on with '
        f"update_market(market_id={s.market_id}, booking_enabled=true) first."
    )
    assert after == before
    assert order["status"] == "pending" and len(order["bookings"]) == 1


# ================================================================ the booking cutoff


async def test_no_new_booking_within_the_cutoff_of_a_dates_start_and_later_dates_still_book(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=2)
        vendor = await approved_vendor(c, s.market_id)
        await c.ok("update_market_date", market_date_id=s.date_ids[0], start_time="08:00")
        market = await c.ok("update_market", market_id=s.market_id, booking_cutoff_hours=48)
    starts = local(s.days[0], 8, 0)
    async with alice.client(clock=clock_at(starts - timedelta(hours=47))) as c:
        error = await c.refused("create_order", 409, vendor_id=vendor, market_date_ids=s.date_ids[:1])
        later = await order_of(c, vendor, s.date_ids[1:])
    async with alice.client(clock=clock_at(starts - timedelta(hours=49))) as c:
        early = await order_of(c, vendor, s.date_ids[:1])
    closed = starts - timedelta(hours=48)
    assert market["booking_cutoff_hours"] == 48 and market["bump_in_minutes"] is None
    assert error == (
        f"Bookings for market date {s.date_ids[0]} ({s.days[0]}) closed {closed:%A %d %B at %H:%M}, 48 hours "
        "before the start (the market's booking_cutoff_hours); choose a later date, or change the cutoff with "
        "update_market."
    )
    assert [b["market_date_id"] for b in later["bookings"]] == s.date_ids[1:]
    assert [b["market_date_id"] for b in early["bookings"]] == s.date_ids[:1]


async def test_a_cutoff_of_0_clears_it(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        await c.ok("update_market", market_id=s.market_id, booking_cutoff_hours=24, bump_in_minutes=60)
        cleared = await c.ok("update_market", market_id=s.market_id, booking_cutoff_hours=0, bump_in_minutes=0)
    assert (cleared["booking_cutoff_hours"], cleared["bump_in_minutes"]) == (None, None)


# ================================================================ waitlist offers and the bump-in (defect)


async def test_an_offer_two_days_before_a_17_00_market_lapses_at_its_15_30_bump_in_not_at_16_59(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        s, _ = await full_date(c)
        (kiri,) = await vendors(c, s.market_id, "Kiri's Kitchen")
        entry = await join(c, s.date_ids[0], kiri)
        await c.ok("update_market_date", market_date_id=s.date_ids[0], start_time="17:00", end_time="21:00")
        await c.ok("update_market", market_id=s.market_id, bump_in_minutes=90)
        await c.ok(
            "cancel_booking", booking_id=(await c.ok("list_bookings", market_date_id=s.date_ids[0]))["items"][0]["id"]
        )
    two_days_before = local(s.days[0], 16, 59) - timedelta(days=2)
    async with alice.client(clock=clock_at(two_days_before)) as c:
        offered = await c.ok("notify_waitlist", entry_id=entry["id"])
    (email,) = [e for e in await outbox(alice) if e["kind"] == "waitlist_offer"]
    lapses = moment(offered["offer_expires_at"])
    assert lapses == local(s.days[0], 15, 30)  # not 16:59 on the day, after vendors have set up
    assert f"{lapses.astimezone(MELBOURNE):%A %d %B at %H:%M}" in email["body"]


async def test_without_a_bump_in_an_offer_lapses_by_the_start_and_after_set_up_starts_none_is_made(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        s, _ = await full_date(c)
        ana, tom = await vendors(c, s.market_id, "Ana's Art", "Tom's Tomatoes")
        first = await join(c, s.date_ids[0], ana)
        await join(c, s.date_ids[0], tom)
        await c.ok("update_market_date", market_date_id=s.date_ids[0], start_time="08:00")
        booking = (await c.ok("list_bookings", market_date_id=s.date_ids[0]))["items"][0]["id"]
        await c.ok("cancel_booking", booking_id=booking)
    async with alice.client(clock=clock_at(local(s.days[0], 7, 0))) as c:
        offered = await c.ok("notify_waitlist", entry_id=first["id"])
    async with alice.client(clock=clock_at(local(s.days[0], 8, 5))) as c:
        error = await c.refused("notify_waitlist", 409, market_date_id=s.date_ids[0])
        waiting = await c.ok("list_waitlist", market_date_id=s.date_ids[0])
    assert moment(offered["offer_expires_at"]) == local(s.days[0], 8, 0)
    assert error == (
        f"It is too late to offer a space on market date {s.date_ids[0]} ({s.days[0]}): vendors set up from "
        f"{local(s.days[0], 8, 0):%A %d %B at %H:%M}, so an offer could not be answered in time; book a vendor "
        "directly with create_order instead."
    )
    assert [(e["vendor_id"], e["status"]) for e in waiting["items"]] == [(tom, "waiting")]  # Ana's offer lapsed


async def test_a_space_freed_after_set_up_starts_is_not_offered_automatically(alice: Tenant) -> None:
    async with alice.client() as c:
        s, _ = await full_date(c)
        (ana,) = await vendors(c, s.market_id, "Ana's Art")
        await join(c, s.date_ids[0], ana)
        await c.ok("update_market_date", market_date_id=s.date_ids[0], start_time="08:00")
        await c.ok("update_market", market_id=s.market_id, waitlist_auto_notify=True, bump_in_minutes=60)
        booking = (await c.ok("list_bookings", market_date_id=s.date_ids[0]))["items"][0]["id"]
    async with alice.client(clock=clock_at(local(s.days[0], 7, 30))) as c:
        cancelled = await c.ok("cancel_booking", booking_id=booking)
        waiting = await c.ok("list_waitlist", market_date_id=s.date_ids[0])
    assert cancelled["status"] == "cancelled"
    assert [e["status"] for e in waiting["items"]] == ["waiting"]
    assert not [e for e in await outbox(alice) if e["kind"] == "waitlist_offer"]


# ================================================================ list_vendors(market_id) (defect)


async def test_list_vendors_for_a_market_counts_the_bookings_at_that_market_only(alice: Tenant) -> None:
    async with alice.client() as c:
        riverside = await market_with_dates(c, "Riverside", dates=3)
        hilltop = await market_with_dates(c, "Hilltop", dates=2)
        rosa = await approved_vendor(c, riverside.market_id, "Rosa's Bakery")
        await c.ok("create_application", market_id=hilltop.market_id, vendor_id=rosa)
        application = (await c.ok("list_applications", market_id=hilltop.market_id))["items"][0]["id"]
        await c.ok("update_application_status", application_id=application, status="approved", send_notification=False)
        for day in riverside.date_ids:
            await confirmed_booking(c, rosa, day)
        for day in hilltop.date_ids:
            await confirmed_booking(c, rosa, day)
        at_riverside = await c.ok("list_vendors", market_id=riverside.market_id)
        at_hilltop = await c.ok("list_vendors", market_id=hilltop.market_id)
        everywhere = await c.ok("list_vendors")
    assert [(v["business_name"], v["total_bookings"]) for v in at_riverside["items"]] == [("Rosa's Bakery", 3)]
    assert [(v["business_name"], v["total_bookings"]) for v in at_hilltop["items"]] == [("Rosa's Bakery", 2)]
    assert [(v["business_name"], v["total_bookings"]) for v in everywhere["items"]] == [("Rosa's Bakery", 5)]
