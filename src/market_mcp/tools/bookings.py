"""bookings: each vendor's stall on each market date — confirm, cancel, move, restore, number."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import Field

from market_mcp.schemas.bookings import BookingOut, BookingResult, BulkCancelResult
from market_mcp.schemas.common import (
    MAX_ID,
    PAGE_SIZE,
    DateFilter,
    Detail,
    DryRun,
    FromDate,
    IdempotencyKey,
    IdFilter,
    Limit,
    Money,
    Offset,
    OverrideReason,
    Page,
    Stripped,
    ToDate,
)
from market_mcp.schemas.market_dates import BookingStatus
from market_mcp.schemas.text import EmailText, OneLine
from market_mcp.services import bookings
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("bookings", "Bookings: confirm, cancel, move, restore and number vendors' stalls on market dates.")

BookingId = Annotated[int, Field(ge=1, le=MAX_ID)]
Reason = Annotated[str | None, Field(max_length=500, description="Why, for the vendor's email."), EmailText]
CreditVendor = bool  # the descriptions say what it does
SpaceNumber = Annotated[str, Stripped, Field(min_length=1, max_length=20), OneLine]


@toolset.read("List bookings")
async def list_bookings(
    org: Org,
    date_filter: Annotated[
        DateFilter | None, Field(description="upcoming (soonest first) or past; default: all, latest first.")
    ] = None,
    market_id: IdFilter = None,
    market_date_id: IdFilter = None,
    vendor_id: IdFilter = None,
    status: BookingStatus | None = None,
    query: Annotated[str | None, Field(max_length=200, description="Vendor name or contact.")] = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    detail: Detail = "compact",
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> Page[BookingOut]:
    """Bookings (a vendor's stall on one date) with vendor, date, space and amount."""
    page = await bookings.list_bookings(
        org,
        date_filter=date_filter,
        market_id=market_id,
        market_date_id=market_date_id,
        vendor_id=vendor_id,
        status=status,
        query=query,
        from_date=from_date,
        to_date=to_date,
        limit=limit,
        offset=offset,
    )
    return page.detailed(detail)


@toolset.read("Get booking")
async def get_booking(org: Org, booking_id: BookingId) -> BookingResult:
    """One booking: vendor, date, space, amount, status."""
    return await bookings.get_booking(org, booking_id)


@toolset.write("Confirm booking", destructive=False, idempotent=False, emails=True)
async def confirm_booking(
    org: Org, booking_id: BookingId, override_reason: OverrideReason = None, idempotency_key: IdempotencyKey = None
) -> BookingResult:
    """Confirm a pending booking if its date has space (409 if full). Emails the vendor."""
    return await bookings.confirm_booking(org, booking_id, override_reason=override_reason)


@toolset.write("Reject booking", destructive=True, idempotent=False, emails=True)
async def reject_booking(
    org: Org, booking_id: BookingId, reason: Reason = None, idempotency_key: IdempotencyKey = None
) -> BookingResult:
    """Turn down a pending booking; an unpaid order stops charging for it. Emails the vendor. For a confirmed booking
    use cancel_booking."""
    return await bookings.reject_booking(org, booking_id, reason=reason)


@toolset.write("Cancel booking", destructive=True, idempotent=False, emails=True)
async def cancel_booking(
    org: Org,
    booking_id: BookingId,
    reason: Reason = None,
    credit_vendor: CreditVendor = False,
    idempotency_key: IdempotencyKey = None,
) -> BookingResult:
    """Cancel a confirmed booking (pending: reject_booking); credit_vendor credits a paid one back. Emails the vendor;
    offers the space to the waitlist if the market auto-notifies."""
    return await bookings.cancel_booking(org, booking_id, reason=reason, credit_vendor=credit_vendor)


@toolset.write("Move booking to another date", destructive=True, idempotent=False, emails=True)
async def rebook_booking(
    org: Org,
    booking_id: BookingId,
    target_market_date_id: Annotated[int, Field(ge=1, le=MAX_ID, description="The market date to move it to.")],
    fee: Annotated[Money, Field(description="Rebooking fee the vendor pays (default 0).")] = 0,
    idempotency_key: IdempotencyKey = None,
) -> BookingResult:
    """Move a paid, confirmed booking to another date: the old one is cancelled, its amount less the fee pays the new
    one (returned). Emails the vendor."""
    return await bookings.rebook_booking(org, booking_id, target_market_date_id=target_market_date_id, fee_cents=fee)


@toolset.write("Restore booking", destructive=False, idempotent=False, emails=True)
async def restore_booking(org: Org, booking_id: BookingId, idempotency_key: IdempotencyKey = None) -> BookingResult:
    """Un-cancel a booking if its date has room and its space is free; a credit given for it is taken back, or its
    order charges again. Emails the vendor."""
    return await bookings.restore_booking(org, booking_id)


@toolset.write("Assign space", destructive=True, idempotent=True)
async def update_space_number(
    org: Org,
    booking_id: BookingId,
    space_number: Annotated[SpaceNumber | None, Field(description='The stall space, e.g. "14A"; null clears it.')],
    idempotency_key: IdempotencyKey = None,
) -> BookingResult:
    """Give a pending or confirmed booking its stall space, unique on the date (null clears). Emails nobody."""
    return await bookings.update_space_number(org, booking_id, space_number=space_number)


@toolset.write("Cancel many bookings", destructive=True, idempotent=False, emails=True)
async def bulk_cancel_bookings(
    org: Org,
    ctx: Context,
    booking_ids: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID)]],
        Field(min_length=1, max_length=1000, description="The bookings to cancel (1 to 1,000)."),
    ],
    reason: Reason = None,
    credit_vendor: CreditVendor = False,
    dry_run: DryRun = False,
    idempotency_key: IdempotencyKey = None,
) -> BulkCancelResult:
    """Cancel many confirmed bookings (all or nothing), each as cancel_booking does; ids that cannot be are listed with
    why. Preview with dry_run. A whole date: cancel_market_date."""
    return await bookings.bulk_cancel_bookings(
        org, booking_ids, reason=reason, credit_vendor=credit_vendor, dry_run=dry_run, progress=ctx.report_progress
    )
