"""Market dates: a market's trading days, with counts that come from the store in one query."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from market_mcp.auth import OrgContext
from market_mcp.db.functions import upsert_insert
from market_mcp.db.tables import Booking, Market, MarketDate, Vendor, WaitlistEntry
from market_mcp.db.types import utcnow
from market_mcp.errors import Conflict, Invalid, NotFound
from market_mcp.schemas.common import Page, preview_note
from market_mcp.schemas.market_dates import (
    BulkCreateResult,
    MarketDateCreated,
    MarketDateDetail,
    MarketDateOut,
    PlannedMarketDate,
    RosterEntry,
    SkippedDate,
)
from market_mcp.services import caps, ranges
from market_mcp.services.scope import columns_of, count, get_or_404, read_rows, scoped

WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MAX_BULK_DAYS = 366


def weekday_name(day: date) -> str:
    return WEEKDAYS[(day.weekday() + 1) % 7]


def _counts(now: datetime) -> dict[str, Any]:
    """Correlated aggregates for the market date in the outer query (each one index lookup)."""

    def bookings(status: str) -> Any:
        return (
            select(func.count())
            .where(Booking.market_date_id == MarketDate.id, Booking.status == status)
            .correlate(MarketDate)
            .scalar_subquery()
        )

    open_offer = and_(WaitlistEntry.status == "notified", WaitlistEntry.offer_expires_at > now)
    waitlist = (
        select(
            func.count().filter(or_(WaitlistEntry.status == "waiting", open_offer)),
        )
        .where(WaitlistEntry.market_date_id == MarketDate.id)
        .correlate(MarketDate)
        .scalar_subquery()
    )
    offers = (
        select(func.count())
        .where(WaitlistEntry.market_date_id == MarketDate.id, open_offer)
        .correlate(MarketDate)
        .scalar_subquery()
    )
    return {
        "confirmed_count": bookings("confirmed").label("confirmed_count"),
        "pending_count": bookings("pending").label("pending_count"),
        "open_offers": offers.label("open_offers"),
        "waitlist_count": waitlist.label("waitlist_count"),
    }


async def open_offers_of(org: OrgContext, date_ids: list[int]) -> dict[int, int]:
    """Open waitlist offers per date: each holds a space until it is accepted, declined or expires."""
    rows = await org.session.execute(
        scoped(org, WaitlistEntry, WaitlistEntry.market_date_id, func.count())
        .where(
            WaitlistEntry.market_date_id.in_(date_ids),  # type: ignore[attr-defined]
            WaitlistEntry.status == "notified",
            WaitlistEntry.offer_expires_at > org.now(),  # type: ignore[operator]
        )
        .group_by(WaitlistEntry.market_date_id)
    )
    return {day: n for day, n in rows.all()}


def _with_counts(org: OrgContext) -> Select[Any]:
    c = _counts(org.now())
    return scoped(org, MarketDate, *columns_of(MarketDate), Market.name.label("market_name"), *c.values()).join(
        Market, Market.id == MarketDate.market_id
    )


def local_day_bounds(org: OrgContext, day: date) -> tuple[datetime, datetime]:
    """The UTC instants at which a local calendar day starts and ends."""
    start = datetime.combine(day, time(0), tzinfo=org.tz)
    return start.astimezone(UTC), datetime.combine(day + timedelta(days=1), time(0), tzinfo=org.tz).astimezone(UTC)


@dataclass(frozen=True)
class BookingWindow:
    """When a date stops taking bookings: it opens at `opens` (its start time, else the start of its local day);
    vendors set up from `setup` (the market's bump-in before that), when a waitlist offer must have been answered;
    no new booking is taken from `closes` (the market's booking cutoff before the start), if it has one."""

    opens: datetime
    setup: datetime
    closes: datetime | None

    def offer_lapses(self, now: datetime, window: timedelta) -> datetime:
        """When an offer made now lapses: after `window`, or by the bump-in or the cutoff, whichever comes first."""
        return min(now + window, self.setup, self.closes or self.setup)


def booking_window(org: OrgContext, market: Market, md: MarketDate) -> BookingWindow:
    opens = md.starts_at or local_day_bounds(org, md.scheduled_at)[0]
    setup = opens - timedelta(minutes=market.bump_in_minutes or 0)
    closes = opens - timedelta(hours=market.booking_cutoff_hours) if market.booking_cutoff_hours else None
    return BookingWindow(opens, setup, closes)


def local_time(org: OrgContext, moment: datetime) -> str:
    """A moment as the organisation reads it: "Saturday 12 December at 15:30"."""
    return f"{moment.astimezone(org.tz):%A %d %B at %H:%M}"


def _local(moment: datetime | None, org: OrgContext) -> str | None:
    return moment.astimezone(org.tz).strftime("%H:%M") if moment else None


def _out(org: OrgContext, row: Any) -> MarketDateOut:
    md = row  # a row of _with_counts: the date's columns and its counts
    spaces_left = max(md.capacity - row.confirmed_count - row.open_offers, 0) if md.status == "scheduled" else 0
    return MarketDateOut(
        id=md.id,  # type: ignore[arg-type]
        market_id=md.market_id,
        market_name=row.market_name,
        scheduled_at=md.scheduled_at,
        weekday=weekday_name(md.scheduled_at),
        start_time=_local(md.starts_at, org),
        end_time=_local(md.ends_at, org),
        starts_at=md.starts_at,
        ends_at=md.ends_at,
        status=md.status,  # type: ignore[arg-type]
        capacity=md.capacity,
        confirmed_count=row.confirmed_count,
        pending_count=row.pending_count,
        spaces_left=spaces_left,
        waitlist_count=row.waitlist_count,
        cancelled_at=md.cancelled_at,
        cancel_reason=md.cancel_reason,
        closed_at=md.closed_at,
    )


async def upcoming_market_dates(org: OrgContext, market_id: int, *, limit: int) -> list[MarketDateOut]:
    """The market's next scheduled dates, soonest first, with their counts."""
    stmt = (
        _with_counts(org)
        .where(
            MarketDate.market_id == market_id, MarketDate.status == "scheduled", MarketDate.scheduled_at >= org.today()
        )
        .order_by(MarketDate.scheduled_at)
        .limit(limit)
    )
    return [_out(org, row) for row in await read_rows(org, stmt)]


async def next_market_date(org: OrgContext) -> MarketDateDetail | None:
    """The organisation's next scheduled date (any market), with its counts."""
    stmt = (
        _with_counts(org)
        .where(MarketDate.status == "scheduled", MarketDate.scheduled_at >= org.today())
        .order_by(MarketDate.scheduled_at, MarketDate.id)
        .limit(1)
    )
    rows = await read_rows(org, stmt)
    return await _with_mix(org, _out(org, rows[0])) if rows else None


async def _with_mix(org: OrgContext, out: MarketDateOut) -> MarketDateDetail:
    """The date with its category mix against the caps (services/caps.py), when it has one."""
    mix = (await caps.mixes(org, out.market_id, [out.id]))[out.id]
    return MarketDateDetail(**dict(out), category_mix=mix or None)


async def get_market_date(org: OrgContext, market_date_id: int) -> MarketDateDetail:
    rows = await read_rows(org, _with_counts(org).where(MarketDate.id == market_date_id))
    if not rows:
        raise NotFound(f"Market date {market_date_id} not found.")
    return await _with_mix(org, _out(org, rows[0]))


async def list_market_dates(
    org: OrgContext,
    *,
    market_id: int | None,
    date_filter: str | None,
    status: str | None,
    from_date: date | None = None,
    to_date: date | None = None,
    limit: int,
    offset: int,
) -> Page[MarketDateOut]:
    """Dates in date order; by default the upcoming ones (or, given a range, every date in it)."""
    filters: list[Any] = ranges.on_days(MarketDate.scheduled_at, from_date, to_date)
    if date_filter is None:
        date_filter = "all" if from_date or to_date else "upcoming"
    if market_id is not None:
        filters.append(MarketDate.market_id == market_id)
    if status:
        filters.append(MarketDate.status == status)
    order: list[Any] = [MarketDate.scheduled_at, MarketDate.market_id]
    if date_filter == "upcoming":
        filters.append(MarketDate.scheduled_at >= org.today())
    elif date_filter == "past":
        filters.append(MarketDate.scheduled_at < org.today())
        order = [MarketDate.scheduled_at.desc(), MarketDate.market_id]  # type: ignore[attr-defined]
    total = await count(org, scoped(org, MarketDate).where(*filters))
    stmt = _with_counts(org).where(*filters).order_by(*order, MarketDate.id).limit(limit).offset(offset)
    return Page.of([_out(org, row) for row in await read_rows(org, stmt)], total=total, limit=limit, offset=offset)


def _moments(
    org: OrgContext, day: date, start: time | None, end: time | None
) -> tuple[datetime | None, datetime | None]:
    if start and end and end <= start:
        raise Invalid(f"end_time {end:%H:%M} must be after start_time {start:%H:%M}.")

    def at(t: time | None) -> datetime | None:
        return datetime.combine(day, t.replace(tzinfo=None), tzinfo=org.tz).astimezone(UTC) if t else None

    return at(start), at(end)


def _not_in_past(org: OrgContext, name: str, day: date) -> None:
    today = org.today()
    if day < today:
        raise Invalid(
            f"{name} {day} is in the past (today is {today} in {org.timezone}); choose today or a later date."
        )


async def _existing(org: OrgContext, market_id: int, days: list[date]) -> dict[date, MarketDate]:
    if not days:
        return {}
    rows = await org.session.execute(
        scoped(org, MarketDate).where(MarketDate.market_id == market_id, MarketDate.scheduled_at.in_(days))  # type: ignore[attr-defined]
    )
    return {md.scheduled_at: md for md in rows.scalars()}


def _exists_reason(md: MarketDate) -> str:
    state = "" if md.status == "scheduled" else f" ({md.status})"
    return f"Market {md.market_id} already has a date on {md.scheduled_at}{state}: market date {md.id}"


def _what_now(md: MarketDate) -> str:
    """What can still be done with a date that is in the way, or was asked to change."""
    if md.status == "scheduled":
        return f"Use update_market_date (market_date_id={md.id}) to change it."
    if md.status == "cancelled":
        return "A cancelled date stays cancelled."
    return "It has been closed out: its attendance is final."


async def create_market_date(
    org: OrgContext,
    *,
    market_id: int,
    scheduled_at: date,
    start_time: time | None,
    end_time: time | None,
    capacity: int | None,
) -> MarketDateCreated:
    market = await get_or_404(org, Market, market_id)
    _not_in_past(org, "scheduled_at", scheduled_at)
    starts_at, ends_at = _moments(org, scheduled_at, start_time, end_time)
    existing = (await _existing(org, market_id, [scheduled_at])).get(scheduled_at)
    if existing is not None:
        another = " A market has one date a day, so choose another day." if existing.status != "scheduled" else ""
        raise Conflict(f"{_exists_reason(existing)}. {_what_now(existing)}{another}")
    md = MarketDate(
        organization_id=org.organization_id,
        market_id=market_id,
        scheduled_at=scheduled_at,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=market.capacity if capacity is None else capacity,
    )
    org.session.add(md)
    await org.session.flush()
    org.touch("market_date", md.id)  # type: ignore[arg-type]
    from market_mcp.services import seasons  # here: seasons books through orders, which needs this module first

    slot = seasons.Slot(day=scheduled_at, date_id=md.id, capacity=md.capacity, taken=0)
    booked = await seasons.book_new_dates(org, market_id, [slot], dry_run=False)
    made = await get_market_date(org, md.id)  # type: ignore[arg-type]
    return MarketDateCreated(**made.model_dump(), standing_bookings=booked or None)


def _insert_ignoring_duplicates(org: OrgContext, rows: list[dict[str, Any]]) -> Any:
    insert = upsert_insert(org.session.bind.dialect.name)  # type: ignore[union-attr]
    return (
        insert(MarketDate)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["market_id", "scheduled_at"])
        .returning(MarketDate.id, MarketDate.scheduled_at)  # type: ignore[arg-type]
    )


async def bulk_create_market_dates(
    org: OrgContext,
    *,
    market_id: int,
    start_date: date,
    end_date: date,
    day_of_week: int,
    start_time: time | None,
    end_time: time | None,
    capacity: int | None,
    dry_run: bool,
) -> BulkCreateResult:
    market = await get_or_404(org, Market, market_id)
    if end_date < start_date:
        raise Invalid(f"end_date {end_date} is before start_date {start_date}.")
    span = (end_date - start_date).days + 1
    if span > MAX_BULK_DAYS:
        raise Invalid(f"The range covers {span} days; at most {MAX_BULK_DAYS} days can be scheduled in one call.")
    _not_in_past(org, "start_date", start_date)
    _moments(org, start_date, start_time, end_time)  # validates the order of the times once

    first = start_date + timedelta(days=(day_of_week - (start_date.weekday() + 1) % 7) % 7)
    days = [first + timedelta(weeks=n) for n in range((end_date - first).days // 7 + 1)] if first <= end_date else []
    existing = await _existing(org, market_id, days)
    skipped = [SkippedDate(scheduled_at=d, reason=_exists_reason(existing[d])) for d in days if d in existing]
    wanted = [d for d in days if d not in existing]
    cap = market.capacity if capacity is None else capacity

    now = utcnow()
    rows = []
    for day in wanted:
        starts_at, ends_at = _moments(org, day, start_time, end_time)  # per day: DST moves the UTC time
        rows.append(
            dict(
                organization_id=org.organization_id,
                market_id=market_id,
                scheduled_at=day,
                starts_at=starts_at,
                ends_at=ends_at,
                capacity=cap,
                status="scheduled",
                created_at=now,
                updated_at=now,
            )
        )

    ids: dict[date, int] = {}
    if rows and not dry_run:
        inserted = (await org.session.execute(_insert_ignoring_duplicates(org, rows))).all()
        ids = {day: record_id for record_id, day in inserted}
        org.touch("market_date", *sorted(ids.values()))
        # A concurrent call may have taken a day between our read and our insert.
        for row in rows:
            if row["scheduled_at"] not in ids:
                skipped.append(SkippedDate(scheduled_at=row["scheduled_at"], reason="created by another call just now"))

    created = [
        PlannedMarketDate(
            id=ids.get(row["scheduled_at"]),
            market_id=market_id,
            scheduled_at=row["scheduled_at"],
            weekday=weekday_name(row["scheduled_at"]),
            start_time=_local(row["starts_at"], org),
            end_time=_local(row["ends_at"], org),
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            capacity=cap,
            status="scheduled",
        )
        for row in rows
        if dry_run or row["scheduled_at"] in ids
    ]
    skipped.sort(key=lambda s: s.scheduled_at)
    from market_mcp.services import seasons  # here: seasons books through orders, which needs this module first

    slots = [seasons.Slot(day=d.scheduled_at, date_id=d.id, capacity=cap, taken=0) for d in created]
    booked = await seasons.book_new_dates(org, market_id, slots, dry_run=dry_run) or None
    if dry_run:
        return BulkCreateResult(
            dry_run=True,
            note=preview_note("no market date was created"),
            would_create=created,
            would_skip=skipped,
            would_book=booked,
        )
    return BulkCreateResult(dry_run=False, created=created, skipped=skipped, standing_bookings=booked)


async def update_market_date(
    org: OrgContext,
    market_date_id: int,
    *,
    start_time: time | None,
    end_time: time | None,
    capacity: int | None,
) -> MarketDateOut:
    md = await get_or_404(org, MarketDate, market_date_id, for_update=True)
    if md.status != "scheduled":
        raise Conflict(f"Market date {md.id} is {md.status}, so it cannot be changed. {_what_now(md)}")
    counts = (await org.session.execute(_with_counts(org).where(MarketDate.id == market_date_id))).one()
    if start_time is not None or end_time is not None:
        start = start_time or (md.starts_at.astimezone(org.tz).time() if md.starts_at else None)
        end = end_time or (md.ends_at.astimezone(org.tz).time() if md.ends_at else None)
        md.starts_at, md.ends_at = _moments(org, md.scheduled_at, start, end)
    if capacity is not None:
        held = counts.confirmed_count + counts.open_offers
        if capacity < held:
            offers = f" and {counts.open_offers} open waitlist offers" if counts.open_offers else ""
            withdraw = " or withdraw offers with remove_from_waitlist" if counts.open_offers else ""
            raise Conflict(
                f"Market date {md.id} has {counts.confirmed_count} confirmed bookings{offers}; "
                f"capacity cannot go below {held}. To go lower, cancel bookings with cancel_booking{withdraw} first."
            )
        md.capacity = capacity
    md.updated_at = utcnow()
    org.session.add(md)
    await org.session.flush()
    org.touch("market_date", md.id)  # type: ignore[arg-type]
    return await get_market_date(org, market_date_id)


def _roster_order(booking: Booking, vendor: Vendor) -> tuple[Any, ...]:
    """Spaces in natural order (2 before 10, A2 before A10), unassigned last, then by vendor."""
    space = booking.space_number
    natural = [
        (0, int(part), "") if part.isascii() and part.isdigit() else (1, 0, part.casefold())
        for part in re.findall(r"[0-9]+|[^0-9]+", space or "")
    ]
    return (space is None, natural, vendor.business_name.casefold(), booking.id)


async def list_market_date_bookings(
    org: OrgContext, market_date_id: int, *, limit: int, offset: int
) -> Page[RosterEntry]:
    await get_or_404(org, MarketDate, market_date_id)
    stmt = (
        scoped(org, Booking, Booking, Vendor)
        .join(Vendor, Vendor.id == Booking.vendor_id)
        .where(Booking.market_date_id == market_date_id, Booking.status.in_(("pending", "confirmed")))  # type: ignore[attr-defined]
    )
    rows = sorted((await org.session.execute(stmt)).all(), key=lambda row: _roster_order(*row))
    total = len(rows)
    rows = rows[offset : offset + limit]
    items = [
        RosterEntry(
            booking_id=b.id,  # type: ignore[arg-type]
            status=b.status,  # type: ignore[arg-type]
            space_number=b.space_number,
            amount_cents=b.amount_cents,
            currency=org.currency,
            order_id=b.order_id,
            vendor_id=v.id,  # type: ignore[arg-type]
            business_name=v.business_name,
            contact_name=v.contact_name,
            email=v.email,
            phone=v.phone,
            category=v.category,
        )
        for b, v in rows
    ]
    return Page.of(items, total=total, limit=limit, offset=offset)
