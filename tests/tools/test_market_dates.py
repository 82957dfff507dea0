"""market_dates: scheduling trading days, their counts, changing them, and who is booked on them.

The organisation's timezone is Australia/Melbourne: AEST (UTC+10) from the first Sunday of April,
AEDT (UTC+11) from the first Sunday of October. Expected UTC times below are worked out from that
rule, not from zoneinfo, so the tests do not share the code's arithmetic.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from market_mcp.db import Database
from market_mcp.db.tables import Booking, MarketDate, Vendor, WaitlistEntry
from tests.factories import Tenant, emails_queued, next_weekday, today

NEXT_YEAR = today().year + 1


def first_sunday(year: int, month: int) -> date:
    day = date(year, month, 1)
    return day + timedelta(days=(7 - day.isoweekday()) % 7)


def melbourne_offset(day: date) -> int:
    """Hours ahead of UTC at midday on `day` (the DST rule in force since 2008)."""
    if first_sunday(day.year, 4) <= day < first_sunday(day.year, 10):
        return 10
    return 11


def utc(day: date, hh_mm: str) -> str:
    """The UTC instant, as the tools print it, of local time hh_mm on day in Melbourne."""
    local = datetime.combine(day, time.fromisoformat(hh_mm))
    return (local - timedelta(hours=melbourne_offset(day))).strftime("%Y-%m-%dT%H:%M:%SZ")


def days_between(start: date, end: date, isoweekday: int) -> list[date]:
    return [
        start + timedelta(days=n)
        for n in range((end - start).days + 1)
        if (start + timedelta(days=n)).isoweekday() == isoweekday
    ]


# ---------------------------------------------------------------- helpers (rows written straight to the store)


async def add_vendor(tenant: Tenant, name: str, **fields: Any) -> int:
    async with tenant.db.transaction(write=True) as session:
        vendor = Vendor(
            organization_id=tenant.org_id,
            business_name=name,
            email=fields.pop("email", name.lower().replace(" ", ".") + "@example.com"),
            **fields,
        )
        session.add(vendor)
        await session.flush()
        return vendor.id  # type: ignore[return-value]


async def add_vendors(tenant: Tenant, count: int) -> list[int]:
    return [await add_vendor(tenant, f"Vendor {n}") for n in range(count)]


async def add_booking(
    tenant: Tenant,
    *,
    market_date_id: int,
    vendor_id: int,
    status: str,
    space_number: str | None = None,
    amount_cents: int = 0,
) -> int:
    async with tenant.db.transaction(write=True) as session:
        booking = Booking(
            organization_id=tenant.org_id,
            vendor_id=vendor_id,
            market_date_id=market_date_id,
            status=status,
            space_number=space_number,
            amount_cents=amount_cents,
        )
        session.add(booking)
        await session.flush()
        return booking.id  # type: ignore[return-value]


async def add_waitlist_entry(
    tenant: Tenant,
    *,
    market_date_id: int,
    vendor_id: int,
    position: int,
    status: str,
    offer_expires_at: datetime | None = None,
) -> None:
    async with tenant.db.transaction(write=True) as session:
        session.add(
            WaitlistEntry(
                organization_id=tenant.org_id,
                market_date_id=market_date_id,
                vendor_id=vendor_id,
                position=position,
                status=status,
                notified_at=None if offer_expires_at is None else offer_expires_at - timedelta(hours=48),
                offer_expires_at=offer_expires_at,
            )
        )


async def add_market_date(
    tenant: Tenant, *, market_id: int, day: date, status: str = "scheduled", capacity: int = 10
) -> int:
    """A date the tools would refuse to create: in the past, or already cancelled or closed."""
    async with tenant.db.transaction(write=True) as session:
        md = MarketDate(
            organization_id=tenant.org_id, market_id=market_id, scheduled_at=day, capacity=capacity, status=status
        )
        session.add(md)
        await session.flush()
        return md.id  # type: ignore[return-value]


async def market_date_count(db: Database) -> int:
    async with db.transaction() as session:
        return (await session.execute(select(func.count()).select_from(MarketDate))).scalar_one()


def counts(md: dict[str, Any]) -> tuple[int, int, int, int, int]:
    return (md["capacity"], md["confirmed_count"], md["pending_count"], md["spaces_left"], md["waitlist_count"])


async def offers_and_bookings(tenant: Tenant, market_date_id: int, *, confirmed: int, open_offers: int) -> None:
    """`confirmed` confirmed bookings, `open_offers` open waitlist offers, plus noise that holds no space."""
    vendors = await add_vendors(tenant, confirmed + open_offers + 3)
    for vendor in vendors[:confirmed]:
        await add_booking(tenant, market_date_id=market_date_id, vendor_id=vendor, status="confirmed")
    soon = datetime.now(UTC) + timedelta(hours=24)
    for n, vendor in enumerate(vendors[confirmed : confirmed + open_offers]):
        await add_waitlist_entry(
            tenant,
            market_date_id=market_date_id,
            vendor_id=vendor,
            position=n + 1,
            status="notified",
            offer_expires_at=soon,
        )
    noise = vendors[confirmed + open_offers :]
    await add_booking(tenant, market_date_id=market_date_id, vendor_id=noise[0], status="pending")
    await add_waitlist_entry(
        tenant,
        market_date_id=market_date_id,
        vendor_id=noise[1],
        position=90,
        status="notified",
        offer_expires_at=datetime.now(UTC) - timedelta(hours=1),
    )
    await add_waitlist_entry(tenant, market_date_id=market_date_id, vendor_id=noise[2], position=91, status="waiting")


# ---------------------------------------------------------------- create_market_date


async def test_a_new_date_takes_the_markets_capacity_and_has_no_times_or_bookings(alice: Tenant) -> None:
    saturday = next_weekday(6)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", capacity=25)
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(saturday))
    assert md == {
        "id": md["id"],
        "market_id": market["id"],
        "market_name": "Riverside",
        "scheduled_at": str(saturday),
        "weekday": "Saturday",
        "start_time": None,
        "end_time": None,
        "starts_at": None,
        "ends_at": None,
        "status": "scheduled",
        "capacity": 25,
        "confirmed_count": 0,
        "pending_count": 0,
        "spaces_left": 25,
        "waitlist_count": 0,
        "cancelled_at": None,
        "cancel_reason": None,
        "closed_at": None,
        "emails": emails_queued(0),  # no season with regulars: nobody booked
    }


async def test_a_capacity_given_for_the_date_overrides_the_markets(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", capacity=25)
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)), capacity=0)
    assert (md["capacity"], md["spaces_left"]) == (0, 0)


async def test_today_can_be_scheduled(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(today()))
    assert md["scheduled_at"] == str(today())


async def test_summer_local_times_are_stored_as_utc_eleven_hours_earlier(alice: Tenant) -> None:
    day = date(NEXT_YEAR, 1, 16)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        md = await c.ok(
            "create_market_date", market_id=market["id"], scheduled_at=str(day), start_time="07:00", end_time="13:00"
        )
    assert (md["start_time"], md["end_time"]) == ("07:00", "13:00")
    assert (md["starts_at"], md["ends_at"]) == (f"{NEXT_YEAR}-01-15T20:00:00Z", f"{NEXT_YEAR}-01-16T02:00:00Z")


async def test_winter_local_times_are_stored_as_utc_ten_hours_earlier(alice: Tenant) -> None:
    day = date(NEXT_YEAR, 7, 17)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        md = await c.ok(
            "create_market_date", market_id=market["id"], scheduled_at=str(day), start_time="07:00", end_time="13:00"
        )
    assert (md["start_time"], md["end_time"]) == ("07:00", "13:00")
    assert (md["starts_at"], md["ends_at"]) == (f"{NEXT_YEAR}-07-16T21:00:00Z", f"{NEXT_YEAR}-07-17T03:00:00Z")


async def test_an_end_time_before_the_start_time_is_refused_and_nothing_is_created(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        message = await c.refused(
            "create_market_date",
            422,
            market_id=market["id"],
            scheduled_at=str(next_weekday(6)),
            start_time="14:00",
            end_time="09:00",
        )
    assert message == "end_time 09:00 must be after start_time 14:00."
    assert await market_date_count(alice.db) == 0


async def test_an_end_time_equal_to_the_start_time_is_refused(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        message = await c.refused(
            "create_market_date",
            422,
            market_id=market["id"],
            scheduled_at=str(next_weekday(6)),
            start_time="09:00",
            end_time="09:00",
        )
    assert message == "end_time 09:00 must be after start_time 09:00."


async def test_a_date_in_the_past_is_refused_with_422_saying_what_today_is(alice: Tenant) -> None:
    yesterday = today() - timedelta(days=1)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        message = await c.refused("create_market_date", 422, market_id=market["id"], scheduled_at=str(yesterday))
    assert message == (
        f"scheduled_at {yesterday} is in the past (today is {today()} in Australia/Melbourne); "
        "choose today or a later date."
    )
    assert await market_date_count(alice.db) == 0


async def test_a_second_date_on_the_same_day_is_refused_with_409_naming_the_first(alice: Tenant) -> None:
    saturday = next_weekday(6)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        first = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(saturday))
        message = await c.refused("create_market_date", 409, market_id=market["id"], scheduled_at=str(saturday))
    assert message == (
        f"Market {market['id']} already has a date on {saturday}: market date {first['id']}. "
        f"Use update_market_date (market_date_id={first['id']}) to change it."
    )
    assert await market_date_count(alice.db) == 1


async def test_a_cancelled_date_still_holds_its_day(alice: Tenant) -> None:
    saturday = next_weekday(6)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        cancelled = await add_market_date(alice, market_id=market["id"], day=saturday, status="cancelled")
        message = await c.refused("create_market_date", 409, market_id=market["id"], scheduled_at=str(saturday))
    assert message == (
        f"Market {market['id']} already has a date on {saturday} (cancelled): market date {cancelled}. "
        "A cancelled date stays cancelled. A market has one date a day, so choose another day."
    )


async def test_two_markets_may_trade_on_the_same_day(alice: Tenant) -> None:
    saturday = next_weekday(6)
    async with alice.client() as c:
        one = await c.ok("create_market", name="Riverside")
        two = await c.ok("create_market", name="Southbank")
        await c.ok("create_market_date", market_id=one["id"], scheduled_at=str(saturday))
        md = await c.ok("create_market_date", market_id=two["id"], scheduled_at=str(saturday))
    assert (md["market_id"], md["scheduled_at"]) == (two["id"], str(saturday))


async def test_a_date_for_an_unknown_market_is_refused_with_404(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("create_market_date", 404, market_id=999, scheduled_at=str(next_weekday(6)))
    assert message == "Market 999 not found."


async def test_a_date_for_another_organisations_market_is_refused_with_404(alice: Tenant, bob: Tenant) -> None:
    async with bob.client() as c:
        bobs = await c.ok("create_market", name="Bob's Market")
    async with alice.client() as c:
        message = await c.refused("create_market_date", 404, market_id=bobs["id"], scheduled_at=str(next_weekday(6)))
    assert message == f"Market {bobs['id']} not found."
    assert await market_date_count(alice.db) == 0


# ---------------------------------------------------------------- bulk_create_market_dates


async def test_every_saturday_of_a_season_is_scheduled_once(alice: Tenant) -> None:
    start, end = date(NEXT_YEAR, 1, 1), date(NEXT_YEAR, 3, 31)
    saturdays = days_between(start, end, 6)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", capacity=30)
        result = await c.ok(
            "bulk_create_market_dates",
            market_id=market["id"],
            start_date=str(start),
            end_date=str(end),
            day_of_week=6,
        )
        listed = await c.ok("list_market_dates", market_id=market["id"], limit=200)
    assert (result["dry_run"], result["skipped"]) == (False, [])
    assert [d["scheduled_at"] for d in result["created"]] == [str(d) for d in saturdays]
    assert len(result["created"]) in (12, 13) and len(result["created"]) == len(saturdays)
    assert {d["weekday"] for d in result["created"]} == {"Saturday"}
    assert {(d["capacity"], d["status"], d["market_id"]) for d in result["created"]} == {
        (30, "scheduled", market["id"])
    }
    assert [d["id"] for d in result["created"]] == [d["id"] for d in listed["items"]]
    assert listed["total"] == len(saturdays)


async def test_day_of_week_0_is_sunday(alice: Tenant) -> None:
    start, end = date(NEXT_YEAR, 2, 1), date(NEXT_YEAR, 2, 28)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        result = await c.ok(
            "bulk_create_market_dates", market_id=market["id"], start_date=str(start), end_date=str(end), day_of_week=0
        )
    assert [d["scheduled_at"] for d in result["created"]] == [str(d) for d in days_between(start, end, 7)]
    assert {d["weekday"] for d in result["created"]} == {"Sunday"}


async def test_running_the_same_season_again_creates_nothing_and_names_each_existing_date(alice: Tenant) -> None:
    start, end = date(NEXT_YEAR, 1, 1), date(NEXT_YEAR, 3, 31)
    arguments = dict(start_date=str(start), end_date=str(end), day_of_week=6)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        first = await c.ok("bulk_create_market_dates", market_id=market["id"], **arguments)
        again = await c.ok("bulk_create_market_dates", market_id=market["id"], **arguments)
    assert (again["dry_run"], again["created"]) == (False, [])
    assert again["skipped"] == [
        {
            "scheduled_at": d["scheduled_at"],
            "reason": f"Market {market['id']} already has a date on {d['scheduled_at']}: market date {d['id']}",
        }
        for d in first["created"]
    ]
    assert await market_date_count(alice.db) == len(first["created"])


async def test_a_season_overlapping_existing_dates_creates_only_the_missing_ones(alice: Tenant) -> None:
    start, end = date(NEXT_YEAR, 2, 1), date(NEXT_YEAR, 2, 28)
    saturdays = days_between(start, end, 6)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        existing = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(saturdays[1]))
        result = await c.ok(
            "bulk_create_market_dates", market_id=market["id"], start_date=str(start), end_date=str(end), day_of_week=6
        )
    assert [d["scheduled_at"] for d in result["created"]] == [str(d) for d in saturdays if d != saturdays[1]]
    assert result["skipped"] == [
        {
            "scheduled_at": str(saturdays[1]),
            "reason": f"Market {market['id']} already has a date on {saturdays[1]}: market date {existing['id']}",
        }
    ]


async def test_a_cancelled_date_in_the_season_is_skipped_saying_it_is_cancelled(alice: Tenant) -> None:
    start, end = date(NEXT_YEAR, 2, 1), date(NEXT_YEAR, 2, 28)
    saturdays = days_between(start, end, 6)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        cancelled = await add_market_date(alice, market_id=market["id"], day=saturdays[0], status="cancelled")
        result = await c.ok(
            "bulk_create_market_dates", market_id=market["id"], start_date=str(start), end_date=str(end), day_of_week=6
        )
    assert [d["scheduled_at"] for d in result["created"]] == [str(d) for d in saturdays[1:]]
    assert result["skipped"] == [
        {
            "scheduled_at": str(saturdays[0]),
            "reason": f"Market {market['id']} already has a date on {saturdays[0]} (cancelled): market date {cancelled}",
        }
    ]


async def test_a_dry_run_creates_nothing_and_returns_the_same_plan_without_ids(alice: Tenant) -> None:
    arguments = dict(
        start_date=str(date(NEXT_YEAR, 3, 1)),
        end_date=str(date(NEXT_YEAR, 4, 30)),
        day_of_week=6,
        start_time="08:00",
        end_time="13:00",
        capacity=12,
    )
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        second_saturday = days_between(date(NEXT_YEAR, 3, 1), date(NEXT_YEAR, 4, 30), 6)[1]
        await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(second_saturday))
        plan = await c.ok("bulk_create_market_dates", market_id=market["id"], dry_run=True, **arguments)
        assert await market_date_count(alice.db) == 1
        real = await c.ok("bulk_create_market_dates", market_id=market["id"], **arguments)
    assert plan["dry_run"] is True and real["dry_run"] is False
    assert plan["note"] == "Preview only: no market date was created. Call again with dry_run false to do it."
    assert not {"created", "skipped"} & set(plan) and not {"note", "would_create", "would_skip"} & set(real)
    assert {d["id"] for d in plan["would_create"]} == {None}
    assert None not in {d["id"] for d in real["created"]}
    assert plan["would_create"] == [d | {"id": None} for d in real["created"]]
    assert plan["would_skip"] == real["skipped"] and len(plan["would_skip"]) == 1
    assert await market_date_count(alice.db) == 1 + len(real["created"])


async def test_a_season_across_the_end_of_daylight_saving_keeps_local_times_and_moves_utc(alice: Tenant) -> None:
    start, end = date(NEXT_YEAR, 3, 14), date(NEXT_YEAR, 4, 25)
    saturdays = days_between(start, end, 6)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        result = await c.ok(
            "bulk_create_market_dates",
            market_id=market["id"],
            start_date=str(start),
            end_date=str(end),
            day_of_week=6,
            start_time="08:00",
            end_time="13:00",
        )
    assert {melbourne_offset(d) for d in saturdays} == {10, 11}  # the range really crosses the change
    assert [
        (d["scheduled_at"], d["start_time"], d["end_time"], d["starts_at"], d["ends_at"]) for d in result["created"]
    ] == [(str(d), "08:00", "13:00", utc(d, "08:00"), utc(d, "13:00")) for d in saturdays]


async def test_a_season_across_the_start_of_daylight_saving_keeps_local_times_and_moves_utc(alice: Tenant) -> None:
    start, end = date(NEXT_YEAR, 9, 12), date(NEXT_YEAR, 10, 24)
    sundays = days_between(start, end, 7)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        result = await c.ok(
            "bulk_create_market_dates",
            market_id=market["id"],
            start_date=str(start),
            end_date=str(end),
            day_of_week=0,
            start_time="09:30",
            end_time="14:00",
        )
        # the date list reads back what was stored, not what the bulk call computed
        listed = await c.ok("list_market_dates", market_id=market["id"], detail="full")
    assert {melbourne_offset(d) for d in sundays} == {10, 11}
    expected = [(str(d), "09:30", "14:00", utc(d, "09:30"), utc(d, "14:00")) for d in sundays]
    for rows in (result["created"], listed["items"]):
        assert [
            (d["scheduled_at"], d["start_time"], d["end_time"], d["starts_at"], d["ends_at"]) for d in rows
        ] == expected


async def test_a_range_of_366_days_is_accepted(alice: Tenant) -> None:
    start = date(NEXT_YEAR, 1, 1)
    end = start + timedelta(days=365)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        result = await c.ok(
            "bulk_create_market_dates",
            market_id=market["id"],
            start_date=str(start),
            end_date=str(end),
            day_of_week=3,
            dry_run=True,
        )
    assert [d["scheduled_at"] for d in result["would_create"]] == [str(d) for d in days_between(start, end, 3)]


async def test_a_range_over_366_days_is_refused(alice: Tenant) -> None:
    start = date(NEXT_YEAR, 1, 1)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        message = await c.refused(
            "bulk_create_market_dates",
            422,
            market_id=market["id"],
            start_date=str(start),
            end_date=str(start + timedelta(days=366)),
            day_of_week=6,
        )
    assert message == "The range covers 367 days; at most 366 days can be scheduled in one call."
    assert await market_date_count(alice.db) == 0


async def test_an_end_date_before_the_start_date_is_refused(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        message = await c.refused(
            "bulk_create_market_dates",
            422,
            market_id=market["id"],
            start_date=f"{NEXT_YEAR}-02-01",
            end_date=f"{NEXT_YEAR}-01-01",
            day_of_week=6,
        )
    assert message == f"end_date {NEXT_YEAR}-01-01 is before start_date {NEXT_YEAR}-02-01."


async def test_a_range_without_that_weekday_creates_nothing(alice: Tenant) -> None:
    monday = next_weekday(1)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        result = await c.ok(
            "bulk_create_market_dates",
            market_id=market["id"],
            start_date=str(monday),
            end_date=str(monday + timedelta(days=2)),
            day_of_week=6,
        )
    assert result == {"dry_run": False, "created": [], "skipped": [], "emails": emails_queued(0)}


async def test_day_of_week_7_is_refused_naming_day_of_week(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        message = await c.refused(
            "bulk_create_market_dates",
            422,
            market_id=market["id"],
            start_date=f"{NEXT_YEAR}-01-01",
            end_date=f"{NEXT_YEAR}-02-01",
            day_of_week=7,
        )
    assert message == (
        "Invalid arguments: day_of_week must be a number, 0 = Sunday … 6 = Saturday; got 7. Did you mean 0 (Sunday)?"
    )


async def test_day_of_week_minus_1_is_refused_naming_day_of_week(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        message = await c.refused(
            "bulk_create_market_dates",
            422,
            market_id=market["id"],
            start_date=f"{NEXT_YEAR}-01-01",
            end_date=f"{NEXT_YEAR}-02-01",
            day_of_week=-1,
        )
    assert message == "Invalid arguments: day_of_week must be a number, 0 = Sunday … 6 = Saturday; got -1."


async def test_a_season_starting_in_the_past_is_refused(alice: Tenant) -> None:
    yesterday = today() - timedelta(days=1)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        message = await c.refused(
            "bulk_create_market_dates",
            422,
            market_id=market["id"],
            start_date=str(yesterday),
            end_date=str(yesterday + timedelta(days=30)),
            day_of_week=6,
        )
    assert message == (
        f"start_date {yesterday} is in the past (today is {today()} in Australia/Melbourne); "
        "choose today or a later date."
    )
    assert await market_date_count(alice.db) == 0


async def test_a_season_with_the_end_time_before_the_start_time_is_refused(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        message = await c.refused(
            "bulk_create_market_dates",
            422,
            market_id=market["id"],
            start_date=f"{NEXT_YEAR}-01-01",
            end_date=f"{NEXT_YEAR}-02-01",
            day_of_week=6,
            start_time="13:00",
            end_time="08:00",
        )
    assert message == "end_time 08:00 must be after start_time 13:00."


async def test_a_season_for_an_unknown_market_is_refused_with_404(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused(
            "bulk_create_market_dates",
            404,
            market_id=999,
            start_date=f"{NEXT_YEAR}-01-01",
            end_date=f"{NEXT_YEAR}-02-01",
            day_of_week=6,
        )
    assert message == "Market 999 not found."


# ---------------------------------------------------------------- list_market_dates / get_market_date


async def test_list_market_dates_lists_upcoming_soonest_first_by_default_past_latest_first_and_all_in_order(
    alice: Tenant,
) -> None:
    saturday = next_weekday(6)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        later = await c.ok(
            "create_market_date", market_id=market["id"], scheduled_at=str(saturday + timedelta(weeks=1))
        )
        sooner = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(saturday))
        long_ago = await add_market_date(alice, market_id=market["id"], day=today() - timedelta(days=21))
        last_week = await add_market_date(alice, market_id=market["id"], day=today() - timedelta(days=7))
        by_default = await c.ok("list_market_dates")
        upcoming = await c.ok("list_market_dates", date_filter="upcoming")
        past = await c.ok("list_market_dates", date_filter="past")
        everything = await c.ok("list_market_dates", date_filter="all")
    assert ([d["id"] for d in by_default["items"]], by_default["total"]) == ([sooner["id"], later["id"]], 2)
    assert upcoming == by_default
    assert ([d["id"] for d in past["items"]], past["total"]) == ([last_week, long_ago], 2)
    assert ([d["id"] for d in everything["items"]], everything["total"]) == (
        [long_ago, last_week, sooner["id"], later["id"]],
        4,
    )


async def test_from_date_and_to_date_alone_list_every_date_in_the_range_past_and_upcoming_both_ends_included(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        days = {n: today() + timedelta(days=n) for n in (-15, -14, -1, 0, 7, 8)}
        ids = {n: await add_market_date(alice, market_id=market["id"], day=day) for n, day in days.items()}
        in_range = await c.ok("list_market_dates", from_date=str(days[-14]), to_date=str(days[7]))
        from_only = await c.ok("list_market_dates", from_date=str(days[-1]))
        to_only = await c.ok("list_market_dates", to_date=str(days[-14]))
        upcoming_in_range = await c.ok(
            "list_market_dates", date_filter="upcoming", from_date=str(days[-14]), to_date=str(days[7])
        )
        past_in_range = await c.ok(
            "list_market_dates", date_filter="past", from_date=str(days[-14]), to_date=str(days[7])
        )
    assert ([d["id"] for d in in_range["items"]], in_range["total"]) == (
        [ids[-14], ids[-1], ids[0], ids[7]],
        4,
    )
    assert [d["scheduled_at"] for d in in_range["items"]] == [str(days[n]) for n in (-14, -1, 0, 7)]
    assert [d["id"] for d in from_only["items"]] == [ids[-1], ids[0], ids[7], ids[8]]
    assert [d["id"] for d in to_only["items"]] == [ids[-15], ids[-14]]
    assert [d["id"] for d in upcoming_in_range["items"]] == [ids[0], ids[7]]  # today is upcoming
    assert [d["id"] for d in past_in_range["items"]] == [ids[-1], ids[-14]]  # latest first


async def test_list_market_dates_filters_by_status_and_market(alice: Tenant) -> None:
    saturday = next_weekday(6)
    async with alice.client() as c:
        one = await c.ok("create_market", name="Riverside")
        two = await c.ok("create_market", name="Southbank")
        scheduled = await c.ok("create_market_date", market_id=one["id"], scheduled_at=str(saturday))
        cancelled = await add_market_date(
            alice, market_id=one["id"], day=saturday + timedelta(days=1), status="cancelled"
        )
        other = await c.ok("create_market_date", market_id=two["id"], scheduled_at=str(saturday))
        only_cancelled = await c.ok("list_market_dates", status="cancelled")
        only_scheduled = await c.ok("list_market_dates", status="scheduled", market_id=one["id"])
        only_two = await c.ok("list_market_dates", market_id=two["id"])
    assert [(d["id"], d["status"], d["spaces_left"]) for d in only_cancelled["items"]] == [(cancelled, "cancelled", 0)]
    assert [d["id"] for d in only_scheduled["items"]] == [scheduled["id"]]
    assert [(d["id"], d["market_name"]) for d in only_two["items"]] == [(other["id"], "Southbank")]


async def test_list_market_dates_pages_with_next_offset(alice: Tenant) -> None:
    start, end = date(NEXT_YEAR, 1, 1), date(NEXT_YEAR, 3, 31)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        await c.ok(
            "bulk_create_market_dates", market_id=market["id"], start_date=str(start), end_date=str(end), day_of_week=6
        )
        total = len(days_between(start, end, 6))
        first = await c.ok("list_market_dates", limit=5)
        last = await c.ok("list_market_dates", limit=5, offset=total - 2)
    assert (len(first["items"]), first["total"], first["next_offset"]) == (5, total, 5)
    assert (len(last["items"]), last["total"], last["next_offset"]) == (2, total, None)


async def test_counts_come_from_bookings_and_the_waitlist_and_an_open_offer_holds_a_space(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", capacity=10)
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
        vendors = await add_vendors(alice, 12)
        for vendor in vendors[:3]:
            await add_booking(alice, market_date_id=md["id"], vendor_id=vendor, status="confirmed")
        for vendor in vendors[3:5]:
            await add_booking(alice, market_date_id=md["id"], vendor_id=vendor, status="pending")
        await add_booking(alice, market_date_id=md["id"], vendor_id=vendors[5], status="cancelled")
        await add_booking(alice, market_date_id=md["id"], vendor_id=vendors[6], status="rejected")
        now = datetime.now(UTC)
        await add_waitlist_entry(
            alice,
            market_date_id=md["id"],
            vendor_id=vendors[7],
            position=1,
            status="notified",
            offer_expires_at=now + timedelta(hours=47),
        )
        await add_waitlist_entry(
            alice,
            market_date_id=md["id"],
            vendor_id=vendors[8],
            position=2,
            status="notified",
            offer_expires_at=now - timedelta(minutes=5),
        )
        await add_waitlist_entry(alice, market_date_id=md["id"], vendor_id=vendors[9], position=3, status="waiting")
        await add_waitlist_entry(alice, market_date_id=md["id"], vendor_id=vendors[10], position=4, status="waiting")
        await add_waitlist_entry(alice, market_date_id=md["id"], vendor_id=vendors[11], position=5, status="declined")
        listed = await c.ok("list_market_dates", market_id=market["id"], detail="full")
        one = await c.ok("get_market_date", market_date_id=md["id"])
    # capacity, confirmed, pending, spaces_left = 10 - 3 confirmed - 1 open offer, waitlist = 2 waiting + 1 open offer
    assert counts(one) == (10, 3, 2, 6, 3)
    assert listed["items"] == [one]


async def test_an_expired_offer_holds_no_space(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", capacity=2)
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
        (vendor,) = await add_vendors(alice, 1)
        await add_waitlist_entry(
            alice,
            market_date_id=md["id"],
            vendor_id=vendor,
            position=1,
            status="notified",
            offer_expires_at=datetime.now(UTC) - timedelta(seconds=1),
        )
        one = await c.ok("get_market_date", market_date_id=md["id"])
    assert counts(one) == (2, 0, 0, 2, 0)


async def test_spaces_left_is_never_negative(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", capacity=2)
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
        for vendor in await add_vendors(alice, 3):
            await add_booking(alice, market_date_id=md["id"], vendor_id=vendor, status="confirmed")
        one = await c.ok("get_market_date", market_date_id=md["id"])
    assert counts(one) == (2, 3, 0, 0, 0)


async def test_get_market_date_of_an_unknown_id_is_refused_with_404(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("get_market_date", 404, market_date_id=999)
    assert message == "Market date 999 not found."


async def test_another_organisations_market_date_is_not_found(alice: Tenant, bob: Tenant) -> None:
    async with bob.client() as c:
        market = await c.ok("create_market", name="Bob's Market")
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
    async with alice.client() as c:
        message = await c.refused("get_market_date", 404, market_date_id=md["id"])
        page = await c.ok("list_market_dates")
    assert message == f"Market date {md['id']} not found."
    assert page["total"] == 0


async def test_an_unknown_date_filter_is_refused_naming_date_filter(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("list_market_dates", 422, date_filter="soon")
    assert message == "Invalid arguments: date_filter must be one of upcoming, past or all; got 'soon'."


# ---------------------------------------------------------------- update_market_date


async def test_capacity_cannot_go_below_confirmed_bookings_plus_open_offers(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", capacity=10)
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
        await offers_and_bookings(alice, md["id"], confirmed=3, open_offers=2)
        message = await c.refused("update_market_date", 409, market_date_id=md["id"], capacity=4)
        unchanged = await c.ok("get_market_date", market_date_id=md["id"])
        lowered = await c.ok("update_market_date", market_date_id=md["id"], capacity=5)
    assert message == (
        f"Market date {md['id']} has 3 confirmed bookings and 2 open waitlist offers; capacity cannot go below 5. "
        "To go lower, cancel bookings with cancel_booking or withdraw offers with remove_from_waitlist first."
    )
    assert counts(unchanged) == (10, 3, 1, 5, 3)
    assert counts(lowered) == (5, 3, 1, 0, 3)


async def test_without_open_offers_the_refusal_names_only_confirmed_bookings(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", capacity=10)
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
        await offers_and_bookings(alice, md["id"], confirmed=3, open_offers=0)
        message = await c.refused("update_market_date", 409, market_date_id=md["id"], capacity=2)
    assert message == (
        f"Market date {md['id']} has 3 confirmed bookings; capacity cannot go below 3. "
        "To go lower, cancel bookings with cancel_booking first."
    )


async def test_on_a_date_already_over_capacity_the_refusal_still_counts_every_open_offer(alice: Tenant) -> None:
    # 3 confirmed + 2 open offers on 4 spaces: spaces_left shows 0, but 5 spaces are held.
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", capacity=4)
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
        await offers_and_bookings(alice, md["id"], confirmed=3, open_offers=2)
        message = await c.refused("update_market_date", 409, market_date_id=md["id"], capacity=3)
    assert message == (
        f"Market date {md['id']} has 3 confirmed bookings and 2 open waitlist offers; capacity cannot go below 5. "
        "To go lower, cancel bookings with cancel_booking or withdraw offers with remove_from_waitlist first."
    )


async def test_capacity_can_be_raised(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", capacity=10)
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
        await offers_and_bookings(alice, md["id"], confirmed=3, open_offers=2)
        raised = await c.ok("update_market_date", market_date_id=md["id"], capacity=20)
        market_after = await c.ok("get_market", market_id=market["id"])
    assert counts(raised) == (20, 3, 1, 15, 3)
    assert market_after["capacity"] == 10  # the market's own capacity is for new dates


async def test_a_cancelled_date_cannot_be_changed(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        md = await add_market_date(alice, market_id=market["id"], day=next_weekday(6), status="cancelled")
        message = await c.refused("update_market_date", 409, market_date_id=md, capacity=20)
        after = await c.ok("get_market_date", market_date_id=md)
    assert message == (f"Market date {md} is cancelled, so it cannot be changed. A cancelled date stays cancelled.")
    assert after["capacity"] == 10


async def test_a_closed_date_cannot_be_changed(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        md = await add_market_date(alice, market_id=market["id"], day=today() - timedelta(days=7), status="closed")
        message = await c.refused("update_market_date", 409, market_date_id=md, start_time="08:00")
    assert message == (
        f"Market date {md} is closed, so it cannot be changed. It has been closed out: its attendance is final."
    )


async def test_changing_one_time_keeps_the_other(alice: Tenant) -> None:
    day = date(NEXT_YEAR, 2, 6)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        md = await c.ok(
            "create_market_date", market_id=market["id"], scheduled_at=str(day), start_time="08:00", end_time="13:00"
        )
        earlier = await c.ok("update_market_date", market_date_id=md["id"], start_time="07:30")
        later_close = await c.ok("update_market_date", market_date_id=md["id"], end_time="14:15")
    assert (earlier["start_time"], earlier["end_time"]) == ("07:30", "13:00")
    assert (earlier["starts_at"], earlier["ends_at"]) == (utc(day, "07:30"), utc(day, "13:00"))
    assert (later_close["start_time"], later_close["end_time"]) == ("07:30", "14:15")
    assert (later_close["starts_at"], later_close["ends_at"]) == (utc(day, "07:30"), utc(day, "14:15"))
    assert later_close["capacity"] == md["capacity"]


async def test_times_can_be_added_to_a_date_without_times(alice: Tenant) -> None:
    day = date(NEXT_YEAR, 7, 3)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(day))
        after = await c.ok("update_market_date", market_date_id=md["id"], start_time="16:00", end_time="21:00")
    assert (after["start_time"], after["end_time"]) == ("16:00", "21:00")
    assert (after["starts_at"], after["ends_at"]) == (f"{NEXT_YEAR}-07-03T06:00:00Z", f"{NEXT_YEAR}-07-03T11:00:00Z")


async def test_a_new_closing_time_before_the_opening_time_is_refused_and_changes_nothing(alice: Tenant) -> None:
    day = date(NEXT_YEAR, 2, 6)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        md = await c.ok(
            "create_market_date", market_id=market["id"], scheduled_at=str(day), start_time="08:00", end_time="13:00"
        )
        message = await c.refused("update_market_date", 422, market_date_id=md["id"], end_time="07:00", capacity=3)
        after = await c.ok("get_market_date", market_date_id=md["id"])
    assert message == "end_time 07:00 must be after start_time 08:00."
    assert after == {k: v for k, v in md.items() if k != "emails"}


async def test_updating_an_unknown_market_date_is_refused_with_404(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("update_market_date", 404, market_date_id=999, capacity=5)
    assert message == "Market date 999 not found."


# ---------------------------------------------------------------- list_market_date_bookings


async def test_the_roster_lists_pending_and_confirmed_bookings_in_space_order_with_vendor_details(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", default_fee=45)
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
        figs = await add_vendor(
            alice,
            "Figs & Co",
            contact_name="Fay Fig",
            email="fay@figs.example.com",
            phone="0400 000 001",
            category="Produce",
        )
        bread = await add_vendor(alice, "bread Bros")
        apples = await add_vendor(alice, "Apple Barn")
        cheese = await add_vendor(alice, "Cheese Cave")
        gone = await add_vendor(alice, "Gone Grocer")
        nope = await add_vendor(alice, "Nope Noodles")
        b_figs = await add_booking(
            alice, market_date_id=md["id"], vendor_id=figs, status="confirmed", space_number="B1", amount_cents=4500
        )
        b_bread = await add_booking(alice, market_date_id=md["id"], vendor_id=bread, status="pending")
        b_apples = await add_booking(alice, market_date_id=md["id"], vendor_id=apples, status="confirmed")
        b_cheese = await add_booking(
            alice, market_date_id=md["id"], vendor_id=cheese, status="pending", space_number="A2"
        )
        await add_booking(alice, market_date_id=md["id"], vendor_id=gone, status="cancelled", space_number="A1")
        await add_booking(alice, market_date_id=md["id"], vendor_id=nope, status="rejected")
        roster = await c.ok("list_market_date_bookings", market_date_id=md["id"])
    assert [(b["booking_id"], b["space_number"], b["status"]) for b in roster["items"]] == [
        (b_cheese, "A2", "pending"),
        (b_figs, "B1", "confirmed"),
        (b_apples, None, "confirmed"),  # no space yet: after those with one, by business name
        (b_bread, None, "pending"),
    ]
    assert roster["items"][1] == {
        "booking_id": b_figs,
        "status": "confirmed",
        "space_number": "B1",
        "amount_cents": 4500,
        "vendor_id": figs,
        "business_name": "Figs & Co",
        "contact_name": "Fay Fig",
        "phone": "0400 000 001",
        "category": "Produce",
    }
    assert (roster["total"], roster["next_offset"], roster["page"]) == (4, None, "All 4 shown.")


async def test_the_roster_in_full_has_each_vendors_email_and_order(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", default_fee=45)
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
        figs = await add_vendor(
            alice,
            "Figs & Co",
            contact_name="Fay Fig",
            email="fay@figs.example.com",
            phone="0400 000 001",
            category="Produce",
        )
        b_figs = await add_booking(
            alice, market_date_id=md["id"], vendor_id=figs, status="confirmed", space_number="B1", amount_cents=4500
        )
        roster = await c.ok("list_market_date_bookings", market_date_id=md["id"], detail="full")
    assert roster["items"] == [
        {
            "booking_id": b_figs,
            "status": "confirmed",
            "space_number": "B1",
            "amount_cents": 4500,
            "currency": "AUD",
            "order_id": None,
            "vendor_id": figs,
            "business_name": "Figs & Co",
            "contact_name": "Fay Fig",
            "email": "fay@figs.example.com",
            "phone": "0400 000 001",
            "category": "Produce",
        }
    ]


async def test_numbered_spaces_are_in_numeric_order(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
        vendors = await add_vendors(alice, 3)
        for vendor, space in zip(vendors, ("10", "2", "1"), strict=True):
            await add_booking(alice, market_date_id=md["id"], vendor_id=vendor, status="confirmed", space_number=space)
        roster = await c.ok("list_market_date_bookings", market_date_id=md["id"])
    assert [b["space_number"] for b in roster["items"]] == ["1", "2", "10"]


async def test_an_unusual_space_number_never_breaks_the_roster(alice: Tenant) -> None:
    # Space numbers are free text; "①" is a digit to str.isdigit() but not to int().
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
        vendors = await add_vendors(alice, 3)
        for vendor, space in zip(vendors, ("①", "A²", "2"), strict=True):
            await add_booking(alice, market_date_id=md["id"], vendor_id=vendor, status="confirmed", space_number=space)
        roster = await c.ok("list_market_date_bookings", market_date_id=md["id"])
    assert sorted(b["space_number"] for b in roster["items"]) == sorted(["①", "A²", "2"])
    assert roster["total"] == 3


async def test_the_roster_pages_with_next_offset(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
        vendors = await add_vendors(alice, 5)
        for n, vendor in enumerate(vendors):
            await add_booking(
                alice, market_date_id=md["id"], vendor_id=vendor, status="confirmed", space_number=f"A{n}"
            )
        await add_booking(alice, market_date_id=md["id"], vendor_id=vendors[0], status="cancelled")
        first = await c.ok("list_market_date_bookings", market_date_id=md["id"], limit=2)
        second = await c.ok("list_market_date_bookings", market_date_id=md["id"], limit=2, offset=first["next_offset"])
        last = await c.ok("list_market_date_bookings", market_date_id=md["id"], limit=2, offset=second["next_offset"])
    assert ([b["space_number"] for b in first["items"]], first["total"], first["next_offset"]) == (["A0", "A1"], 5, 2)
    assert ([b["space_number"] for b in second["items"]], second["next_offset"]) == (["A2", "A3"], 4)
    assert ([b["space_number"] for b in last["items"]], last["next_offset"]) == (["A4"], None)


async def test_the_roster_of_an_unknown_date_is_refused_with_404(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("list_market_date_bookings", 404, market_date_id=999)
    assert message == "Market date 999 not found."


async def test_the_roster_of_another_organisations_date_is_not_found(alice: Tenant, bob: Tenant) -> None:
    async with bob.client() as c:
        market = await c.ok("create_market", name="Bob's Market")
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
    async with alice.client() as c:
        message = await c.refused("list_market_date_bookings", 404, market_date_id=md["id"])
    assert message == f"Market date {md['id']} not found."
