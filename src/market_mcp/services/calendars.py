"""Calendar feeds (iCalendar, built with the `icalendar` package): a market's trading dates, and a vendor's booked
dates, at addresses nobody can guess.

A feed's address is /ical/<token>.ics where the token is the record (m12, v7) and an HMAC of it under the store's
key (table link_key, made by migration 0020): nothing per feed is stored, every process on the store gives the same
address, and a token for one record never opens another. Times are in the organisation's timezone (TZID, with its
VTIMEZONE); a date with no set hours is an all-day event.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar, Event
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from market_mcp.auth import OrgContext
from market_mcp.db import Database
from market_mcp.db.tables import ACTIVE_BOOKING_STATUSES, Booking, LinkKey, Market, MarketDate, Organization, Vendor
from market_mcp.errors import Invalid
from market_mcp.schemas.calendars import CalendarLink, CalendarLinks
from market_mcp.schemas.text import one_line
from market_mcp.services.scope import get_or_404, scoped

NOT_CONFIGURED = (
    "No public URL is configured, so there are no calendar addresses to give: set MARKET_MCP_PUBLIC_URL to the "
    "https:// address where `market-mcp serve --transport http` is reached (or start it with --public-url) and "
    "restart the server."
)
_TOKEN = re.compile(r"([mv])([0-9]{1,10})-([0-9a-f]{32})")
KINDS = {"m": "market", "v": "vendor"}
MOST_MARKETS = 100


async def _key(session: Any) -> bytes:
    """The store's HMAC key; made here if a store emptied by hand lost it (the migration makes it)."""
    secret = (await session.execute(select(LinkKey.secret).where(LinkKey.id == 1))).scalar_one_or_none()
    if secret is None:
        try:
            async with session.begin_nested():
                session.add(LinkKey(id=1, secret=secrets.token_hex(32)))
        except IntegrityError:  # made meanwhile by another process
            pass
        secret = (await session.execute(select(LinkKey.secret).where(LinkKey.id == 1))).scalar_one()
    return secret.encode()


def _signature(key: bytes, organization_id: int, kind: str, record_id: int) -> str:
    return hmac.new(key, f"{organization_id}:{kind}:{record_id}".encode(), hashlib.sha256).hexdigest()[:32]


def feed_url(base: str, key: bytes, organization_id: int, kind: str, record_id: int) -> str:
    return f"{base}/ical/{kind[0]}{record_id}-{_signature(key, organization_id, kind, record_id)}.ics"


async def get_calendar_links(org: OrgContext, *, market_id: int | None, vendor_id: int | None) -> CalendarLinks:
    if market_id is not None and vendor_id is not None:
        raise Invalid(
            "Pass market_id (that market's trading dates) or vendor_id (that vendor's booked dates), not both; "
            "with neither, every market's feed."
        )
    wanted: list[tuple[str, int, str]] = []
    if vendor_id is not None:
        vendor = await get_or_404(org, Vendor, vendor_id)
        wanted.append(("vendor", vendor_id, vendor.business_name))
    elif market_id is not None:
        market = await get_or_404(org, Market, market_id)
        wanted.append(("market", market_id, market.name))
    else:
        rows = await org.session.execute(
            scoped(org, Market, Market.id, Market.name).order_by(Market.name, Market.id).limit(MOST_MARKETS)
        )
        wanted += [("market", i, name) for i, name in rows.all()]
    if not org.public_url:
        return CalendarLinks(configured=False, links=[], note=NOT_CONFIGURED)
    key = await _key(org.session)
    links = [
        CalendarLink(
            kind=kind, id=i, name=one_line(name), url=feed_url(org.public_url, key, org.organization_id, kind, i)
        )
        for kind, i, name in wanted
    ]
    note = (
        "Subscribe in any calendar app (Google, Apple, Outlook) with these addresses; they update themselves. "
        "Anyone with an address can read that calendar: share a vendor's only with that vendor."
    )
    return CalendarLinks(configured=True, links=links, note=note if links else "This organisation has no markets yet.")


