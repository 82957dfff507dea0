"""Seasons and standing bookings: a market's seasons, regulars booked on every date of one (or every second week),
dates scheduled later booked for them too, and a season rolled over to the next.

A standing booking books through orders.open_order and orders.approve, so every check an order has applies; it
books one order per calendar month (the billing period) and never overbooks: room on every date is read in one
set-based query (capacity.taken) and a full date is skipped and reported, not refused.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy import and_, func

from market_mcp.auth import OrgContext
from market_mcp.db.functions import upsert_insert
from market_mcp.db.tables import (
    ACTIVE_BOOKING_STATUSES,
    Booking,
    Market,
    MarketDate,
    Order,
    Season,
    StandingBooking,
    Vendor,
)
from market_mcp.db.types import utcnow
from market_mcp.errors import Conflict, Invalid
from market_mcp.schemas.common import Page, plural, preview_note
from market_mcp.schemas.seasons import (
    DateSkipped,
    RolledDate,
    RollOverResult,
    SeasonOut,
    StandingBooked,
    StandingBookingEnded,
    StandingBookingOut,
    StandingBookingResult,
)
from market_mcp.schemas.text import quoted
from market_mcp.services import applications, bookings, capacity, market_dates, orders, site
from market_mcp.services.scope import count, get_or_404, scoped

MAX_SEASON_DAYS = 366
YEAR_WEEKS = 52  # a roll-over moves a season 52 weeks on: a year less a day, so every date keeps its weekday
FULL = "full: add_to_waitlist"
HELD = "already booked"


# ---------------------------------------------------------------- seasons


def _check_range(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise Invalid(f"ends_on {ends_on} is before starts_on {starts_on}; a season ends on or after its first day.")
    days = (ends_on - starts_on).days + 1
    if days > MAX_SEASON_DAYS:
        raise Invalid(
            f"The season covers {days} days; a season is at most {MAX_SEASON_DAYS} days (starts_on to ends_on)."
        )


async def _check_free(
    org: OrgContext, market_id: int, name: str, starts_on: date, ends_on: date, *, but: int | None
) -> None:
    """Refuse (409) a name the market's seasons already use, or a range one of them overlaps."""
    others = scoped(org, Season).where(Season.market_id == market_id, Season.id != (but or 0))
    overlap = (
        (
            await org.session.execute(
                others.where(Season.starts_on <= ends_on, Season.ends_on >= starts_on).order_by(Season.starts_on)
            )
        )
        .scalars()
        .first()
    )
    if overlap is not None:
        raise Conflict(
            f"Season {overlap.id} ({quoted(overlap.name)}, {overlap.starts_on} to {overlap.ends_on}) overlaps "
            f"{starts_on} to {ends_on}; a market's seasons cannot overlap. Choose other dates, or change that season "
            f"with set_season(season_id={overlap.id})."
        )
    named = (await org.session.execute(others.where(func.lower(Season.name) == name.casefold()))).scalars().first()
    if named is not None:
        raise Conflict(
            f"Market {market_id} already has a season named {quoted(named.name)} (season {named.id}); choose another "
            f"name, or change that one with set_season(season_id={named.id})."
        )


async def set_season(
    org: OrgContext, *, market_id: int, name: str, starts_on: date, ends_on: date, season_id: int | None
) -> SeasonOut:
    await get_or_404(org, Market, market_id)
    _check_range(starts_on, ends_on)
    if season_id is not None:
        season = await get_or_404(org, Season, season_id, for_update=True)
        if season.market_id != market_id:
            raise Invalid(
                f"Season {season_id} is a season of market {season.market_id}, not {market_id}; a season stays with "
                f"its market (pass market_id={season.market_id})."
            )
    await _check_free(org, market_id, name, starts_on, ends_on, but=season_id)
    now = org.now()
    if season_id is None:
        season = Season(
            organization_id=org.organization_id, market_id=market_id, name=name, starts_on=starts_on, ends_on=ends_on
        )
    else:
        season.name, season.starts_on, season.ends_on, season.updated_at = name, starts_on, ends_on, now
    org.session.add(season)
    await org.session.flush()
    org.touch("season", season.id)  # type: ignore[arg-type]
    return (await _seasons_out(org, [season]))[0]


