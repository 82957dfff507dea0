"""markets: the organisation's markets."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from market_mcp.schemas.common import (
    MAX_ID,
    PAGE_SIZE,
    Detail,
    DryRun,
    IdempotencyKey,
    Limit,
    Money,
    Offset,
    Page,
    Stripped,
    nullable,
)
from market_mcp.schemas.emails import MassEmailResult
from market_mcp.schemas.markets import (
    Capacity,
    Description,
    Location,
    MarketDetail,
    MarketFields,
    MarketName,
    MarketOut,
    MarketStatus,
    MarketType,
    Metadata,
    Reference,
    Region,
    Slug,
)
from market_mcp.schemas.text import EmailLine, EmailText
from market_mcp.services import markets
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("markets", "Markets: list, read, create and change them.")

MarketId = Annotated[int, Field(ge=1, le=MAX_ID)]
Query = Annotated[str | None, Field(max_length=200, description="Matches name, slug or region, any case.")]
BookingEnabled = bool
AutoNotify = Annotated[bool, Field(description="Offer freed spaces to the waitlist.")]

MaybeMetadata = nullable(Metadata)
DueDays = Annotated[int, Field(ge=-1, le=365)]


@toolset.read("List markets")
async def list_markets(
    org: Org,
    status: MarketStatus | None = None,
    query: Query = None,
    detail: Detail = "compact",
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> Page[MarketOut]:
    """The markets by name: status, region, type, fee, capacity, next trading day. query finds a market_id."""
    page = await markets.list_markets(org, status=status, query=query, limit=limit, offset=offset)
    return page.detailed(detail)


@toolset.read("Get market")
async def get_market(org: Org, market_id: MarketId) -> MarketDetail:
    """One market: its fields, next 5 dates with spaces left, upcoming confirmed bookings, pending applications and
    approved vendors."""
    return await markets.get_market(org, market_id)


@toolset.write("Create market", destructive=False, idempotent=False)
async def create_market(
    org: Org,
    name: MarketName,
    slug: Annotated[Slug | None, Field(description="Optional; made from the name when left out.")] = None,
    region: Region = "",
    market_type: MarketType = "",
    status: Annotated[MarketStatus, Field(description="unpublished keeps it off public listings.")] = ("unpublished"),
    booking_enabled: BookingEnabled = True,
    waitlist_auto_notify: AutoNotify = False,
    default_fee: Annotated[Money, Field(description='Stall fee per market date, e.g. 45 or "45.50".')] = 0,
    capacity: Annotated[Capacity, Field(description="Stall spaces per date; its dates copy it.")] = 40,
    location: Location = "",
    description: Description = "",
    reference: Reference = "",
    metadata: MaybeMetadata = None,
    idempotency_key: IdempotencyKey = None,
) -> MarketDetail:
    """Create a market with its fee and spaces per date; then add trading days (bulk_create_market_dates). Emails
    nobody."""
    fields = MarketFields(
        name=name,
        slug=slug,
        region=region,
        market_type=market_type,
        status=status,
        booking_enabled=booking_enabled,
        waitlist_auto_notify=waitlist_auto_notify,
        default_fee_cents=default_fee,
        capacity=capacity,
        location=location,
        description=description,
        reference=reference,
        metadata=metadata or {},
    )
    return await markets.create_market(org, fields)


@toolset.write("Update market", destructive=True, idempotent=True)
async def update_market(
    org: Org,
    market_id: MarketId,
    name: MarketName | None = None,
    slug: Slug | None = None,
    region: Region | None = None,
    market_type: MarketType | None = None,
    status: MarketStatus | None = None,
    booking_enabled: BookingEnabled | None = None,
    waitlist_auto_notify: nullable(AutoNotify) = None,
    default_fee: Money | None = None,
    capacity: Annotated[
        Capacity | None, Field(description="For dates created later (existing: update_market_date).")
    ] = None,
    location: Location | None = None,
    description: Description | None = None,
    reference: Reference | None = None,
    metadata: MaybeMetadata = None,
    payment_due_days: Annotated[DueDays | None, Field(description="Orders due N days after approval.")] = None,
    payment_due_days_before: Annotated[DueDays | None, Field(description="…or N before their first date.")] = None,
    release_unpaid: Annotated[bool | None, Field(description="Release unpaid bookings at the deadline.")] = None,
    payment_reminders: Annotated[
        list[Annotated[int, Field(ge=-30, le=60)]] | None,
        Field(max_length=5, description="Remind N days before the deadline, e.g. [3, 0]."),
    ] = None,
    booking_cutoff_hours: Annotated[
        int | None, Field(ge=0, le=720, description="No new bookings within N hours of a date's start; 0: none.")
    ] = None,
    bump_in_minutes: Annotated[
        int | None, Field(ge=0, le=720, description="Set-up starts N minutes before; waitlist offers lapse by then.")
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> MarketDetail:
    """Change a market's fields and payment terms (for orders approved later); only those passed change ("" clears text,
    -1 a deadline). capacity: dates created later. Emails nobody."""
    fields = MarketFields(
        name=name,
        slug=slug,
        region=region,
        market_type=market_type,
        status=status,
        booking_enabled=booking_enabled,
        waitlist_auto_notify=waitlist_auto_notify,
        default_fee_cents=default_fee,
        capacity=capacity,
        location=location,
        description=description,
        reference=reference,
        metadata=metadata,
        payment_due_days=payment_due_days,
        payment_due_days_before=payment_due_days_before,
        release_unpaid=release_unpaid,
        payment_reminders=payment_reminders,
        booking_cutoff_hours=booking_cutoff_hours,
        bump_in_minutes=bump_in_minutes,
    )
    return await markets.update_market(org, market_id, fields)


@toolset.write("Email a market's vendors", destructive=False, idempotent=False, emails=True)
async def send_market_email(
    org: Org,
    market_id: MarketId,
    subject: Annotated[
        str, Stripped, Field(min_length=1, max_length=200, description="Email subject line."), EmailLine
    ],
    message: Annotated[
        str, Stripped, Field(min_length=1, max_length=10_000, description="The message, in plain text."), EmailText
    ],
    market_date_id: Annotated[
        int | None,
        Field(ge=1, le=MAX_ID, description="Only vendors booked on this date."),
    ] = None,
    dry_run: DryRun = False,
    idempotency_key: IdempotencyKey = None,
) -> MassEmailResult:
    """Email every vendor approved for a market, or those booked on one date. Preview with dry_run. The server adds
    greeting (unless the message has one) and sign-off. One vendor: send_vendor_email."""
    return await markets.send_market_email(
        org, market_id, subject=subject, message=message, market_date_id=market_date_id, dry_run=dry_run
    )
