"""waitlist: vendors waiting for a space on a full market date, offered it in turn for 48 hours."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from market_mcp.schemas.common import MAX_ID, PAGE_SIZE, Detail, IdempotencyKey, IdFilter, Limit, Offset, OverrideReason
from market_mcp.schemas.text import Text
from market_mcp.schemas.waitlist import WaitlistEntryResult, WaitlistPage, WaitlistStatus
from market_mcp.services import waitlist
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("waitlist", "Waitlist: queue vendors for full market dates and offer them freed spaces.")

EntryId = Annotated[int, Field(ge=1, le=MAX_ID)]


@toolset.read("List waitlist")
async def list_waitlist(
    org: Org,
    market_id: Annotated[
        int | None, Field(ge=1, le=MAX_ID, description="The market: its next upcoming date's waitlist.")
    ] = None,
    market_date_id: IdFilter = None,
    status: Annotated[WaitlistStatus | None, Field(description="Default: waiting and notified.")] = None,
    detail: Detail = "compact",
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> WaitlistPage:
    """Vendors waiting for a space, in offer order, with any open 48-hour offer: one date's (market_date_id, or
    market_id for its next) with spaces_left, or all."""
    page = await waitlist.list_waitlist(
        org, market_id=market_id, market_date_id=market_date_id, status=status, limit=limit, offset=offset
    )
    return page.detailed(detail)


@toolset.write("Add to waitlist", destructive=False, idempotent=False)
async def add_to_waitlist(
    org: Org,
    market_date_id: Annotated[int, Field(ge=1, le=MAX_ID, description="The market date the vendor wants.")],
    vendor_id: Annotated[int, Field(ge=1, le=MAX_ID, description="Needs an approved application to the market.")],
    idempotency_key: IdempotencyKey = None,
) -> WaitlistEntryResult:
    """Put a vendor last on a date's waitlist (e.g. when create_order says it is full). Emails nobody; notify_waitlist
    offers."""
    return await waitlist.add_to_waitlist(org, market_date_id=market_date_id, vendor_id=vendor_id)


@toolset.write("Offer a space from the waitlist", destructive=False, idempotent=False, emails=True)
async def notify_waitlist(
    org: Org,
    entry_id: Annotated[
        int | None, Field(ge=1, le=MAX_ID, description="The waiting entry to offer the space to.")
    ] = None,
    market_date_id: Annotated[
        int | None,
        Field(ge=1, le=MAX_ID, description="Or: offer to this date's first in line."),
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> WaitlistEntryResult:
    """Offer a free space to a waiting vendor for 48 hours (less if set-up starts sooner): entry_id, or
    market_date_id for the first in line. Emails the vendor. Record a yes with accept_waitlist_offer."""
    return await waitlist.notify_waitlist(org, entry_id=entry_id, market_date_id=market_date_id)


@toolset.write("Accept waitlist offer", destructive=False, idempotent=False, emails=True)
async def accept_waitlist_offer(
    org: Org, entry_id: EntryId, override_reason: OverrideReason = None, idempotency_key: IdempotencyKey = None
) -> WaitlistEntryResult:
    """Record that a vendor took their offer: books the space on a new order at the market's fee, credits applied.
    Emails the vendor."""
    return await waitlist.accept_waitlist_offer(org, entry_id, override_reason=override_reason)


@toolset.write("Remove from waitlist", destructive=True, idempotent=False)
async def remove_from_waitlist(
    org: Org,
    entry_id: EntryId,
    reason: Annotated[str | None, Field(max_length=500, description="Why (kept on the entry)."), Text] = None,
    idempotency_key: IdempotencyKey = None,
) -> WaitlistEntryResult:
    """Take a vendor off a waitlist (an open offer's space is freed). Emails nobody."""
    return await waitlist.remove_from_waitlist(org, entry_id, reason=reason)
