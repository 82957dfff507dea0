"""The waitlist: vendors waiting for a space on a market date, offered it in order of position.

An offer holds its space for 48 hours (services.capacity counts it). An offer whose window has
passed reads as expired everywhere at once; the row is moved to `expired` by the next waitlist write.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, update

from market_mcp.auth import OrgContext
from market_mcp.db.tables import Booking, Market, MarketDate, Vendor, WaitlistEntry
from market_mcp.errors import Conflict, Invalid, NotFound
from market_mcp.schemas.bookings import WaitlistOffer
from market_mcp.schemas.common import long_date
from market_mcp.schemas.text import one_line, quoted
from market_mcp.schemas.waitlist import WaitlistEntryOut, WaitlistEntryResult, WaitlistPage
from market_mcp.services import applications, capacity, caps, emails, market_dates, orders, vendor_links
from market_mcp.services.scope import count, get_or_404, scoped

OFFER_WINDOW = timedelta(hours=48)
OPEN = ("waiting", "notified")


async def expire_lapsed(org: OrgContext) -> None:
    """Move offers whose window has passed to `expired` (their spaces are free again)."""
    now = org.now()
    await org.session.execute(
        update(WaitlistEntry)
        .where(
            WaitlistEntry.organization_id == org.organization_id,
            WaitlistEntry.status == "notified",
            WaitlistEntry.offer_expires_at <= now,  # type: ignore[operator]
        )
        .values(status="expired", updated_at=now)
    )


def _status_now(org: OrgContext, entry: WaitlistEntry) -> str:
    lapsed = entry.status == "notified" and entry.offer_expires_at is not None and entry.offer_expires_at <= org.now()
    return "expired" if lapsed else entry.status


def _joined(org: OrgContext) -> Any:
    return (
        scoped(
            org,
            WaitlistEntry,
            WaitlistEntry,
            MarketDate,
            Market.name,
            Vendor.business_name,
            Vendor.email,
            Vendor.category,
        )
        .join(MarketDate, MarketDate.id == WaitlistEntry.market_date_id)
        .join(Market, Market.id == MarketDate.market_id)
        .join(Vendor, Vendor.id == WaitlistEntry.vendor_id)
    )


def _out(org: OrgContext, row: Any) -> dict[str, Any]:
    entry, md, market_name, business_name, email, category = row
    return dict(
        id=entry.id,
        status=_status_now(org, entry),
        position=entry.position,
        market_date_id=md.id,
        scheduled_at=md.scheduled_at,
        market_id=md.market_id,
        market_name=market_name,
        vendor_id=entry.vendor_id,
        business_name=business_name,
        email=email,
        category=category,
        notified_at=entry.notified_at,
        offer_expires_at=entry.offer_expires_at,
        booking_id=entry.booking_id,
        removed_reason=entry.removed_reason,
        created_at=entry.created_at,
    )


def _next_step(org: OrgContext, entry: WaitlistEntry) -> str:
    """What can be done with an entry as it is now, for a refusal that met it in another state."""
    status = _status_now(org, entry)
    if status == "waiting":
        return "Offer them the space with notify_waitlist first."
    if status == "notified":
        until = entry.offer_expires_at.astimezone(org.tz)  # type: ignore[union-attr]
        return (
            f"It holds an offer until {until:%A %d %B at %H:%M}: record their yes with accept_waitlist_offer, or "
            "free the space with remove_from_waitlist."
        )
    if status == "accepted":
        return f"They took the space: booking {entry.booking_id} (cancel_booking frees it)."
    return "To offer them a space again, put them back with add_to_waitlist (at the end), then notify_waitlist."


async def get_entry(org: OrgContext, entry_id: int, **extra: Any) -> WaitlistEntryResult:
    await get_or_404(org, WaitlistEntry, entry_id)
    row = (await org.session.execute(_joined(org).where(WaitlistEntry.id == entry_id))).one()
    return WaitlistEntryResult(**_out(org, row), **extra)


def _status_filter(org: OrgContext, statuses: list[str]) -> Any:
    """SQL for entries whose status, as read now (lapsed offers are expired), is one of these."""
    now = org.now()
    live_offer = and_(WaitlistEntry.status == "notified", WaitlistEntry.offer_expires_at > now)  # type: ignore[operator]
    lapsed = and_(WaitlistEntry.status == "notified", WaitlistEntry.offer_expires_at <= now)  # type: ignore[operator]
    clauses = [WaitlistEntry.status == s for s in statuses if s not in ("notified", "expired")]
    if "notified" in statuses:
        clauses.append(live_offer)
    if "expired" in statuses:
        clauses += [WaitlistEntry.status == "expired", lapsed]
    return or_(*clauses)


async def list_waitlist(
    org: OrgContext,
    *,
    market_id: int | None,
    market_date_id: int | None,
    status: str | None,
    category: str | None = None,
    limit: int,
    offset: int,
) -> WaitlistPage:
    """One date's waitlist in offer order (a market's next date when given only the market), or, given
    neither, every date's entries in that status, by date."""
    md: MarketDate | None = None
    if market_date_id is not None:
        md = await get_or_404(org, MarketDate, market_date_id)
        if market_id is not None and md.market_id != market_id:
            raise Invalid(
                f"market_date_id {market_date_id} is not a date of market {market_id} (list_market_dates with "
                f"market_id={market_id} gives its dates); pass one of them, or only one of the two."
            )
    elif market_id is not None:
        market = await get_or_404(org, Market, market_id)
        md = (
            await org.session.execute(
                scoped(org, MarketDate)
                .where(
                    MarketDate.market_id == market_id,
                    MarketDate.status == "scheduled",
                    MarketDate.scheduled_at >= org.today(),
                )
                .order_by(MarketDate.scheduled_at)
                .limit(1)
            )
        ).scalar_one_or_none()
        if md is None:
            raise Conflict(
                f"{one_line(market.name)} has no upcoming market dates; pass market_date_id to see an earlier date's waitlist "
                f"(list_market_dates with market_id={market_id} gives their ids)."
            )
    stmt = _joined(org).where(_status_filter(org, [status] if status else list(OPEN)))
    if category is not None:
        stmt = stmt.where(caps.vendor_key() == caps.fold(category))
    if md is not None:
        stmt = stmt.where(WaitlistEntry.market_date_id == md.id)
        order = [WaitlistEntry.position]
    else:
        order = [MarketDate.scheduled_at, WaitlistEntry.market_date_id, WaitlistEntry.position]
    total = await count(org, stmt)
    rows = (await org.session.execute(stmt.order_by(*order).limit(limit).offset(offset))).all()
    items = [WaitlistEntryOut(**_out(org, row)) for row in rows]
    return WaitlistPage.of(
        items,
        total=total,
        limit=limit,
        offset=offset,
        market_date_id=md.id if md else None,
        scheduled_at=md.scheduled_at if md else None,
        spaces_left=(await capacity.spaces_left(org, md) if md.status == "scheduled" else 0) if md else None,
    )