# ---------------------------------------------------------------- the feed itself (served by market_mcp.vendor_pages)


async def feed(db: Database, token: str) -> bytes | None:
    """The .ics for a feed token, or None for a token that names nothing (or was not signed by this store)."""
    found = _TOKEN.fullmatch(token)
    if found is None:
        return None
    kind, record_id = KINDS[found.group(1)], int(found.group(2))
    async with db.transaction() as session:
        record = await session.get(Market if kind == "market" else Vendor, record_id)
        if record is None:
            return None
        expected = _signature(await _key(session), record.organization_id, kind, record_id)
        if not hmac.compare_digest(expected, found.group(3)):
            return None
        org = await session.get(Organization, record.organization_id)
        assert org is not None
        calendar = _calendar(f"{one_line(record.name if kind == 'market' else record.business_name)}", org)
        if kind == "market":
            await _market_events(session, calendar, record, org)
        else:
            await _vendor_events(session, calendar, record, org)
        calendar.add_missing_timezones()
        return calendar.to_ical()


def _calendar(name: str, org: Organization) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//market-mcp//calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{name} ({one_line(org.name)})")
    calendar.add("x-wr-timezone", org.timezone)
    return calendar


def _event(md: MarketDate, market: Market, org: Organization, *, uid: str, summary: str, cancelled: bool) -> Event:
    from zoneinfo import ZoneInfo

    event = Event()
    event.add("uid", uid)
    event.add("summary", summary)
    tz = ZoneInfo(org.timezone)
    if md.starts_at is not None and md.ends_at is not None:
        event.add("dtstart", md.starts_at.astimezone(tz))
        event.add("dtend", md.ends_at.astimezone(tz))
    else:
        event.add("dtstart", md.scheduled_at)
        event.add("dtend", md.scheduled_at + timedelta(days=1))
    event.add("dtstamp", (md.updated_at or datetime.now(UTC)).astimezone(UTC))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if market.location:
        event.add("location", one_line(market.location))
    return event


async def _market_events(session: Any, calendar: Calendar, market: Market, org: Organization) -> None:
    rows = await session.execute(
        select(MarketDate)
        .where(MarketDate.organization_id == org.id, MarketDate.market_id == market.id)
        .order_by(MarketDate.scheduled_at)
    )
    for md in rows.scalars():
        cancelled = md.status == "cancelled"
        summary = one_line(market.name) + (" (cancelled)" if cancelled else "")
        calendar.add_component(
            _event(
                md, market, org, uid=f"market-date-{md.id}@{org.slug}.market-mcp", summary=summary, cancelled=cancelled
            )
        )


async def _vendor_events(session: Any, calendar: Calendar, vendor: Vendor, org: Organization) -> None:
    rows = await session.execute(
        select(Booking, MarketDate, Market)
        .join(MarketDate, MarketDate.id == Booking.market_date_id)
        .join(Market, Market.id == MarketDate.market_id)
        .where(
            Booking.organization_id == org.id,
            Booking.vendor_id == vendor.id,
            or_(
                Booking.status.in_(ACTIVE_BOOKING_STATUSES),  # type: ignore[attr-defined]
                and_(Booking.status == "cancelled", MarketDate.status == "cancelled"),  # the day called off
            ),
        )
        .order_by(MarketDate.scheduled_at, Booking.id)
    )
    for booking, md, market in rows.all():
        cancelled = md.status == "cancelled"
        space = f", space {one_line(booking.space_number)}" if booking.space_number else ""
        summary = f"{one_line(market.name)}{space}" + (" (cancelled)" if cancelled else "")
        calendar.add_component(
            _event(
                md, market, org, uid=f"booking-{booking.id}@{org.slug}.market-mcp", summary=summary, cancelled=cancelled
            )
        )
