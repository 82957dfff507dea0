"""The search as it was before the vendor text index and the ordered walks (commit c29840f), kept only as the
reference tests/services/test_search_equivalence.py compares the product's search with: it matches vendors by
scanning them and ranks every matching record. Not used by the product."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import String, and_, case, cast, func, or_, select

from market_mcp.auth import OrgContext
from market_mcp.db.functions import casefold
from market_mcp.db.tables import Application, Booking, Market, MarketDate, Order, Vendor
from market_mcp.schemas.common import MAX_ID
from market_mcp.schemas.connector import RecordKind, SearchResult, SearchResults
from market_mcp.services.connector import (
    _application_title,
    _booking_title,
    _market_date_title,
    _market_title,
    _order_title,
    _vendor_title,
    url_of,
)
from market_mcp.services.scope import like_pattern, matches, scoped

PER_KIND = 10
MAX_RESULTS = 50
EXACT, STARTS, CONTAINS = 0, 1, 2


def vendors_matching(org: OrgContext, query: str, *columns: Any) -> Any:
    columns = columns or (Vendor.business_name, Vendor.contact_name, Vendor.email)
    return scoped(org, Vendor, Vendor.id).where(matches(query, *columns))


def _number(query: str, word: str) -> int | None:
    """The id in "order 12", "order #12", "#12" or "12" (word = "order"); None if the query is not one."""
    found = re.fullmatch(rf"(?:{word}\s*)?#?\s*([1-9][0-9]{{0,17}})", query.strip(), re.IGNORECASE)
    number = int(found.group(1)) if found else None
    return number if number is not None and number <= MAX_ID else None


def _rank(query: str, *columns: Any, exact: tuple[Any, ...] = ()) -> Any:
    """SQL: EXACT when a column is the query (or an `exact` condition holds), STARTS when one starts with it,
    else CONTAINS (the row already matched somewhere). Labelled match_rank."""
    folded = query.strip().casefold()
    prefix = like_pattern(query).removeprefix("%")
    return case(
        (or_(*exact, *(casefold(c) == folded for c in columns)), EXACT),
        (or_(*(casefold(c).like(prefix, escape="\\") for c in columns)), STARTS),
        else_=CONTAINS,
    ).label("match_rank")


def _upcoming_first(org: OrgContext) -> list[Any]:
    """Order by market date: upcoming soonest first, then past most recent first."""
    upcoming = MarketDate.scheduled_at >= org.today()
    return [case((upcoming, 0), else_=1), case((upcoming, MarketDate.scheduled_at)), MarketDate.scheduled_at.desc()]  # type: ignore[attr-defined]


# Joins that also require the same organisation: a stray row pointing across organisations shows nothing.
def _vendor_of(model: Any) -> Any:
    return and_(Vendor.id == model.vendor_id, Vendor.organization_id == model.organization_id)


def _market_of(model: Any) -> Any:
    return and_(Market.id == model.market_id, Market.organization_id == model.organization_id)


def _date_of(model: Any) -> Any:
    return and_(MarketDate.id == model.market_date_id, MarketDate.organization_id == model.organization_id)


Hits = list[tuple[int, SearchResult]]


def _looks_like_a_space(query: str) -> bool:
    """Space numbers are short and have a digit ("12", "A4"): only then is every booking's space compared."""
    text = query.strip()
    return len(text) <= 12 and any(c.isdigit() for c in text)


def _hit(rank: int, kind: RecordKind, number: int, title: str) -> tuple[int, SearchResult]:
    return rank, SearchResult(id=f"{kind}:{number}", title=title, url=url_of(kind, number))


async def _markets(org: OrgContext, query: str) -> Hits:
    rank = _rank(query, Market.name, Market.slug)
    stmt = (
        scoped(org, Market, Market.id, Market.name, Market.region, Market.status, rank)
        .where(matches(query, Market.name, Market.slug, Market.region))
        .order_by(rank, casefold(Market.name), Market.id)
        .limit(PER_KIND)
    )
    rows = (await org.session.execute(stmt)).all()
    return [_hit(r.match_rank, "market", r.id, _market_title(r.name, r.region, r.status)) for r in rows]


async def _market_dates(org: OrgContext, query: str) -> Hits:
    confirmed = (
        select(func.count())
        .where(
            Booking.market_date_id == MarketDate.id,
            Booking.organization_id == MarketDate.organization_id,
            Booking.status == "confirmed",
        )
        .correlate(MarketDate)
        .scalar_subquery()
        .label("confirmed")
    )
    day_text = cast(MarketDate.scheduled_at, String)  # YYYY-MM-DD on every backend
    rank = _rank(query, Market.name, day_text)
    stmt = (
        scoped(
            org,
            MarketDate,
            MarketDate.id,
            MarketDate.scheduled_at,
            MarketDate.status,
            MarketDate.capacity,
            Market.name,
            confirmed,
            rank,
        )
        .join(Market, _market_of(MarketDate))
        .where(matches(query, Market.name, day_text))
        .order_by(rank, *_upcoming_first(org), MarketDate.id)
        .limit(PER_KIND)
    )
    rows = (await org.session.execute(stmt)).all()
    return [
        _hit(
            r.match_rank,
            "market_date",
            r.id,
            _market_date_title(r.name, r.scheduled_at, r.status, r.confirmed, r.capacity),
        )
        for r in rows
    ]