async def list_seasons(org: OrgContext, *, market_id: int | None, limit: int, offset: int) -> Page[SeasonOut]:
    stmt = scoped(org, Season)
    if market_id is not None:
        stmt = stmt.where(Season.market_id == market_id)
    total = await count(org, stmt)
    rows = (
        await org.session.execute(
            stmt.order_by(Season.market_id, Season.starts_on, Season.id).limit(limit).offset(offset)  # type: ignore[arg-type]
        )
    ).scalars()
    return Page.of(await _seasons_out(org, list(rows)), total=total, limit=limit, offset=offset)


async def _seasons_out(org: OrgContext, seasons: list[Season]) -> list[SeasonOut]:
    """Seasons with their date counts and standing bookings: three grouped reads for a page."""
    if not seasons:
        return []
    ids = [s.id for s in seasons]
    names = dict(
        (
            await org.session.execute(
                scoped(org, Market, Market.id, Market.name).where(Market.id.in_({s.market_id for s in seasons}))  # type: ignore[union-attr]
            )
        ).all()
    )
    dated = await org.session.execute(
        scoped(org, Season, Season.id, func.count(MarketDate.id))
        .join(
            MarketDate,
            and_(
                MarketDate.market_id == Season.market_id,
                MarketDate.scheduled_at >= Season.starts_on,
                MarketDate.scheduled_at <= Season.ends_on,
            ),
        )
        .where(Season.id.in_(ids))  # type: ignore[union-attr]
        .group_by(Season.id)
    )
    date_counts = dict(dated.all())
    standing = await _standing_out(
        org,
        scoped(org, StandingBooking).where(StandingBooking.season_id.in_(ids)),  # type: ignore[attr-defined]
    )
    by_season: dict[int, list[StandingBookingOut]] = defaultdict(list)
    for season_id, out in standing:
        by_season[season_id].append(out)
    return [
        SeasonOut(
            id=s.id,  # type: ignore[arg-type]
            market_id=s.market_id,
            market_name=names[s.market_id],
            name=s.name,
            starts_on=s.starts_on,
            ends_on=s.ends_on,
            date_count=date_counts.get(s.id, 0),
            standing_bookings=by_season[s.id],  # type: ignore[index]
            created_at=s.created_at,
            updated_at=s.updated_at,
        )
        for s in seasons
    ]


async def _standing_out(org: OrgContext, which: Any) -> list[tuple[int, StandingBookingOut]]:
    """(season id, standing booking) for the standing bookings `which` selects, with the dates each holds."""
    rows = (
        await org.session.execute(
            which.add_columns(Vendor.business_name)
            .join(Vendor, Vendor.id == StandingBooking.vendor_id)
            .order_by(func.lower(Vendor.business_name), StandingBooking.id)
        )
    ).all()
    ids = [sb.id for sb, _ in rows]
    held = (
        dict(
            (
                await org.session.execute(
                    scoped(org, Booking, Order.standing_booking_id, func.count())
                    .select_from(Booking)
                    .join(Order, Order.id == Booking.order_id)
                    .where(
                        Order.standing_booking_id.in_(ids),  # type: ignore[union-attr]
                        Booking.status.in_(ACTIVE_BOOKING_STATUSES),  # type: ignore[attr-defined]
                    )
                    .group_by(Order.standing_booking_id)
                )
            ).all()
        )
        if ids
        else {}
    )
    return [
        (
            sb.season_id,
            StandingBookingOut(
                id=sb.id,
                vendor_id=sb.vendor_id,
                business_name=name,
                every_weeks=sb.every_weeks,
                first_on=sb.first_on,
                stall_type=sb.stall_type,
                add_ons=sb.add_ons,
                status=sb.status,
                dates_booked=held.get(sb.id, 0),
            ),
        )
        for sb, name in rows
    ]


async def _one_out(org: OrgContext, sb_id: int) -> StandingBookingOut:
    ((_, out),) = await _standing_out(org, scoped(org, StandingBooking).where(StandingBooking.id == sb_id))
    return out


# ---------------------------------------------------------------- planning what a standing booking books


