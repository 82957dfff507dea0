"""market_dates: a market's trading days and who is booked on them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from market_mcp.schemas.common import (
    MAX_ID,
    PAGE_SIZE,
    Day,
    Detail,
    DryRun,
    FromDate,
    IdempotencyKey,
    IdFilter,
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
    MarketDateCreated,
    MarketDateDetail,
    MarketDateOut,
    MarketDateStatus,
    RosterEntry,
)
from market_mcp.schemas.text import EmailText
from market_mcp.services import closing, market_dates
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("market_dates", "Market dates: schedule trading days, change them, see who is booked.")

MarketId = Annotated[int, Field(ge=1, le=MAX_ID)]
MarketDateId = Annotated[int, Field(ge=1, le=MAX_ID)]
OptionalCapacity = Annotated[DateCapacity | None, Field(description="Default: the market's capacity.")]


@toolset.read("List market dates")
async def list_market_dates(
    org: Org,
    market_id: IdFilter = None,
    date_filter: Annotated[
        Literal["upcoming", "past", "all"] | None,
        Field(description="Default upcoming, soonest first; past is latest first."),
    ] = None,
    status: MarketDateStatus | None = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    detail: Detail = "compact",
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> Page[MarketDateOut]:
    """Trading days with capacity, bookings, spaces_left and waitlist_count: upcoming, soonest first, unless asked;
    from_date/to_date for a range."""
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
async def get_market_date(org: Org, market_date_id: MarketDateId) -> MarketDateDetail:
    """One trading day: times, status, confirmed, pending, spaces left, waitlist, category mix against the caps."""
    return await market_dates.get_market_date(org, market_date_id)


@toolset.write("Create market date", destructive=False, idempotent=False, emails=True)
async def create_market_date(
    org: Org,
    market_id: MarketId,
    scheduled_at: Annotated[Day, Field(description="The trading day (today or later).")],
    start_time: Annotated[LocalTime | None, Field(description="Local opening time, HH:MM.")] = None,
    end_time: Annotated[LocalTime | None, Field(description="Local closing time, HH:MM.")] = None,
    capacity: OptionalCapacity = None,
    idempotency_key: IdempotencyKey = None,
) -> MarketDateCreated:
    """Schedule one trading day (409 if the market has it). Weekly: bulk_create_market_dates. Regulars with a
    standing booking in its season are booked (full: skipped), their approval emails queued."""
    return await market_dates.create_market_date(
        org, market_id=market_id, scheduled_at=scheduled_at, start_time=start_time, end_time=end_time, capacity=capacity
    )


@toolset.write("Schedule recurring market dates", destructive=False, idempotent=True, emails=True)
async def bulk_create_market_dates(
    org: Org,
    market_id: MarketId,
    start_date: Annotated[Day, Field(description="First day (today or later).")],
    end_date: Annotated[Day, Field(description="Last day (at most 366 days after start_date).")],
    day_of_week: DayOfWeek,
    start_time: Annotated[LocalTime | None, Field(description="Local opening time, HH:MM.")] = None,
    end_time: Annotated[LocalTime | None, Field(description="Local closing time, HH:MM.")] = None,
    capacity: OptionalCapacity = None,
    dry_run: DryRun = False,
    idempotency_key: IdempotencyKey = None,
) -> BulkCreateResult:
    """Schedule a weekday across a range, e.g. every Saturday of a season (day_of_week 6); days already scheduled are
    skipped. Regulars with a standing booking in a season are booked on the new dates (approval emails queued).
    Preview with dry_run."""
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
        DateCapacity | None, Field(description="Not below confirmed bookings plus open offers.")
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> MarketDateOut:
    """Change a scheduled date's times or capacity. Emails nobody (tell vendors with send_market_email)."""
    return await market_dates.update_market_date(
        org, market_date_id, start_time=start_time, end_time=end_time, capacity=capacity
    )


@toolset.read("Market date roster")
async def list_market_date_bookings(
    org: Org, market_date_id: MarketDateId, detail: Detail = "compact", limit: Limit = PAGE_SIZE, offset: Offset = 0
) -> Page[RosterEntry]:
    """One date's roster: each pending and confirmed booking with vendor, contact, space (null: unassigned) and amount,
    in space order."""
    page = await market_dates.list_market_date_bookings(org, market_date_id, limit=limit, offset=offset)
    return page.detailed(detail)


@toolset.write("Cancel market date", destructive=True, idempotent=False, emails=True)
async def cancel_market_date(
    org: Org,
    market_date_id: MarketDateId,
    reason: Annotated[
        str | None, Field(max_length=500, description="Why (e.g. the weather), for vendors' emails."), EmailText
    ] = None,
    credit_vendors: Annotated[bool, Field(description="Credit paid bookings back.")] = False,
    dry_run: DryRun = False,
    idempotency_key: IdempotencyKey = None,
) -> MarketDateCancelled:
    """Cancel a trading day (e.g. weather): its bookings are cancelled (paid ones credited with credit_vendors), its
    waitlist closed. Emails each booked vendor. Preview with dry_run first."""
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
    """Finalise a date on or after its day: confirmed bookings marked attended except the no-shows named; date and
    waitlist close for good. Emails nobody."""
    return await closing.close_out_market_date(org, market_date_id, no_show_booking_ids=no_show_booking_ids)
