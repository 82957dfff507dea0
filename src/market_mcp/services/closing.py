"""Ending a market date: cancelling it (the storm) or closing it out (attendance is final)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from market_mcp.auth import OrgContext
from market_mcp.db.tables import Booking, MarketDate
from market_mcp.errors import Conflict, Invalid
from market_mcp.schemas.common import preview_note
from market_mcp.schemas.market_dates import AffectedBooking, MarketDateCancelled, MarketDateClosed
from market_mcp.services import bookings, waitlist
from market_mcp.services.market_dates import get_market_date
from market_mcp.services.scope import get_or_404, scoped


def _still_scheduled(org: OrgContext, md: MarketDate, action: str) -> None:
    if md.status == "closed":
        closed = md.closed_at.astimezone(org.tz).date() if md.closed_at else md.scheduled_at
        raise Conflict(f"Market date {md.id} ({md.scheduled_at}) was closed out on {closed}, so it cannot be {action}.")
    if md.status == "cancelled":
        raise Conflict(f"Market date {md.id} ({md.scheduled_at}) is already cancelled, so it cannot be {action}.")


def _affected(t: bookings.Target, **state: Any) -> AffectedBooking:
    """A booking of the date: as it is (a preview) or as the cancellation left it, with its money."""
    return AffectedBooking(
        booking_id=t.id,
        vendor_id=t.vendor_id,
        business_name=t.business_name,
        email=t.email,
        amount_cents=t.amount_cents,
        **state,
    )


async def cancel_market_date(
    org: OrgContext, market_date_id: int, *, reason: str | None, credit_vendors: bool, dry_run: bool
) -> MarketDateCancelled:
    md = await get_or_404(org, MarketDate, market_date_id, for_update=True)
    _still_scheduled(org, md, "cancelled")
    if md.scheduled_at < org.today():
        raise Conflict(
            f"Market date {md.id} ({md.scheduled_at}) has passed, so it cannot be cancelled; close it out with "
            "close_out_market_date."
        )
    booked = (
        await org.session.execute(
            scoped(org, Booking, Booking.id)
            .where(Booking.market_date_id == market_date_id, Booking.status.in_(bookings.ACTIVE))  # type: ignore[attr-defined]
            .order_by(Booking.id)
        )
    ).scalars()
    done = await bookings.cancel_many(
        org,
        list(booked),
        reason=reason,
        credit_source="weather" if credit_vendors else None,
        dry_run=dry_run,
        statuses=bookings.ACTIVE,
        email_kind="market_date_cancelled",
        offer_waitlist=False,
    )
    credited = sum(done.credits.values())
    if dry_run:
        waiting = await waitlist.open_count(org, market_date_id)
        return MarketDateCancelled(
            **(await get_market_date(org, market_date_id)).model_dump(),
            dry_run=True,
            currency=org.currency,
            note=preview_note(
                "the date is still scheduled; no booking was cancelled, no credit issued, no email queued"
            ),
            would_cancel=[
                _affected(t, booking_status=t.status, would_credit_cents=done.credits.get(t.id, 0))
                for t in done.cancelled
            ],
            would_credit_cents=credited,
            would_email=len(done.cancelled),
            would_close_waitlist_entries=waiting,
        )
    closed = await waitlist.close_for_date(org, market_date_id, status="removed", reason="market date cancelled")
    md.status = "cancelled"
    md.cancelled_at = md.updated_at = org.now()
    md.cancel_reason = reason
    org.session.add(md)
    await org.session.flush()
    org.touch("market_date", market_date_id)
    return MarketDateCancelled(
        **(await get_market_date(org, market_date_id)).model_dump(),
        dry_run=False,
        currency=org.currency,
        bookings=[
            _affected(t, booking_status="cancelled", was=t.status, credit_cents=done.credits.get(t.id, 0))
            for t in done.cancelled
        ],
        credits_issued_cents=credited,
        waitlist_entries_closed=closed,
    )


async def close_out_market_date(
    org: OrgContext, market_date_id: int, *, no_show_booking_ids: list[int]
) -> MarketDateClosed:
    md = await get_or_404(org, MarketDate, market_date_id, for_update=True)
    _still_scheduled(org, md, "closed out")
    today = org.today()
    if md.scheduled_at > today:
        raise Conflict(
            f"Market date {md.id} is on {md.scheduled_at}; it can be closed out only on or after its day "
            f"(today is {today} in {org.timezone}). If it will not go ahead, cancel it with cancel_market_date."
        )
    confirmed = set(
        (
            await org.session.execute(
                scoped(org, Booking, Booking.id).where(
                    Booking.market_date_id == market_date_id, Booking.status == "confirmed"
                )
            )
        ).scalars()
    )
    no_shows = sorted(set(no_show_booking_ids))
    strangers = [i for i in no_shows if i not in confirmed]
    if strangers:
        listed = ", ".join(str(i) for i in strangers)
        raise Invalid(
            f"no_show_booking_ids: {listed} {'is not a confirmed booking' if len(strangers) == 1 else 'are not confirmed bookings'} "
            f"on market date {market_date_id}; list_market_date_bookings shows its roster."
        )
    now = org.now()
    on_date = (Booking.organization_id == org.organization_id, Booking.market_date_id == market_date_id)
    await org.session.execute(
        update(Booking)
        .where(*on_date, Booking.status == "confirmed")
        .values(attended=Booking.id.not_in(no_shows), updated_at=now)  # type: ignore[union-attr]
    )
    await waitlist.close_for_date(org, market_date_id, status="expired")
    md.status = "closed"
    md.closed_at = md.updated_at = now
    org.session.add(md)
    await org.session.flush()
    org.touch("market_date", market_date_id)
    org.touch("booking", *sorted(confirmed))
    return MarketDateClosed(
        **(await get_market_date(org, market_date_id)).model_dump(),
        attended_count=len(confirmed) - len(no_shows),
        no_show_count=len(no_shows),
        no_show_booking_ids=no_shows,
    )