@dataclass
class Slot:
    """A date a standing booking may book: one the market has (date_id set) or, in a preview, one to be made."""

    day: date
    date_id: int | None
    capacity: int
    taken: int
    status: str = "scheduled"
    start_time: str | None = None
    end_time: str | None = None


@dataclass
class Regular:
    """A standing booking being booked: what it is, and what planning found for it."""

    vendor_id: int
    business_name: str
    every_weeks: int
    first_on: date
    stall_type: str | None
    add_ons: list[str] | None
    standing_booking_id: int | None = None
    window: tuple[date, date] = (date.min, date.max)  # its season
    book: list[Slot] = field(default_factory=list)
    skipped: list[DateSkipped] = field(default_factory=list)
    refused: str | None = None
    order_ids: list[int] = field(default_factory=list)

    def runs_on(self, day: date) -> bool:
        if not self.window[0] <= day <= self.window[1] or day < self.first_on:
            return False
        return ((day - self.first_on).days // 7) % self.every_weeks == 0

    def out(self) -> StandingBooked:
        return StandingBooked(
            standing_booking_id=self.standing_booking_id,
            vendor_id=self.vendor_id,
            business_name=self.business_name,
            every_weeks=self.every_weeks,
            dates_booked=[slot.day for slot in self.book],
            order_ids=self.order_ids,
            skipped=self.skipped,
            refused=self.refused,
        )


async def _slots(org: OrgContext, dates: list[MarketDate]) -> list[Slot]:
    """The dates as slots, with the spaces taken on each: one grouped read for them all."""
    taken = await capacity.taken(org, [md.id for md in dates]) if dates else {}  # type: ignore[misc]
    return [
        Slot(day=md.scheduled_at, date_id=md.id, capacity=md.capacity, taken=taken[md.id], status=md.status)  # type: ignore[index]
        for md in sorted(dates, key=lambda md: md.scheduled_at)
    ]


async def _held(org: OrgContext, vendor_ids: set[int], date_ids: list[int]) -> set[tuple[int, int]]:
    """(vendor, date) pairs already booked (pending or confirmed), for every regular at once."""
    if not vendor_ids or not date_ids:
        return set()
    rows = await org.session.execute(
        scoped(org, Booking, Booking.vendor_id, Booking.market_date_id).where(
            Booking.vendor_id.in_(vendor_ids),  # type: ignore[attr-defined]
            Booking.market_date_id.in_(date_ids),  # type: ignore[attr-defined]
            Booking.status.in_(ACTIVE_BOOKING_STATUSES),  # type: ignore[attr-defined]
        )
    )
    return {(v, d) for v, d in rows.all()}


async def _plan(org: OrgContext, market: Market, regulars: list[Regular], slots: list[Slot]) -> None:
    """Decide, regular by regular in order, which slots each books; a slot's room counts what earlier regulars took.
    A vendor without an approved application books nothing (refused, saying why)."""
    today = org.today()
    held = await _held(org, {r.vendor_id for r in regulars}, [s.date_id for s in slots if s.date_id is not None])
    extra: dict[date, int] = defaultdict(int)
    vendors = (
        {
            v.id: v
            for v in (
                await org.session.execute(scoped(org, Vendor).where(Vendor.id.in_({r.vendor_id for r in regulars})))  # type: ignore[union-attr]
            ).scalars()
        }
        if regulars
        else {}
    )
    for regular in regulars:
        try:
            await applications.require_approved(org, vendors[regular.vendor_id], market.id)  # type: ignore[arg-type]
        except Conflict as refusal:
            regular.refused = str(refusal)
            continue
        for slot in slots:
            if slot.status != "scheduled" or slot.day < today or not regular.runs_on(slot.day):
                continue
            if slot.date_id is not None and (regular.vendor_id, slot.date_id) in held:
                regular.skipped.append(DateSkipped(scheduled_at=slot.day, reason=HELD))
            elif slot.taken + extra[slot.day] >= slot.capacity:
                regular.skipped.append(DateSkipped(scheduled_at=slot.day, reason=FULL))
            else:
                regular.book.append(slot)
                extra[slot.day] += 1


def _months(slots: list[Slot]) -> list[list[Slot]]:
    by_month: dict[tuple[int, int], list[Slot]] = defaultdict(list)
    for slot in slots:
        by_month[(slot.day.year, slot.day.month)].append(slot)
    return [by_month[month] for month in sorted(by_month)]


async def _book(org: OrgContext, regular: Regular, *, via: str) -> None:
    """Open and approve one order per calendar month of the regular's slots (each approval emails the vendor)."""
    assert regular.standing_booking_id is not None
    booked: list[Slot] = []
    for month in _months(regular.book):
        try:
            order = await orders.open_order(
                org,
                regular.vendor_id,
                market_date_ids=[slot.date_id for slot in month],  # type: ignore[misc]
                amount_per_date_cents=None,
                stall_type=regular.stall_type,
                add_ons=regular.add_ons,
                can_override=False,  # no override here: the reason says what to fix (a document, a cap)
            )
        except Conflict as refusal:  # an admission check open_order makes that planning does not know
            regular.skipped += [DateSkipped(scheduled_at=slot.day, reason=str(refusal)) for slot in month]
            continue
        order.standing_booking_id = regular.standing_booking_id
        await orders.approve(org, order, apply_credits=True, via=via)
        regular.order_ids.append(order.id)  # type: ignore[arg-type]
        booked += month
    regular.book = booked
    regular.skipped.sort(key=lambda s: s.scheduled_at)


def _regular(sb: StandingBooking, business_name: str, season: Season) -> Regular:
    return Regular(
        vendor_id=sb.vendor_id,
        business_name=business_name,
        every_weeks=sb.every_weeks,
        first_on=sb.first_on,
        stall_type=sb.stall_type,
        add_ons=sb.add_ons,
        standing_booking_id=sb.id,
        window=(season.starts_on, season.ends_on),
    )


def _said(regulars: list[Regular], *, dry_run: bool) -> str:
    dates = sum(len(r.book) for r in regulars)
    full = sum(1 for r in regulars for s in r.skipped if s.reason == FULL)
    refused = sum(1 for r in regulars if r.refused)
    parts = [f"{plural(dates, 'date')} {'would be' if dry_run else 'were'} booked"]
    if not dry_run:
        parts[0] += f" in {plural(sum(len(r.order_ids) for r in regulars), 'approved order')} (one per calendar month)"
    if full:
        parts.append(f"{plural(full, 'full date')} skipped (add_to_waitlist offers a place)")
    if refused:
        parts.append(f"{plural(refused, 'vendor')} refused (see refused)")
    return "; ".join(parts) + "."


# ---------------------------------------------------------------- standing bookings


async def _season_dates(org: OrgContext, season: Season, *, since: date | None = None) -> list[MarketDate]:
    stmt = scoped(org, MarketDate).where(
        MarketDate.market_id == season.market_id,
        MarketDate.scheduled_at >= max(season.starts_on, since or season.starts_on),
        MarketDate.scheduled_at <= season.ends_on,
    )
    return list((await org.session.execute(stmt.order_by(MarketDate.scheduled_at))).scalars())  # type: ignore[arg-type]


async def create_standing_booking(
    org: OrgContext,
    *,
    vendor_id: int,
    season_id: int,
    every_weeks: int,
    starts_on: date | None,
    stall_type: str | None,
    add_ons: list[str] | None,
    dry_run: bool,
) -> StandingBookingResult:
    vendor = await get_or_404(org, Vendor, vendor_id)
    season = await get_or_404(org, Season, season_id)
    market = await get_or_404(org, Market, season.market_id)
    today = org.today()
    if season.ends_on < today:
        raise Conflict(
            f"Season {season_id} ({quoted(season.name)}) ended on {season.ends_on}; book the next one "
            f"(roll_over_season with season_id={season_id} makes it)."
        )
    if starts_on is not None and not season.starts_on <= starts_on <= season.ends_on:
        raise Invalid(f"starts_on {starts_on} is outside season {season_id} ({season.starts_on} to {season.ends_on}).")
    first_on = max(starts_on or season.starts_on, today)
    await applications.require_approved(org, vendor, market.id)  # type: ignore[arg-type]
    _, stall_type, add_ons = site.price(market, stall_type, add_ons)
    existing = (
        (
            await org.session.execute(
                scoped(org, StandingBooking).where(
                    StandingBooking.season_id == season_id,
                    StandingBooking.vendor_id == vendor_id,
                    StandingBooking.status == "active",
                )
            )
        )
        .scalars()
        .first()
    )
    if existing is not None:
        raise Conflict(
            f"{quoted(vendor.business_name)} already has standing booking {existing.id} in season {season_id}; end it "
            f"with end_standing_booking(standing_booking_id={existing.id}) to book differently."
        )
    regular = Regular(
        vendor_id=vendor_id,
        business_name=vendor.business_name,
        every_weeks=every_weeks,
        first_on=first_on,
        stall_type=stall_type,
        add_ons=add_ons or None,
        window=(season.starts_on, season.ends_on),
    )
    await _plan(org, market, [regular], await _slots(org, await _season_dates(org, season, since=today)))
    if dry_run:
        return StandingBookingResult(
            dry_run=True,
            note=preview_note(
                f"no standing booking was made and nothing was booked; {_said([regular], dry_run=True).rstrip('.')}"
            ),
            would_book=regular.out(),
        )
    sb = StandingBooking(
        organization_id=org.organization_id,
        vendor_id=vendor_id,
        market_id=market.id,  # type: ignore[arg-type]
        season_id=season_id,
        every_weeks=every_weeks,
        first_on=first_on,
        stall_type=stall_type,
        add_ons=add_ons or None,
    )
    org.session.add(sb)
    await org.session.flush()
    org.touch("standing_booking", sb.id)  # type: ignore[arg-type]
    regular.standing_booking_id = sb.id
    await _book(org, regular, via="create_standing_booking")
    return StandingBookingResult(
        dry_run=False,
        note=_said([regular], dry_run=False) + " Dates scheduled in the season later are booked for them too.",
        standing_booking=await _one_out(org, sb.id),  # type: ignore[arg-type]
        booked=regular.out(),
    )


async def end_standing_booking(
    org: OrgContext, standing_booking_id: int, *, cancel_future_bookings: bool
) -> StandingBookingEnded:
    sb = await get_or_404(org, StandingBooking, standing_booking_id, for_update=True)
    if sb.status != "active":
        raise Conflict(
            f"Standing booking {standing_booking_id} already ended on {sb.ended_at:%Y-%m-%d}; its bookings are "  # type: ignore[union-attr]
            "ordinary bookings now (cancel_booking cancels one)."
        )
    sb.status, sb.ended_at = "ended", org.now()
    org.session.add(sb)
    org.touch("standing_booking", standing_booking_id)
    cancelled = 0
    if cancel_future_bookings:
        ids = (
            (
                await org.session.execute(
                    scoped(org, Booking, Booking.id)
                    .join(Order, Order.id == Booking.order_id)
                    .join(MarketDate, MarketDate.id == Booking.market_date_id)
                    .where(
                        Order.standing_booking_id == standing_booking_id,
                        Booking.status.in_(ACTIVE_BOOKING_STATUSES),  # type: ignore[attr-defined]
                        MarketDate.scheduled_at > org.today(),
                    )
                    .order_by(MarketDate.scheduled_at)
                )
            )
            .scalars()
            .all()
        )
        done = await bookings.cancel_many(
            org,
            list(ids),
            reason="Your standing booking has ended.",
            credit_source="cancellation",
            statuses=ACTIVE_BOOKING_STATUSES,
        )
        cancelled = len(done.cancelled)
    await org.session.flush()
    out = await _one_out(org, standing_booking_id)
    if cancel_future_bookings:
        note = (
            f"Ended; {plural(cancelled, 'future booking')} cancelled (paid ones credited, unpaid ones no longer "
            "charged), each vendor email queued."
        )
    else:
        note = f"Ended: no new dates are booked for it; the {plural(out.dates_booked, 'date')} it booked stay booked."
    return StandingBookingEnded(standing_booking=out, bookings_cancelled=cancelled, note=note)


async def book_new_dates(org: OrgContext, market_id: int, slots: list[Slot], *, dry_run: bool) -> list[StandingBooked]:
    """Book the active standing bookings of the market's seasons on dates just scheduled (or, in a dry run, about to
    be): what create_market_date and bulk_create_market_dates do for regulars."""
    if not slots:
        return []
    first, last = min(s.day for s in slots), max(s.day for s in slots)
    rows = (
        await org.session.execute(
            scoped(org, StandingBooking, StandingBooking, Season, Vendor.business_name)
            .join(Season, Season.id == StandingBooking.season_id)
            .join(Vendor, Vendor.id == StandingBooking.vendor_id)
            .where(
                StandingBooking.market_id == market_id,
                StandingBooking.status == "active",
                Season.starts_on <= last,
                Season.ends_on >= first,
            )
            .order_by(StandingBooking.id)
        )
    ).all()
    if not rows:
        return []
    regulars = [_regular(sb, name, season) for sb, season, name in rows]
    market = await get_or_404(org, Market, market_id)
    await _plan(org, market, regulars, slots)
    regulars = [r for r in regulars if r.book or r.skipped or r.refused]
    if not dry_run:
        for regular in regulars:
            await _book(org, regular, via="create_market_date")
    return [r.out() for r in regulars]


# ---------------------------------------------------------------- roll-over


def _next_name(name: str, starts_on: date) -> str:
    """Summer 2026/27 → Summer 2027/28; a name without a year gets the new first day's year."""
    shifted = re.sub(r"(?<!\d)(\d{4})(?!\d)", lambda m: str(int(m.group(1)) + 1), name)
    shifted = re.sub(r"(?<=\d{4}/)(\d{2})(?!\d)", lambda m: f"{(int(m.group(1)) + 1) % 100:02d}", shifted)
    return shifted if shifted != name else f"{name} {starts_on.year}"


def _local_time(org: OrgContext, moment: Any) -> time | None:
    return moment.astimezone(org.tz).time() if moment else None


async def roll_over_season(org: OrgContext, season_id: int, *, name: str | None, dry_run: bool) -> RollOverResult:
    season = await get_or_404(org, Season, season_id)
    market = await get_or_404(org, Market, season.market_id)
    weeks = max(YEAR_WEEKS, math.ceil(((season.ends_on - season.starts_on).days + 1) / 7))
    shift = timedelta(weeks=weeks)
    starts_on, ends_on = season.starts_on + shift, season.ends_on + shift
    name = name or _next_name(season.name, starts_on)
    try:
        await _check_free(org, market.id, name, starts_on, ends_on, but=None)  # type: ignore[arg-type]
    except Conflict as refusal:  # most often: it was rolled over already
        raise Conflict(f"Season {season_id} cannot be rolled over to {starts_on} to {ends_on}: {refusal}") from None

    # The pattern: every date of this season, whatever became of it, a year on with its times and capacity.
    wanted = []
    for md in await _season_dates(org, season):
        day = md.scheduled_at + shift
        starts_at, ends_at = market_dates._moments(
            org, day, _local_time(org, md.starts_at), _local_time(org, md.ends_at)
        )
        wanted.append((day, starts_at, ends_at, md.capacity))
    existing = await market_dates._existing(org, market.id, [w[0] for w in wanted])  # type: ignore[arg-type]
    fresh = [w for w in wanted if w[0] not in existing]
    if fresh and not dry_run:
        now = utcnow()
        rows = [
            dict(
                organization_id=org.organization_id,
                market_id=market.id,
                scheduled_at=day,
                starts_at=starts_at,
                ends_at=ends_at,
                capacity=cap,
                status="scheduled",
                created_at=now,
                updated_at=now,
            )
            for day, starts_at, ends_at, cap in fresh
        ]
        insert = upsert_insert(org.session.bind.dialect.name)  # type: ignore[union-attr]
        made = await org.session.execute(
            insert(MarketDate)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["market_id", "scheduled_at"])
            .returning(MarketDate.id)  # type: ignore[arg-type]
        )
        org.touch("market_date", *sorted(made.scalars().all()))
        existing_now = await market_dates._existing(org, market.id, [w[0] for w in wanted])  # type: ignore[arg-type]
    else:
        existing_now = existing
    taken = await capacity.taken(org, [md.id for md in existing_now.values()]) if existing_now else {}  # type: ignore[misc]
    slots, dates = [], []
    for day, starts_at, ends_at, cap in wanted:
        md = existing_now.get(day)
        old = existing.get(day)
        slot = Slot(
            day=day,
            date_id=md.id if md else None,
            capacity=md.capacity if md else cap,
            taken=taken[md.id] if old is not None else 0,  # type: ignore[index, union-attr]
            status=md.status if md else "scheduled",
            start_time=market_dates._local(md.starts_at if md else starts_at, org),
            end_time=market_dates._local(md.ends_at if md else ends_at, org),
        )
        slots.append(slot)
        dates.append(
            RolledDate(
                scheduled_at=day,
                start_time=slot.start_time,
                end_time=slot.end_time,
                capacity=slot.capacity,
                market_date_id=slot.date_id,
                exists=old is not None,
            )
        )

    copies = (
        await org.session.execute(
            scoped(org, StandingBooking, StandingBooking, Vendor.business_name)
            .join(Vendor, Vendor.id == StandingBooking.vendor_id)
            .where(StandingBooking.season_id == season_id, StandingBooking.status == "active")
            .order_by(StandingBooking.id)
        )
    ).all()
    window = (starts_on, ends_on)
    regulars = [
        Regular(
            vendor_id=sb.vendor_id,
            business_name=business_name,
            every_weeks=sb.every_weeks,
            first_on=sb.first_on + shift,
            stall_type=sb.stall_type,
            add_ons=sb.add_ons,
            window=window,
        )
        for sb, business_name in copies
    ]
    await _plan(org, market, regulars, slots)

    new_id = None
    if not dry_run:
        new = Season(
            organization_id=org.organization_id,
            market_id=market.id,
            name=name,
            starts_on=starts_on,
            ends_on=ends_on,  # type: ignore[arg-type]
        )
        org.session.add(new)
        await org.session.flush()
        new_id = new.id
        org.touch("season", new.id)  # type: ignore[arg-type]
        copied = [
            dict(
                organization_id=org.organization_id,
                vendor_id=r.vendor_id,
                market_id=market.id,
                season_id=new.id,
                every_weeks=r.every_weeks,
                first_on=r.first_on,
                stall_type=r.stall_type,
                add_ons=r.add_ons,
                status="active",
                created_at=org.now(),
            )
            for r in regulars
            if r.refused is None
        ]
        if copied:
            table = StandingBooking.__table__  # type: ignore[attr-defined]
            made_ids = await org.session.execute(table.insert().values(copied).returning(table.c.id, table.c.vendor_id))
            ids = {vendor_id: sb_id for sb_id, vendor_id in made_ids.all()}
            org.touch("standing_booking", *sorted(ids.values()))
            for regular in regulars:
                if regular.refused is None:
                    regular.standing_booking_id = ids[regular.vendor_id]
                    await _book(org, regular, via="roll_over_season")
    for regular in regulars:
        if regular.refused:
            regular.refused += " Not copied to the new season."
    new_dates = sum(1 for d in dates if not d.exists)
    made = (
        f"season {quoted(name)} ({starts_on} to {ends_on}, {weeks} weeks on), {plural(new_dates, 'new date')} "
        f"({len(dates) - new_dates} already scheduled, reused), {plural(sum(1 for r in regulars if not r.refused), 'standing booking')}"
    )
    fees = "Fees and stall types are the market's own, so they carry over as they are."
    said = _said(regulars, dry_run=dry_run)
    note = (
        preview_note(f"nothing was created; it would make {made}, and {said.rstrip('.')}") + f" {fees}"
        if dry_run
        else f"Made {made}; {said} {fees}"
    )
    booked = [r.out() for r in regulars]
    shape = dict(name=name, starts_on=starts_on, ends_on=ends_on, shifted_weeks=weeks)
    if dry_run:
        return RollOverResult(dry_run=True, note=note, **shape, would_schedule=dates, would_book=booked)
    return RollOverResult(dry_run=False, note=note, **shape, season_id=new_id, dates=dates, standing_bookings=booked)