async def _active_booking(org: OrgContext, vendor_id: int, market_date_id: int) -> Booking | None:
    stmt = scoped(org, Booking).where(
        Booking.vendor_id == vendor_id,
        Booking.market_date_id == market_date_id,
        Booking.status.in_(("pending", "confirmed")),  # type: ignore[attr-defined]
    )
    return (await org.session.execute(stmt)).scalars().first()


async def add_to_waitlist(org: OrgContext, *, market_date_id: int, vendor_id: int) -> WaitlistEntryResult:
    md = await get_or_404(org, MarketDate, market_date_id, for_update=True)
    vendor = await get_or_404(org, Vendor, vendor_id)
    await expire_lapsed(org)
    capacity.check_bookable(org, md)
    await applications.require_approved(org, vendor, md.market_id)
    booking = await _active_booking(org, vendor_id, market_date_id)
    if booking is not None:
        raise Conflict(
            f"{quoted(vendor.business_name)} already has booking {booking.id} on market date {market_date_id}, so they need "
            "no place on its waitlist."
        )
    entry = (
        await org.session.execute(
            scoped(org, WaitlistEntry).where(
                WaitlistEntry.market_date_id == market_date_id, WaitlistEntry.vendor_id == vendor_id
            )
        )
    ).scalar_one_or_none()
    if entry is not None and entry.status in OPEN:
        offer = "; notify_waitlist offers them the space" if entry.status == "waiting" else ""
        raise Conflict(
            f"{quoted(vendor.business_name)} is already on this date's waitlist ({entry.status}, position {entry.position}, "
            f"entry {entry.id}){offer}."
        )
    last = (
        await org.session.execute(
            scoped(org, WaitlistEntry, func.max(WaitlistEntry.position)).where(
                WaitlistEntry.market_date_id == market_date_id
            )
        )
    ).scalar()
    now = org.now()
    if entry is None:  # a vendor is on a date's waitlist at most once: coming back re-joins at the end
        entry = WaitlistEntry(
            organization_id=org.organization_id, market_date_id=market_date_id, vendor_id=vendor_id, position=0
        )
    entry.position = (last or 0) + 1
    entry.status = "waiting"
    entry.notified_at = entry.offer_expires_at = None
    entry.booking_id = None
    entry.removed_reason = None
    entry.updated_at = now
    org.session.add(entry)
    await org.session.flush()
    org.touch("waitlist_entry", entry.id)  # type: ignore[arg-type]
    return await get_entry(org, entry.id)  # type: ignore[arg-type]


