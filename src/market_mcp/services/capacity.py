"""Capacity: a date's spaces are confirmed bookings plus open waitlist offers, never more than its capacity.

Every write that takes a space calls `check_room` inside its transaction. It locks the dates' rows
(SELECT … FOR UPDATE on PostgreSQL; on SQLite every write transaction is BEGIN IMMEDIATE, so writers
are already serialised) before counting, so two calls can never both take a date's last space.
"""

from __future__ import annotations

from sqlalchemy import func

from market_mcp.auth import OrgContext
from market_mcp.db.tables import Booking, MarketDate
from market_mcp.errors import Conflict
from market_mcp.services.market_dates import open_offers_of
from market_mcp.services.scope import scoped


async def lock_dates(org: OrgContext, date_ids: list[int]) -> dict[int, MarketDate]:
    stmt = scoped(org, MarketDate).where(MarketDate.id.in_(date_ids)).order_by(MarketDate.id).with_for_update()  # type: ignore[union-attr]
    return {md.id: md for md in (await org.session.execute(stmt)).scalars()}  # type: ignore[misc]


async def taken(org: OrgContext, date_ids: list[int]) -> dict[int, int]:
    """Spaces taken per date: confirmed bookings plus open waitlist offers (an offer holds its space)."""
    confirmed = await org.session.execute(
        scoped(org, Booking, Booking.market_date_id, func.count())
        .where(Booking.market_date_id.in_(date_ids), Booking.status == "confirmed")  # type: ignore[attr-defined]
        .group_by(Booking.market_date_id)
    )
    counts = dict.fromkeys(date_ids, 0) | {day: n for day, n in confirmed.all()}
    for day, offers in (await open_offers_of(org, date_ids)).items():
        counts[day] += offers
    return counts


def check_bookable(org: OrgContext, md: MarketDate) -> None:
    """Refuse (409) a date that is not scheduled or has passed."""
    if md.status != "scheduled":
        raise Conflict(
            f"Market date {md.id} ({md.scheduled_at}) is {md.status}, so it cannot be booked; {_another(md)}"
        )
    if md.scheduled_at < org.today():
        raise Conflict(f"Market date {md.id} ({md.scheduled_at}) has passed, so it cannot be booked; {_another(md)}")


def _another(md: MarketDate) -> str:
    return f'choose another date (list_market_dates with market_id={md.market_id}, date_filter="upcoming").'


async def spaces_left(org: OrgContext, md: MarketDate) -> int:
    """Spaces of a (locked) date nobody holds: capacity − confirmed − open offers."""
    return max(md.capacity - (await taken(org, [md.id]))[md.id], 0)  # type: ignore[index, list-item]


async def check_room(org: OrgContext, wanted: dict[int, int]) -> None:
    """Refuse (409) if any date cannot be booked or lacks room for the spaces wanted on it; locks the dates."""
    dates = await lock_dates(org, list(wanted))
    counts = await taken(org, list(wanted))
    for date_id, spaces in wanted.items():
        md = dates[date_id]
        check_bookable(org, md)
        if counts[date_id] + spaces > md.capacity:
            raise Conflict(
                f"Market date {date_id} ({md.scheduled_at}) is full: {counts[date_id]} of {md.capacity} spaces are "
                "taken. Offer the vendor a place on the waitlist with add_to_waitlist."
            )
