"""market_dates: a market's trading days and who is booked on them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from market_mcp.schemas.common import (
    MAX_ID,
    PAGE_SIZE,
    Day,
    Detail,
    FromDate,
    IdempotencyKey,
    Limit,
    Offset,
    Page,
    ToDate,
)
from market_mcp.schemas.market_dates import (
    BulkCreateResult,
    DateCapacity,
    DayOfWeek,
    LocalTime,
    MarketDateCancelled,
    MarketDateClosed,
    MarketDateOut,
    MarketDateStatus,
    RosterEntry,
)
from market_mcp.services import closing, market_dates
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("market_dates", "Market dates: schedule trading days, change them, see who is booked.")

MarketId = Annotated[int, Field(ge=1, le=MAX_ID, description="The market's id (from list_markets).")]
MarketDateId = Annotated[int, Field(ge=1, le=MAX_ID, description="The market date's id (from list_market_dates).")]
OptionalCapacity = Annotated[DateCapacity | None, Field(description="Stall spaces; default: the market's capacity.")]


@toolset.read("List market dates")
async def list_market_dates(
    org: Org,
    market_id: Annotated[int | None, Field(ge=1, le=MAX_ID, description="Only this market's dates.")] = None,
    date_filter: Annotated[
        Literal["upcoming", "past", "all"] | None,
        Field(description="upcoming (default: today on, soonest first), past (latest first) or all."),
    ] = None,
    status: Annotated[MarketDateStatus | None, Field(description="Only dates in this status.")] = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    detail: Detail = "compact",
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> Page[MarketDateOut]:
    """List market dates in date order, each with capacity, confirmed_count, pending_count, spaces_left and
    waitlist_count. Use date_filter="upcoming" for what is coming up."""
    page = await market_dates.list_market_dates(
        org,
        market_id=market_id,
        date_filter=date_filter,
        status=status,
        from_date=from_date,
        to_date=to_date,
        limit=limit,
        offset=offset,
    )
    return page.detailed(detail)


@toolset.read("Get market date")
async def get_market_date(org: Org, market_date_id: MarketDateId) -> MarketDateOut:
    """One market date with its times, status and counts (confirmed, pending, spaces left, waitlist)."""
    return await market_dates.get_market_date(org, market_date_id)


@toolset.write("Create market date", destructive=False, idempotent=False)
async def create_market_date(
    org: Org,
    market_id: MarketId,
    scheduled_at: Annotated[Day, Field(description="The trading day, YYYY-MM-DD (today or later).")],
    start_time: Annotated[LocalTime | None, Field(description="Local opening time, HH:MM.")] = None,
    end_time: Annotated[LocalTime | None, Field(description="Local closing time, HH:MM.")] = None,
    capacity: OptionalCapacity = None,
    idempotency_key: IdempotencyKey = None,
) -> MarketDateOut:
    """Schedule one trading day for a market. A market has at most one date per day (409 if it exists).
    For a recurring weekday use bulk_create_market_dates. Emails nobody."""
    return await market_dates.create_market_date(
        org, market_id=market_id, scheduled_at=scheduled_at, start_time=start_time, end_time=end_time, capacity=capacity
    )


@toolset.write("Schedule recurring market dates", destructive=False, idempotent=True)
async def bulk_create_market_dates(
    org: Org,
    market_id: MarketId,
    start_date: Annotated[Day, Field(description="First day of the range, YYYY-MM-DD (today or later).")],
    end_date: Annotated[Day, Field(description="Last day of the range, YYYY-MM-DD (at most 366 days in all).")],
    day_of_week: DayOfWeek,
    start_time: Annotated[LocalTime | None, Field(description="Local opening time, HH:MM.")] = None,
    end_time: Annotated[LocalTime | None, Field(description="Local closing time, HH:MM.")] = None,
    capacity: OptionalCapacity = None,
    dry_run: Annotated[bool, Field(description="Report what would be created without creating anything.")] = False,
    idempotency_key: IdempotencyKey = None,
) -> BulkCreateResult:
    """Schedule every given weekday between start_date and end_date for a market, e.g. every Saturday of a
    season (day_of_week 6). Days that already have a date are skipped, so running it again duplicates
    nothing. Use dry_run to preview. Emails nobody."""
    return await market_dates.bulk_create_market_dates(
        org,
        market_id=market_id,
        start_date=start_date,
        end_date=end_date,
        day_of_week=day_of_week,
        start_time=start_time,
        end_time=end_time,
        capacity=capacity,
        dry_run=dry_run,
    )


@toolset.write("Update market date", destructive=True, idempotent=True)
async def update_market_date(
    org: Org,
    market_date_id: MarketDateId,
    start_time: Annotated[LocalTime | None, Field(description="New local opening time, HH:MM.")] = None,
    end_time: Annotated[LocalTime | None, Field(description="New local closing time, HH:MM.")] = None,
    capacity: Annotated[
        DateCapacity | None, Field(description="New number of spaces; not below confirmed bookings plus open offers.")
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> MarketDateOut:
    """Change a scheduled date's opening times or capacity; only what you pass changes. Emails nobody
    (tell vendors with send_market_email if times move)."""
    return await market_dates.update_market_date(
        org, market_date_id, start_time=start_time, end_time=end_time, capacity=capacity
    )


@toolset.read("Market date roster")
async def list_market_date_bookings(
    org: Org, market_date_id: MarketDateId, detail: Detail = "compact", limit: Limit = 50, offset: Offset = 0
) -> Page[RosterEntry]:
    """The roster of one market date: every pending and confirmed booking with its vendor, contact details,
    space number and amount, in space order."""
    page = await market_dates.list_market_date_bookings(org, market_date_id, limit=limit, offset=offset)
    return page.detailed(detail)


@toolset.write("Cancel market date", destructive=True, idempotent=False, emails=True)
async def cancel_market_date(
    org: Org,
    market_date_id: MarketDateId,
    reason: Annotated[
        str | None, Field(max_length=500, description="Why (e.g. the weather), for vendors' emails.")
    ] = None,
    credit_vendors: Annotated[
        bool, Field(description="Credit each paid booking's amount back to its vendor (default false).")
    ] = False,
    dry_run: Annotated[
        bool, Field(description="Report the vendors and money affected without changing anything.")
    ] = False,
    idempotency_key: IdempotencyKey = None,
) -> MarketDateCancelled:
    """Cancel a whole market date (e.g. for weather): every pending and confirmed booking is cancelled, paid ones
    are credited with credit_vendors, unpaid orders stop charging, the waitlist is closed. Emails every booked
    vendor. Use dry_run first to see who and how much."""
    return await closing.cancel_market_date(
        org, market_date_id, reason=reason, credit_vendors=credit_vendors, dry_run=dry_run
    )


@toolset.write("Close out market date", destructive=False, idempotent=False)
async def close_out_market_date(
    org: Org,
    market_date_id: MarketDateId,
    no_show_booking_ids: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID)]],
        Field(max_length=10_000, description="Confirmed bookings whose vendor did not come."),
    ] = [],  # noqa: B006 (pydantic copies defaults)
    idempotency_key: IdempotencyKey = None,
) -> MarketDateClosed:
    """Finalise a market date on or after its day: confirmed bookings are marked attended except the no-shows
    named, the date becomes closed (once; it cannot be reopened) and its waitlist ends. Emails nobody."""
    return await closing.close_out_market_date(org, market_date_id, no_show_booking_ids=no_show_booking_ids)