def _lapses(org: OrgContext, market: Market, md: MarketDate, now: datetime) -> datetime:
    """When an offer made `now` for a date lapses: in 48 hours, or before set-up starts or bookings close."""
    return market_dates.booking_window(org, market, md).offer_lapses(now, OFFER_WINDOW)


def _too_late(org: OrgContext, market: Market, md: MarketDate) -> str | None:
    """Why no offer can be made for a date any more (its answer would come after set-up starts), if so."""
    window = market_dates.booking_window(org, market, md)
    now = org.now()
    if _lapses(org, market, md, now) > now:
        return None
    if window.closes is not None and window.closes <= window.setup:
        return (
            f"bookings for it closed {market_dates.local_time(org, window.closes)} ({market.booking_cutoff_hours} "
            "hours before the start: update_market's booking_cutoff_hours)"
        )
    return (
        f"vendors set up from {market_dates.local_time(org, window.setup)}, so an offer could not be answered in "
        "time; book a vendor directly with create_order instead"
    )


async def _offer(org: OrgContext, entry: WaitlistEntry, md: MarketDate) -> WaitlistOffer:
    """Notify one waiting entry: hold a space for 48 hours (less when set-up or the booking cutoff comes sooner)
    and email the vendor."""
    now = org.now()
    market = await get_or_404(org, Market, md.market_id)
    entry.status = "notified"
    entry.notified_at = entry.updated_at = now
    entry.offer_expires_at = _lapses(org, market, md, now)
    org.session.add(entry)
    await org.session.flush()
    org.touch("waitlist_entry", entry.id)  # type: ignore[arg-type]
    vendor = await get_or_404(org, Vendor, entry.vendor_id)
    emails.email_vendor(
        org,
        vendor,
        "waitlist_offer",
        record_type="waitlist_entry",
        record_id=entry.id,
        market_name=market.name,
        day=long_date(md.scheduled_at),
        expires=f"{entry.offer_expires_at.astimezone(org.tz):%A %d %B at %H:%M}",
        link_block=vendor_links.offer_link_block(org, entry),
    )
    return WaitlistOffer(
        entry_id=entry.id,  # type: ignore[arg-type]
        vendor_id=vendor.id,  # type: ignore[arg-type]
        business_name=vendor.business_name,
        offer_expires_at=entry.offer_expires_at,
    )


