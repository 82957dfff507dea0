"""seasons: a market's seasons (overlap and bad ranges refused), standing bookings booking every date or every
second week with one approved order per calendar month, a full date skipped and listed, dates scheduled later booked
for regulars, a season rolled over exactly as its preview said (and not twice), a standing booking ended, and another
organisation's records unseen. Through the MCP client; the store and the outbox read back."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from market_mcp.db.tables import Booking, MarketDate, Order, Season, StandingBooking
from tests.factories import Caller, Tenant, next_weekday, today
from tests.tools.test_orders import approved_vendor, outbox, snapshot

SATURDAY = 6


async def market_and_season(c: Caller, *, weeks: int = 8, capacity: int = 40) -> dict[str, Any]:
    """A market trading `weeks` Saturdays from a week on, and a season from today to the last of them."""
    market = await c.ok("create_market", name="Riverside", default_fee="45", capacity=capacity)
    first = next_weekday(SATURDAY)
    made = await c.ok(
        "bulk_create_market_dates",
        market_id=market["id"],
        start_date=str(first),
        end_date=str(first + timedelta(weeks=weeks - 1)),
        day_of_week=SATURDAY,
        start_time="08:00",
        end_time="13:00",
    )
    days = [date.fromisoformat(d["scheduled_at"]) for d in made["created"]]
    season = await c.ok(
        "set_season", market_id=market["id"], name="Summer 2026/27", starts_on=str(today()), ends_on=str(days[-1])
    )
    return dict(
        market_id=market["id"],
        season_id=season["id"],
        days=days,
        date_ids=[d["id"] for d in made["created"]],
        season=season,
    )


async def rows(tenant: Tenant, stmt: Any) -> list[Any]:
    async with tenant.db.transaction() as session:
        return list((await session.execute(stmt)).all())


async def bookings_of(tenant: Tenant, vendor_id: int) -> list[tuple[date, str, int | None]]:
    """(day, status, order's standing booking) of each of the vendor's bookings, by day."""
    return [
        tuple(row)
        for row in await rows(
            tenant,
            select(MarketDate.scheduled_at, Booking.status, Order.standing_booking_id)
            .join(MarketDate, MarketDate.id == Booking.market_date_id)
            .join(Order, Order.id == Booking.order_id)
            .where(Booking.vendor_id == vendor_id)
            .order_by(MarketDate.scheduled_at),
        )
    ]


def months(days: list[date]) -> int:
    return len({(d.year, d.month) for d in days})


# ---------------------------------------------------------------- seasons


async def test_a_season_is_made_changed_and_listed_and_overlaps_and_bad_ranges_are_refused(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_and_season(c)
        assert s["season"]["name"] == "Summer 2026/27" and s["season"]["date_count"] == 8
        assert s["season"]["standing_bookings"] == []
        backwards = await c.refused(
            "set_season", 422, market_id=s["market_id"], name="Winter", starts_on="2027-08-01", ends_on="2027-06-01"
        )
        assert (
            backwards == "ends_on 2027-06-01 is before starts_on 2027-08-01; a season ends on or after its first day."
        )
        overlap = await c.refused(
            "set_season", 409, market_id=s["market_id"], name="Autumn", starts_on=str(s["days"][-1]),
            ends_on=str(s["days"][-1] + timedelta(weeks=10)),
        )  # fmt: skip
        assert (
            f'Season {s["season_id"]} ("Summer 2026/27",' in overlap and "a market's seasons cannot overlap" in overlap
        )
        assert f"set_season(season_id={s['season_id']})" in overlap
        same_name = await c.refused(
            "set_season", 409, market_id=s["market_id"], name="summer 2026/27", starts_on="2030-01-01",
            ends_on="2030-02-01",
        )  # fmt: skip
        assert "already has a season named" in same_name
        changed = await c.ok(
            "set_season", market_id=s["market_id"], season_id=s["season_id"], name="Summer",
            starts_on=str(today()), ends_on=str(s["days"][3]),
        )  # fmt: skip
        assert (changed["id"], changed["name"], changed["date_count"]) == (s["season_id"], "Summer", 4)
        listed = await c.ok("list_seasons", market_id=s["market_id"])
    assert [(x["id"], x["name"]) for x in listed["items"]] == [(s["season_id"], "Summer")]
    (season,) = await rows(alice, select(Season.name, Season.ends_on))
    assert tuple(season) == ("Summer", s["days"][3])


# ---------------------------------------------------------------- standing bookings


async def test_a_standing_booking_books_every_date_with_one_approved_order_per_month(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_and_season(c)
        vendor = await approved_vendor(c, s["market_id"], "Rosa's Bakery")
        preview = await c.ok("create_standing_booking", vendor_id=vendor, season_id=s["season_id"], dry_run=True)
        assert await bookings_of(alice, vendor) == []
        done = await c.ok("create_standing_booking", vendor_id=vendor, season_id=s["season_id"])
    assert preview["dry_run"] is True and preview["note"].startswith("Preview only: no standing booking was made")
    booked = [date.fromisoformat(d) for d in done["booked"]["dates_booked"]]
    assert booked == s["days"] == [date.fromisoformat(d) for d in preview["would_book"]["dates_booked"]]
    assert "booked" not in preview and "standing_booking" not in preview
    assert len(done["booked"]["order_ids"]) == months(s["days"]) and done["booked"]["skipped"] == []
    assert done["standing_booking"]["dates_booked"] == 8 and done["standing_booking"]["every_weeks"] == 1
    assert done["emails"]["queued"] == months(s["days"])
    sb_id = done["standing_booking"]["id"]
    assert await bookings_of(alice, vendor) == [(d, "confirmed", sb_id) for d in s["days"]]
    orders = await rows(alice, select(Order.id, Order.status, Order.total_cents).order_by(Order.id))
    assert [o.id for o in orders] == done["booked"]["order_ids"]
    assert {o.status for o in orders} == {"payment_pending"}
    assert sum(o.total_cents for o in orders) == 8 * 4500
    mail = await outbox(alice)
    assert [m["kind"] for m in mail] == ["order_approved"] * months(s["days"])
    assert [m["record_id"] for m in mail] == done["booked"]["order_ids"]


async def test_every_second_week_books_dates_0_2_4_and_6(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_and_season(c)
        vendor = await approved_vendor(c, s["market_id"], "Fortnightly Flowers")
        done = await c.ok(
            "create_standing_booking", vendor_id=vendor, season_id=s["season_id"], every_weeks=2,
            starts_on=str(s["days"][0]),
        )  # fmt: skip
    every_other = s["days"][::2]
    assert [date.fromisoformat(d) for d in done["booked"]["dates_booked"]] == every_other
    assert [d for d, _, _ in await bookings_of(alice, vendor)] == every_other
    assert len(done["booked"]["order_ids"]) == months(every_other)


async def test_a_full_date_is_skipped_and_listed_never_overbooked(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_and_season(c, weeks=3)
        await c.ok("update_market_date", market_date_id=s["date_ids"][1], capacity=1)
        other = await approved_vendor(c, s["market_id"], "Early Bird")
        await c.ok("create_order", vendor_id=other, market_date_ids=[s["date_ids"][1]])
        (order,) = (await c.ok("list_orders", vendor_id=other))["items"]
        await c.ok("approve_order", order_id=order["id"])
        vendor = await approved_vendor(c, s["market_id"], "Rosa's Bakery")
        done = await c.ok("create_standing_booking", vendor_id=vendor, season_id=s["season_id"])
        day = await c.ok("get_market_date", market_date_id=s["date_ids"][1])
    assert done["booked"]["skipped"] == [{"scheduled_at": str(s["days"][1]), "reason": "full: add_to_waitlist"}]
    assert [date.fromisoformat(d) for d in done["booked"]["dates_booked"]] == [s["days"][0], s["days"][2]]
    assert "1 full date skipped" in done["note"]
    assert (day["confirmed_count"], day["capacity"]) == (1, 1)
    assert [d for d, _, _ in await bookings_of(alice, vendor)] == [s["days"][0], s["days"][2]]


async def test_dates_a_vendor_may_not_trade_on_are_skipped_saying_what_to_fix_not_to_override(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_and_season(c, weeks=2)
        vendor = await approved_vendor(c, s["market_id"], "Rosa's Bakery")
        await c.ok("set_document_kind", name="Public liability insurance", required_for_all=True)
        done = await c.ok("create_standing_booking", vendor_id=vendor, season_id=s["season_id"])
    reasons = {skip["reason"] for skip in done["booked"]["skipped"]}
    assert done["booked"]["dates_booked"] == [] and len(done["booked"]["skipped"]) == 2
    assert len(reasons) == 1 and "record_vendor_document" in reasons.pop()
    assert not any("override_reason" in skip["reason"] for skip in done["booked"]["skipped"])
    assert await bookings_of(alice, vendor) == []


async def test_a_vendor_without_an_approved_application_is_refused(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_and_season(c, weeks=2)
        vendor = await c.ok("create_vendor", business_name="Stranger", email="stranger@example.com")
        refusal = await c.refused("create_standing_booking", 409, vendor_id=vendor["id"], season_id=s["season_id"])
    assert "application" in refusal and "create_application" in refusal
    assert await rows(alice, select(StandingBooking.id)) == []


async def test_dates_scheduled_later_in_the_season_book_its_regulars(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_and_season(c, weeks=4)
        vendor = await approved_vendor(c, s["market_id"], "Rosa's Bakery")
        await c.ok("create_standing_booking", vendor_id=vendor, season_id=s["season_id"])
        wednesday = s["days"][1] - timedelta(days=3)
        one = await c.ok("create_market_date", market_id=s["market_id"], scheduled_at=str(wednesday))
        sunday_from, sunday_to = s["days"][0] + timedelta(days=1), s["days"][-1]
        preview = await c.ok(
            "bulk_create_market_dates", market_id=s["market_id"], start_date=str(sunday_from),
            end_date=str(sunday_to), day_of_week=0, capacity=0, dry_run=True,
        )  # fmt: skip
        bulk = await c.ok(
            "bulk_create_market_dates", market_id=s["market_id"], start_date=str(sunday_from),
            end_date=str(sunday_to), day_of_week=0, capacity=0,
        )  # fmt: skip
        after = await c.ok(
            "create_market_date", market_id=s["market_id"], scheduled_at=str(s["days"][-1] + timedelta(days=7))
        )
    (regular,) = one["standing_bookings"]
    assert regular["vendor_id"] == vendor and regular["dates_booked"] == [str(wednesday)]
    assert one["confirmed_count"] == 1 and one["emails"]["queued"] == 1
    sundays = [sunday_from + timedelta(weeks=n) for n in range(3)]
    full = [{"scheduled_at": str(d), "reason": "full: add_to_waitlist"} for d in sundays]
    assert preview["would_book"][0]["skipped"] == full and bulk["standing_bookings"][0]["skipped"] == full
    assert "standing_bookings" not in after  # after the season ends: nobody's regular
    assert [d for d, _, _ in await bookings_of(alice, vendor)] == sorted([*s["days"], wednesday])


# ---------------------------------------------------------------- roll-over


def _shape(result: dict[str, Any]) -> dict[str, Any]:
    """What a roll-over makes (or would), without the ids only the real call has."""
    dates = result["would_schedule" if result["dry_run"] else "dates"]
    regulars = result["would_book" if result["dry_run"] else "standing_bookings"]
    return dict(
        name=result["name"],
        range=(result["starts_on"], result["ends_on"], result["shifted_weeks"]),
        dates=[{k: v for k, v in d.items() if k != "market_date_id"} for d in dates],
        regulars=[{k: v for k, v in r.items() if k not in ("standing_booking_id", "order_ids")} for r in regulars],
    )


async def test_a_roll_over_makes_exactly_what_its_preview_said_and_is_not_done_twice(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_and_season(c, weeks=6)
        rosa = await approved_vendor(c, s["market_id"], "Rosa's Bakery")
        flowers = await approved_vendor(c, s["market_id"], "Fortnightly Flowers")
        await c.ok("create_standing_booking", vendor_id=rosa, season_id=s["season_id"])
        await c.ok(
            "create_standing_booking", vendor_id=flowers, season_id=s["season_id"], every_weeks=2,
            starts_on=str(s["days"][0]),
        )  # fmt: skip
        year_on = [d + timedelta(weeks=52) for d in s["days"]]
        # Already scheduled next year: reused, not duplicated; with room for one, so the second regular finds it full.
        kept = await c.ok("create_market_date", market_id=s["market_id"], scheduled_at=str(year_on[2]), capacity=1)
        before = await snapshot(alice)
        preview = await c.ok("roll_over_season", season_id=s["season_id"])
        assert await snapshot(alice) == before
        assert len(await rows(alice, select(MarketDate.id))) == 7
        done = await c.ok("roll_over_season", season_id=s["season_id"], dry_run=False)
        again = await c.refused("roll_over_season", 409, season_id=s["season_id"], dry_run=False)
        listed = await c.ok("list_seasons", market_id=s["market_id"], detail="full")
    assert (
        "5 new dates (1 already scheduled, reused), 2 standing bookings, and 8 dates would be booked" in preview["note"]
    )
    assert "8 dates were booked in" in done["note"] and "1 full date skipped" in done["note"]
    assert preview["dry_run"] is True and preview["note"].startswith("Preview only: nothing was created")
    assert "Fees and stall types are the market's own" in preview["note"] and "season_id" not in preview
    assert _shape(preview) == _shape(done)
    assert done["name"] == "Summer 2027/28" and done["shifted_weeks"] == 52
    assert [date.fromisoformat(d["scheduled_at"]) for d in done["dates"]] == year_on
    assert [d["exists"] for d in done["dates"]] == [False, False, True, False, False, False]
    assert done["dates"][2]["market_date_id"] == kept["id"]
    assert {(d["start_time"], d["end_time"]) for i, d in enumerate(done["dates"]) if i != 2} == {("08:00", "13:00")}
    by_vendor = {r["vendor_id"]: r for r in done["standing_bookings"]}
    assert [date.fromisoformat(d) for d in by_vendor[rosa]["dates_booked"]] == year_on
    full = [{"scheduled_at": str(year_on[2]), "reason": "full: add_to_waitlist"}]
    assert by_vendor[flowers]["skipped"] == full
    assert [date.fromisoformat(d) for d in by_vendor[flowers]["dates_booked"]] == [year_on[0], year_on[4]]
    assert "a market's seasons cannot overlap" in again
    # The store holds what the result said: one date per day, the new season and its two regulars booked.
    days = [d for (d,) in await rows(alice, select(MarketDate.scheduled_at).order_by(MarketDate.scheduled_at))]
    assert days == [*s["days"], *year_on]
    new = next(x for x in listed["items"] if x["id"] == done["season_id"])
    assert {(r["vendor_id"], r["every_weeks"], r["dates_booked"]) for r in new["standing_bookings"]} == {
        (rosa, 1, 6),
        (flowers, 2, 2),
    }
    new_sbs = {r["id"] for r in new["standing_bookings"]}
    assert [d for d, _, sb in await bookings_of(alice, rosa) if sb in new_sbs] == year_on


# ---------------------------------------------------------------- ending


async def test_ending_a_standing_booking_stops_it_and_can_cancel_its_future_bookings(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_and_season(c, weeks=4)
        keep = await approved_vendor(c, s["market_id"], "Keeps Dates")
        drop = await approved_vendor(c, s["market_id"], "Drops Dates")
        kept = await c.ok("create_standing_booking", vendor_id=keep, season_id=s["season_id"])
        dropped = await c.ok("create_standing_booking", vendor_id=drop, season_id=s["season_id"])
        mail_before = len(await outbox(alice))
        ended = await c.ok(
            "end_standing_booking", standing_booking_id=kept["standing_booking"]["id"], cancel_future_bookings=False
        )
        cancelled = await c.ok(
            "end_standing_booking", standing_booking_id=dropped["standing_booking"]["id"], cancel_future_bookings=True
        )
        twice = await c.refused(
            "end_standing_booking", 409, standing_booking_id=dropped["standing_booking"]["id"],
            cancel_future_bookings=True,
        )  # fmt: skip
        later = await c.ok(
            "create_market_date", market_id=s["market_id"], scheduled_at=str(s["days"][0] + timedelta(days=1))
        )
    assert ended["standing_booking"]["status"] == "ended" and ended["bookings_cancelled"] == 0
    assert ended["standing_booking"]["dates_booked"] == 4 and "stay booked" in ended["note"]
    assert cancelled["bookings_cancelled"] == 4 and cancelled["standing_booking"]["dates_booked"] == 0
    assert cancelled["emails"]["queued"] == 4 and "already ended" in twice
    assert "standing_bookings" not in later
    assert {status for _, status, _ in await bookings_of(alice, keep)} == {"confirmed"}
    assert {status for _, status, _ in await bookings_of(alice, drop)} == {"cancelled"}
    assert [m["kind"] for m in (await outbox(alice))[mail_before:]] == ["booking_cancelled"] * 4


# ---------------------------------------------------------------- isolation


async def test_another_organisations_season_vendor_and_market_are_not_found(alice: Tenant, bob: Tenant) -> None:
    async with alice.client() as c:
        s = await market_and_season(c, weeks=2)
        vendor = await approved_vendor(c, s["market_id"], "Rosa's Bakery")
        done = await c.ok("create_standing_booking", vendor_id=vendor, season_id=s["season_id"])
    async with bob.client() as c:
        theirs = await market_and_season(c, weeks=2)
        bobs_vendor = await approved_vendor(c, theirs["market_id"], "Bob's Buns")
        season = await c.refused("create_standing_booking", 404, vendor_id=bobs_vendor, season_id=s["season_id"])
        vendor_404 = await c.refused("create_standing_booking", 404, vendor_id=vendor, season_id=theirs["season_id"])
        market = await c.refused(
            "set_season", 404, market_id=s["market_id"], name="Mine", starts_on="2030-01-01", ends_on="2030-02-01"
        )
        roll = await c.refused("roll_over_season", 404, season_id=s["season_id"])
        end = await c.refused(
            "end_standing_booking", 404, standing_booking_id=done["standing_booking"]["id"],
            cancel_future_bookings=True,
        )  # fmt: skip
        listed = await c.ok("list_seasons")
    assert season == f"Season {s['season_id']} not found." and vendor_404 == f"Vendor {vendor} not found."
    assert market == f"Market {s['market_id']} not found." and roll == season
    assert end == f"Standing booking {done['standing_booking']['id']} not found."
    assert [x["id"] for x in listed["items"]] == [theirs["season_id"]]