async def _vendors(org: OrgContext, query: str) -> Hits:
    rank = _rank(query, Vendor.business_name, Vendor.contact_name, Vendor.email)
    stmt = (
        scoped(org, Vendor, Vendor.id, Vendor.business_name, Vendor.email, rank)
        .where(matches(query, Vendor.business_name, Vendor.contact_name, Vendor.email))
        .order_by(rank, casefold(Vendor.business_name), Vendor.id)
        .limit(PER_KIND)
    )
    rows = (await org.session.execute(stmt)).all()
    return [_hit(r.match_rank, "vendor", r.id, _vendor_title(r.business_name, r.email)) for r in rows]


async def _applications(org: OrgContext, query: str) -> Hits:
    rank = _rank(query, Vendor.business_name, Vendor.contact_name, Vendor.email)
    stmt = (
        scoped(org, Application, Application.id, Application.status, Vendor.business_name, Market.name, rank)
        .join(Vendor, _vendor_of(Application))
        .join(Market, _market_of(Application))
        .where(Application.vendor_id.in_(vendors_matching(org, query)))
        .order_by(rank, Application.submitted_at.desc(), Application.id.desc())  # type: ignore[attr-defined, union-attr]
        .limit(PER_KIND)
    )
    rows = (await org.session.execute(stmt)).all()
    return [
        _hit(r.match_rank, "application", r.id, _application_title(r.id, r.business_name, r.name, r.status))
        for r in rows
    ]


async def _orders(org: OrgContext, query: str) -> Hits:
    number = _number(query, "order")
    by_id = (Order.id == number,) if number is not None else ()
    rank = _rank(query, Vendor.business_name, Vendor.contact_name, Vendor.email, exact=by_id)
    stmt = (
        scoped(
            org,
            Order,
            Order.id,
            Order.status,
            Order.total_cents,
            Order.amount_due_cents,
            Vendor.business_name,
            Market.name,
            rank,
        )
        .join(Vendor, _vendor_of(Order))
        .join(Market, _market_of(Order))
        .where(or_(*by_id, Order.vendor_id.in_(vendors_matching(org, query))))
        .order_by(rank, case((Order.status == "archived", 1), else_=0), Order.id.desc())  # type: ignore[union-attr]
        .limit(PER_KIND)
    )
    rows = (await org.session.execute(stmt)).all()
    return [
        _hit(
            r.match_rank,
            "order",
            r.id,
            _order_title(org, r.id, r.business_name, r.name, r.status, r.total_cents, r.amount_due_cents),
        )
        for r in rows
    ]


async def _bookings(org: OrgContext, query: str) -> Hits:
    number = _number(query, "booking")
    by_id = (Booking.id == number,) if number is not None else ()
    rank = _rank(query, Vendor.business_name, Vendor.contact_name, Booking.space_number, exact=by_id)
    by_space = (matches(query, Booking.space_number),) if _looks_like_a_space(query) else ()
    stmt = (
        scoped(
            org,
            Booking,
            Booking.id,
            Booking.status,
            Booking.space_number,
            Vendor.business_name,
            Market.name,
            MarketDate.scheduled_at,
            rank,
        )
        .join(Vendor, _vendor_of(Booking))
        .join(MarketDate, _date_of(Booking))
        .join(Market, _market_of(MarketDate))
        .where(
            or_(
                *by_id,
                *by_space,
                Booking.vendor_id.in_(vendors_matching(org, query, Vendor.business_name, Vendor.contact_name)),
            )
        )
        .order_by(rank, *_upcoming_first(org), Booking.id)
        .limit(PER_KIND)
    )
    rows = (await org.session.execute(stmt)).all()
    return [
        _hit(
            r.match_rank,
            "booking",
            r.id,
            _booking_title(r.id, r.business_name, r.name, r.scheduled_at, r.space_number, r.status),
        )
        for r in rows
    ]


async def search(org: OrgContext, query: str) -> SearchResults:
    """Records of every kind matching the query (case-insensitive, % and _ taken literally), best first."""
    hits: Hits = []
    for find in (_markets, _market_dates, _vendors, _applications, _orders, _bookings):
        hits.extend(await find(org, query))
    hits.sort(key=lambda hit: hit[0])  # stable: within a rank, the kinds keep the order above
    return SearchResults(results=[result for _, result in hits[:MAX_RESULTS]])