async def _waiting(org: OrgContext, market_date_id: int, limit: int) -> list[WaitlistEntry]:
    """The first `limit` waiting entries in offer order, passing over vendors whose category is at its cap on the
    date (services/caps.py), so a space goes to the first who fits."""
    stmt = (
        scoped(org, WaitlistEntry)
        .where(WaitlistEntry.market_date_id == market_date_id, WaitlistEntry.status == "waiting")
        .order_by(WaitlistEntry.position)
        .with_for_update()
    )
    room = await caps.room_on(org, await get_or_404(org, MarketDate, market_date_id))
    if room is None:
        return list((await org.session.execute(stmt.limit(limit))).scalars())
    entries = list((await org.session.execute(stmt)).scalars())
    category = await caps.categories_of(org, [e.vendor_id for e in entries])
    fits = []
    for entry in entries:
        key = category.get(entry.vendor_id, "")
        if key in room:
            if room[key] <= 0:
                continue
            room[key] -= 1
        fits.append(entry)
        if len(fits) == limit:
            break
    return fits


async def _waiting_count(org: OrgContext, market_date_id: int) -> int:
    return await count(
        org,
        scoped(org, WaitlistEntry).where(
            WaitlistEntry.market_date_id == market_date_id, WaitlistEntry.status == "waiting"
        ),
    )


async def offer_freed_spaces(org: OrgContext, market_date_id: int, spaces: int) -> list[WaitlistOffer]:
    """Offer up to `spaces` freed spaces of a date to the first waiting vendors (auto-notify after cancelling)."""
    await expire_lapsed(org)
    md = (await capacity.lock_dates(org, [market_date_id]))[market_date_id]
    if md.status != "scheduled" or md.scheduled_at < org.today():
        return []
    if _too_late(org, await get_or_404(org, Market, md.market_id), md):
        return []  # the space stays free: whoever books it directly takes it
    room = min(spaces, await capacity.spaces_left(org, md))
    return [await _offer(org, entry, md) for entry in await _waiting(org, market_date_id, room)] if room > 0 else []


async def notify_waitlist(org: OrgContext, *, entry_id: int | None, market_date_id: int | None) -> WaitlistEntryResult:
    if entry_id is None and market_date_id is None:
        raise Invalid(
            "Pass entry_id (the waiting vendor to offer the space to; list_waitlist gives it) or market_date_id "
            "(to offer it to the date's first waiting vendor)."
        )
    if entry_id is not None and market_date_id is not None:
        raise Invalid(
            "Pass entry_id or market_date_id, not both: entry_id offers the space to that vendor, market_date_id to "
            "the date's first waiting vendor."
        )
    await expire_lapsed(org)
    if entry_id is not None:
        entry = await get_or_404(org, WaitlistEntry, entry_id, for_update=True)
        md = (await capacity.lock_dates(org, [entry.market_date_id]))[entry.market_date_id]
        if entry.status != "waiting":
            raise Conflict(
                f"Waitlist entry {entry_id} is {entry.status}, so it cannot be offered a space; only a waiting "
                f"entry can. {_next_step(org, entry)}"
            )
    else:
        md = (await capacity.lock_dates(org, [market_date_id])).get(market_date_id)  # type: ignore[list-item, arg-type]
        if md is None:
            raise NotFound(f"Market date {market_date_id} not found.")
        first = await _waiting(org, md.id, 1)  # type: ignore[arg-type]
        if not first and await _waiting_count(org, md.id):  # type: ignore[arg-type]
            raise Conflict(
                f"Everyone waiting for market date {market_date_id} ({md.scheduled_at}) is of a category at its cap "
                "on that date (get_market_date shows the mix); offer one the space anyway with entry_id, or raise "
                "the cap with set_category_caps."
            )
        if not first:
            raise Conflict(
                f"Nobody is waiting for market date {market_date_id} ({md.scheduled_at}); put a vendor on its "
                "waitlist with add_to_waitlist first."
            )
        entry = first[0]
    capacity.check_bookable(org, md)
    too_late = _too_late(org, await get_or_404(org, Market, md.market_id), md)
    if too_late:
        raise Conflict(f"It is too late to offer a space on market date {md.id} ({md.scheduled_at}): {too_late}.")
    left = await capacity.spaces_left(org, md)
    if left < 1:
        raise Conflict(
            f"Market date {md.id} ({md.scheduled_at}) has no space to offer: all {md.capacity} are held by confirmed "
            "bookings or open offers. Cancel a booking or raise the capacity with update_market_date first."
        )
    await _offer(org, entry, md)
    return await get_entry(org, entry.id)  # type: ignore[arg-type]


async def accept_waitlist_offer(
    org: OrgContext, entry_id: int, *, override_reason: str | None = None
) -> WaitlistEntryResult:
    entry = await get_or_404(org, WaitlistEntry, entry_id, for_update=True)
    status = _status_now(org, entry)
    if status == "expired" and entry.offer_expires_at is not None:
        expired = entry.offer_expires_at.astimezone(org.tz)  # type: ignore[union-attr]
        raise Conflict(
            f"The offer to waitlist entry {entry_id} expired on {expired:%A %d %B at %H:%M}; offer the space to the "
            "next vendor with notify_waitlist."
        )
    if status != "notified":
        raise Conflict(
            f"Waitlist entry {entry_id} is {status}, so there is no offer to accept. {_next_step(org, entry)}"
        )
    md = await get_or_404(org, MarketDate, entry.market_date_id)
    market = await get_or_404(org, Market, md.market_id)
    # The offer stops holding the space the moment it is taken up, so the order's capacity check sees it free.
    entry.status = "accepted"
    entry.updated_at = org.now()
    org.session.add(entry)
    await org.session.flush()
    order, booking_id = await orders.book_one(
        org,
        entry.vendor_id,
        md.id,  # type: ignore[arg-type]
        amount_cents=market.default_fee_cents,
        email=True,
        override_reason=override_reason,
    )
    entry.booking_id = booking_id
    org.session.add(entry)
    await org.session.flush()
    org.touch("waitlist_entry", entry_id)
    return await get_entry(org, entry_id, order_id=order.id)


async def remove_from_waitlist(org: OrgContext, entry_id: int, *, reason: str | None) -> WaitlistEntryResult:
    entry = await get_or_404(org, WaitlistEntry, entry_id, for_update=True)
    status = _status_now(org, entry)
    if status not in OPEN:
        step = f" {_next_step(org, entry)}" if status == "accepted" else ""
        raise Conflict(f"Waitlist entry {entry_id} is {status}, so it is no longer on the waitlist.{step}")
    entry.status = "removed"
    entry.removed_reason = reason
    entry.updated_at = org.now()
    org.session.add(entry)
    await org.session.flush()
    org.touch("waitlist_entry", entry_id)
    return await get_entry(org, entry_id)


async def close_for_date(org: OrgContext, market_date_id: int, *, status: str, reason: str | None = None) -> int:
    """End every open entry of a date (it was cancelled or closed out); returns how many."""
    result = await org.session.execute(
        update(WaitlistEntry)
        .where(
            WaitlistEntry.organization_id == org.organization_id,
            WaitlistEntry.market_date_id == market_date_id,
            WaitlistEntry.status.in_(OPEN),  # type: ignore[attr-defined]
        )
        .values(status=status, removed_reason=reason, updated_at=org.now())
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def open_count(org: OrgContext, market_date_id: int) -> int:
    """Entries close_for_date would end: what a dry run of cancelling the date reports."""
    return await count(
        org,
        scoped(org, WaitlistEntry).where(
            WaitlistEntry.market_date_id == market_date_id,
            WaitlistEntry.status.in_(OPEN),  # type: ignore[attr-defined]
        ),
    )
