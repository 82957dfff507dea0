"""search and fetch: every kind of record found by what a person would type, and read back as plain text.

search runs one query per kind, each scoped to the caller's organisation and bounded (PER_KIND), and
merges them by how well they matched. Vendors are found through the vendor text index (migration 0010), and
applications, orders and bookings through their vendors, each vendor matched and ranked once per query. fetch reads through the get_* services, so a record of another
organisation is "not found" in exactly their words.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy import String, and_, case, cast, false, func, literal_column, or_, select, union_all
from sqlmodel import SQLModel

from market_mcp.auth import OrgContext
from market_mcp.db.functions import casefold, folded_like, folded_starts, id_in, unindexed
from market_mcp.db.tables import Application, Booking, Market, MarketDate, Order, Vendor
from market_mcp.errors import NotFound
from market_mcp.schemas.applications import ApplicationOut
from market_mcp.schemas.bookings import BookingOut
from market_mcp.schemas.common import MAX_ID, format_money, long_date
from market_mcp.schemas.connector import FetchedRecord, Metadata, RecordKind, SearchResult, SearchResults
from market_mcp.schemas.market_dates import MarketDateOut
from market_mcp.schemas.markets import MarketDetail
from market_mcp.schemas.orders import OrderDetail
from market_mcp.schemas.text import fenced, one_line, quoted
from market_mcp.schemas.vendors import VendorDetail
from market_mcp.services import applications, bookings, market_dates, markets, orders, vendors
from market_mcp.services.scope import label, like_pattern, matches, scoped, vendor_matches

PER_KIND = 10
MAX_RESULTS = 50

EXACT, STARTS, CONTAINS = 0, 1, 2  # how well a result matched: lower is better
OPEN_ORDERS = ("pending", "payment_pending")


def url_of(kind: RecordKind, number: int) -> str:
    """There is no web UI: a stable address for citing the record."""
    return f"market-mcp://{kind}/{number}"


# ---------------------------------------------------------------- words shared by search and fetch
# A vendor's words are quoted ("Rosa's Bakery"), an organiser's labels kept to one line (schemas/text.py).


def _moment(org: OrgContext, moment: datetime) -> str:
    local = moment.astimezone(org.tz)
    return f"{local.day} {local:%B %Y} at {local:%H:%M} ({local:%Z})"


def _market_title(name: str, region: str, status: str) -> str:
    return f"{one_line(name)} (market{', ' + one_line(region) if region else ''}, {status})"


def _market_date_title(market_name: str, day: date, status: str, confirmed: int, capacity: int) -> str:
    booked = f"{confirmed} of {capacity} booked"
    state = {"scheduled": booked, "closed": f"closed, {booked}"}.get(status, status)
    return f"{one_line(market_name)} on {long_date(day)} (market date, {state})"


def _vendor_title(business_name: str, email: str) -> str:
    return f"{quoted(business_name)} (vendor, {quoted(email)})"


def _application_title(application_id: int, business_name: str, market_name: str, status: str) -> str:
    return f"Application {application_id}: {quoted(business_name)} to {one_line(market_name)} ({status})"


def _order_title(
    org: OrgContext, order_id: int, business_name: str, market_name: str, status: str, total: int, due: int
) -> str:
    # An open order is about what is still due; a settled one about what it came to.
    money = (
        f"{format_money(due, org.currency)} due"
        if status in OPEN_ORDERS
        else f"{format_money(total, org.currency)} total"
    )
    return f"Order {order_id}: {quoted(business_name)} at {one_line(market_name)}, {money} ({status})"


def _booking_title(
    booking_id: int, business_name: str, market_name: str, day: date, space: str | None, status: str
) -> str:
    where = f", space {one_line(space)}" if space else ""
    return (
        f"Booking {booking_id}: {quoted(business_name)} at {one_line(market_name)} on {long_date(day)}{where} "
        f"({status})"
    )


# ---------------------------------------------------------------- search


def _number(query: str, word: str) -> int | None:
    """The id in "order 12", "order #12", "#12" or "12" (word = "order"); None if the query is not one."""
    found = re.fullmatch(rf"(?:{word}\s*)?#?\s*([1-9][0-9]{{0,17}})", query.strip(), re.IGNORECASE)
    number = int(found.group(1)) if found else None
    return number if number is not None and number <= MAX_ID else None


def _rank(query: str, *columns: Any) -> Any:
    """SQL: EXACT when a column is the query, STARTS when one starts with it, else CONTAINS (the row already matched
    somewhere), compared as `matches` compares (folded_like: ASCII text in C). Labelled match_rank."""
    exact = like_pattern(query).removeprefix("%").removesuffix("%")
    return case(
        (or_(*(folded_like(c, exact) for c in columns)), EXACT),
        (or_(*(folded_like(c, exact + "%") for c in columns)), STARTS),
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
RANKS = (EXACT, STARTS, CONTAINS)
# A rank's records are read through their vendors' index when the rank has at most this many vendors, else by
# walking the kind's records in the answer's order (checking each one's vendor) until PER_KIND are found.
FEW_VENDORS = 48


def _looks_like_a_space(query: str) -> bool:
    """Space numbers are short and have a digit ("12", "A4"): only then is every booking's space compared."""
    text = query.strip()
    return len(text) <= 12 and any(c.isdigit() for c in text)


def _hit(rank: int, kind: RecordKind, number: int, title: str) -> tuple[int, SearchResult]:
    return rank, SearchResult(id=f"{kind}:{number}", title=title, url=url_of(kind, number))


class _Matched:
    """The organisation's vendors matching a query, matched once (through the vendor text index) and ranked once:
    by name, contact and email (applications, orders, the vendors themselves) and by name and contact (bookings).
    Records then take their vendor's rank from their vendor_id alone (no join to vendor on the walk)."""

    def __init__(self, query: str, rows: list[Any]) -> None:
        self.query = query
        self.rows = rows  # in the vendors' answer order: rank, case-folded name, id
        self.ranked: dict[tuple[str, ...], dict[int, list[int]]] = {
            WITH_EMAIL: {rank: [] for rank in RANKS},
            NAMES: {rank: [] for rank in RANKS},
        }
        for r in rows:
            self.ranked[WITH_EMAIL][r.match_rank].append(r.id)
            if r.name_rank is not None:
                self.ranked[NAMES][r.name_rank].append(r.id)

    def among(self, which: tuple[str, ...], vendor_id: Any, *ranks: int) -> Any | None:
        """`vendor_id` is one of the vendors of these ranks: None when there are none; a list when there are few
        (the records are read through the vendor_id index), else one JSON array (the records are walked in the
        answer's order and each one's vendor_id looked up in it)."""
        ids = sorted(i for rank in ranks for i in self.ranked[which][rank])
        if not ids:
            return None
        return vendor_id.in_(ids) if len(ids) <= FEW_VENDORS else id_in(vendor_id, ids)

    def walks(self, which: tuple[str, ...], rank: int) -> bool:
        """Whether `among` this rank's vendors is a walk (many vendors)."""
        return len(self.ranked[which][rank]) > FEW_VENDORS


WITH_EMAIL = ("business_name", "contact_name", "email")
NAMES = ("business_name", "contact_name")


def _any(*conditions: Any | None) -> Any:
    found = [c for c in conditions if c is not None]
    return or_(*found) if found else false()


async def _matched_vendors(org: OrgContext, query: str) -> _Matched:
    """The matching vendors in their answer's order, each ranked here from its case-folded text as the backend
    folds it (casefold: lower() on PostgreSQL), as _rank would rank it in SQL."""
    columns = tuple(getattr(Vendor, c) for c in WITH_EMAIL)
    stmt = (
        scoped(org, Vendor, Vendor.id, Vendor.business_name, Vendor.email, *(casefold(c) for c in columns))
        .where(vendor_matches(query, *columns))
        .order_by(casefold(Vendor.business_name), Vendor.id)
    )
    folded = query.strip().casefold()

    def rank(texts: list[str]) -> int:
        if folded in texts:
            return EXACT
        return STARTS if any(t.startswith(folded) for t in texts) else CONTAINS

    rows = []
    for vendor_id, business_name, email, *texts in (await org.session.execute(stmt)).all():
        names = [t for t in texts[:2] if t is not None]
        name_rank = rank(names) if any(folded in t for t in names) else None
        rows.append(_Vendor(vendor_id, business_name, email, rank([t for t in texts if t is not None]), name_rank))

    rows.sort(key=lambda r: r.match_rank)  # stable: by name, then id, within a rank
    return _Matched(query, rows)


class _Vendor(NamedTuple):
    id: int
    business_name: str
    email: str
    match_rank: int | None
    name_rank: int | None


def _vendor_name(model: Any) -> Any:
    """The record's vendor's business name, NULL if the vendor is not of the record's organisation: a lookup per
    record read, not a join (a join lets SQLite build a Bloom filter over every vendor before the walk)."""
    return select(Vendor.business_name).where(_vendor_of(model)).correlate(model).scalar_subquery()


async def _walks(org: OrgContext, arms: list[list[Any]]) -> list[Any]:
    """Each arm (a select with its own ORDER BY and LIMIT, walking an index in the answer's order) as one
    statement, UNION ALL of them; a record found by two arms once."""
    selects = [arm for found in arms for arm in found]
    if not selects:
        return []
    subqueries = [arm.subquery() for arm in selects]
    stmt = union_all(*(select(*s.c) for s in subqueries)) if len(subqueries) > 1 else select(*subqueries[0].c)
    seen: set[int] = set()
    rows = []
    for row in (await org.session.execute(stmt)).all():
        if row.id not in seen:
            seen.add(row.id)
            rows.append(row)
    return rows


def _arm(stmt: Any, rank: int, candidates: list[Any | None], *conditions: Any) -> list[Any]:
    """`stmt` (ordered, limited) for the records of one rank: those among `candidates` for which `conditions`
    hold, one select per candidate (each a condition one index answers, or a walk: an OR of the two would read
    neither way); none for a candidate that is None."""
    tagged = stmt.add_columns(literal_column(str(rank)).label("match_rank"))
    # The record's vendor is of its organisation (business_name not NULL): checked last, on the records that
    # passed the rest (SQLite evaluates the terms in this order).
    vendor = next(c for c in stmt.selected_columns if c.key == "business_name")
    return [tagged.where(c, *conditions, vendor.is_not(None)) for c in candidates if c is not None]


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


def _may_be_a_day(query: str) -> bool:
    """A date's text (YYYY-MM-DD) can contain the query only if the query is digits and dashes."""
    text = query.strip()
    return bool(text) and all(c in "0123456789-" for c in text)


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
    texts = (Market.name, day_text) if _may_be_a_day(query) else (Market.name,)
    rank = _rank(query, *texts)
    found = (
        scoped(org, MarketDate, MarketDate.id, rank)
        .join(Market, _market_of(MarketDate))
        .where(matches(query, *texts))
        .order_by(rank, *_upcoming_first(org), MarketDate.id)
        .limit(PER_KIND)
        .subquery()
    )
    stmt = (
        select(
            MarketDate.id,
            MarketDate.scheduled_at,
            MarketDate.status,
            MarketDate.capacity,
            Market.name,
            confirmed,
            found.c.match_rank,
        )
        .join(found, found.c.id == MarketDate.id)
        .join(Market, Market.id == MarketDate.market_id)
    )
    rows = list((await org.session.execute(stmt)).all())
    # found's order, restored: rank, upcoming soonest first, then past most recent first, id
    today = org.today()
    rows.sort(key=lambda r: (r.match_rank, *_date_key(r.scheduled_at, today), r.id))
    return [
        _hit(
            r.match_rank,
            "market_date",
            r.id,
            _market_date_title(r.name, r.scheduled_at, r.status, r.confirmed, r.capacity),
        )
        for r in rows
    ]


def _date_key(day: date, today: date) -> tuple[int, int]:
    return (0, day.toordinal()) if day >= today else (1, -day.toordinal())


def _vendors(org: OrgContext, matched: _Matched) -> Hits:
    return [
        _hit(r.match_rank, "vendor", r.id, _vendor_title(r.business_name, r.email)) for r in matched.rows[:PER_KIND]
    ]


async def _applications(org: OrgContext, matched: _Matched) -> Hits:
    vendor = _vendor_name(Application)
    base = (
        scoped(org, Application, Application.id, Application.status, Application.submitted_at)
        .add_columns(vendor.label("business_name"), Market.name)
        .join(Market, _market_of(Application))
        .order_by(Application.submitted_at.desc(), Application.id.desc())  # type: ignore[attr-defined, union-attr]
        .limit(PER_KIND)
    )
    arms = [_arm(base, r, [matched.among(WITH_EMAIL, Application.vendor_id, r)]) for r in RANKS]
    rows = await _walks(org, arms)
    rows.sort(key=lambda r: r.id, reverse=True)
    rows.sort(key=lambda r: r.submitted_at, reverse=True)
    rows.sort(key=lambda r: r.match_rank)
    return [
        _hit(r.match_rank, "application", r.id, _application_title(r.id, r.business_name, r.name, r.status))
        for r in rows[:PER_KIND]
    ]


async def _orders(org: OrgContext, matched: _Matched) -> Hits:
    number = _number(matched.query, "order")
    by_id = Order.id == number if number is not None else None
    not_by_id = (Order.id != number,) if number is not None else ()
    vendor = _vendor_name(Order)
    base = (
        scoped(org, Order, Order.id, Order.status, Order.total_cents, Order.amount_due_cents)
        .add_columns(vendor.label("business_name"), Market.name)
        .join(Market, _market_of(Order))
        .order_by(Order.id.desc())  # type: ignore[union-attr]
        .limit(PER_KIND)
    )
    arms = [
        _arm(base.where(archived), EXACT, [by_id, matched.among(WITH_EMAIL, Order.vendor_id, EXACT)])
        for archived in (Order.status != "archived", Order.status == "archived")
    ] + [
        _arm(base.where(archived), r, [matched.among(WITH_EMAIL, Order.vendor_id, r)], *not_by_id)
        for r in (STARTS, CONTAINS)
        for archived in (Order.status != "archived", Order.status == "archived")
    ]
    rows = await _walks(org, arms)
    rows.sort(key=lambda r: (r.match_rank, r.status == "archived", -r.id))
    return [
        _hit(
            r.match_rank,
            "order",
            r.id,
            _order_title(org, r.id, r.business_name, r.name, r.status, r.total_cents, r.amount_due_cents),
        )
        for r in rows[:PER_KIND]
    ]


async def _bookings(org: OrgContext, matched: _Matched) -> Hits:
    query = matched.query
    number = _number(query, "booking")
    folded = query.strip().casefold()
    space = Booking.space_number
    by_id = Booking.id == number if number is not None else None
    space_is = casefold(space) == folded
    space_starts = folded_starts(space, folded)
    by_space = matches(query, space) if _looks_like_a_space(query) else None
    vendor_is = {r: matched.among(NAMES, Booking.vendor_id, r) for r in RANKS}
    rank = case(
        (_any(by_id, space_is, vendor_is[EXACT]), EXACT),
        (_any(space_starts, vendor_is[STARTS]), STARTS),
        else_=CONTAINS,
    )
    where = _any(by_id, by_space, matched.among(NAMES, Booking.vendor_id, *RANKS))
    today = org.today()
    vendor = _vendor_name(Booking)
    columns = (Booking.id, Booking.status, Booking.space_number, vendor.label("business_name"), Market.name)
    # Found through an index on bookings (id, space number, a few vendors): from the booking to its date.
    seek = (
        scoped(org, Booking, *columns, MarketDate.scheduled_at)
        .join(
            MarketDate,
            and_(
                MarketDate.id == unindexed(Booking.market_date_id),  # not each date's bookings: these bookings' dates
                MarketDate.organization_id == Booking.organization_id,
            ),
        )
        .join(Market, _market_of(MarketDate))
    )
    # Walked: the organisation's dates in order, each date's bookings (the organisation's booking index kept out).
    walk = (
        scoped(org, MarketDate, *columns, MarketDate.scheduled_at)
        .select_from(MarketDate)
        .join(
            Booking,
            and_(
                Booking.market_date_id == MarketDate.id,
                unindexed(Booking.organization_id) == MarketDate.organization_id,
            ),
        )
        .join(Market, _market_of(MarketDate))
    )

    def parts(base: Any, day: Any) -> tuple[Any, Any]:
        base = base.limit(PER_KIND)
        return (
            base.where(day >= today).order_by(day, Booking.id),
            base.where(day < today).order_by(day.desc(), Booking.id),
        )

    # A seek's bookings are few: sorted, not found by walking every date in order.
    seeks, walks = parts(seek, unindexed(MarketDate.scheduled_at)), parts(walk, MarketDate.scheduled_at)
    own = {EXACT: [by_id, space_is], STARTS: [space_starts], CONTAINS: []}
    arms = [
        _arm(part, r, [*own[r], None if matched.walks(NAMES, r) else vendor_is[r]], where, rank == r)
        for r in RANKS
        for part in seeks
    ] + [
        _arm(
            part,
            r,
            [by_space if r == CONTAINS else None, vendor_is[r] if matched.walks(NAMES, r) else None],
            where,
            rank == r,
        )
        for r in RANKS
        for part in walks
    ]
    rows = await _walks(org, arms)
    rows.sort(key=lambda r: (r.match_rank, *_date_key(r.scheduled_at, today), r.id))
    return [
        _hit(
            r.match_rank,
            "booking",
            r.id,
            _booking_title(r.id, r.business_name, r.name, r.scheduled_at, r.space_number, r.status),
        )
        for r in rows[:PER_KIND]
    ]


async def search(org: OrgContext, query: str) -> SearchResults:
    """Records of every kind matching the query (case-insensitive, % and _ taken literally), best first."""
    hits: Hits = []
    hits.extend(await _markets(org, query))
    hits.extend(await _market_dates(org, query))
    matched = await _matched_vendors(org, query)
    hits.extend(_vendors(org, matched))
    for find in (_applications, _orders, _bookings):
        hits.extend(await find(org, matched))
    hits.sort(key=lambda hit: hit[0])  # stable: within a rank, the kinds keep the order above
    return SearchResults(results=[result for _, result in hits[:MAX_RESULTS]])


# ---------------------------------------------------------------- fetch


def _lines(*lines: str | None) -> str:
    return "\n".join(line for line in lines if line is not None)


def _market_text(org: OrgContext, m: MarketDetail) -> str:
    dates = [
        f"- {long_date(d.scheduled_at)} (market date {d.id}): {d.confirmed_count} of {d.capacity} booked, "
        f"{d.pending_count} pending, {d.spaces_left} spaces left"
        for d in m.upcoming_dates
    ]
    return _lines(
        f"Market {m.id}: {one_line(m.name)}",
        f"Status: {m.status}; bookings {'open' if m.booking_enabled else 'closed'}; "
        f"waitlist offers {'sent automatically' if m.waitlist_auto_notify else 'sent by hand'}",
        f"Slug: {one_line(m.slug)}",
        f"Region: {one_line(m.region)}" if m.region else None,
        f"Type: {one_line(m.market_type)}" if m.market_type else None,
        f"Location: {one_line(m.location)}" if m.location else None,
        f"Default fee: {format_money(m.default_fee_cents, org.currency)} per date",
        f"Capacity: {m.capacity} spaces per date",
        f"Upcoming dates: {m.upcoming_dates_count}; confirmed bookings on them: {m.upcoming_confirmed_bookings}",
        *dates,
        f"Applications pending: {m.pending_applications}; approved vendors: {m.approved_vendors}",
        f"Reference: {one_line(m.reference)}" if m.reference else None,
        f"Description: {one_line(m.description)}" if m.description else None,
    )


def _market_date_text(org: OrgContext, d: MarketDateOut) -> str:
    hours = f"{d.start_time or '?'} to {d.end_time or '?'}" if d.start_time or d.end_time else None
    return _lines(
        f"Market date {d.id}: {one_line(d.market_name)} on {long_date(d.scheduled_at)}",
        f"Market: {one_line(d.market_name)} (market {d.market_id})",
        f"Status: {d.status}",
        f"Hours: {hours} local time" if hours else None,
        f"Capacity: {d.capacity}; confirmed {d.confirmed_count}; pending {d.pending_count}; "
        f"spaces left {d.spaces_left}; waitlist {d.waitlist_count}",
        f"Closed: {_moment(org, d.closed_at)}" if d.closed_at else None,
        f"Cancelled: {_moment(org, d.cancelled_at)}" if d.cancelled_at else None,
        f"Cancel reason: {one_line(d.cancel_reason)}" if d.cancel_reason else None,
    )


def _vendor_text(org: OrgContext, v: VendorDetail) -> str:
    money = partial(format_money, currency=org.currency)
    return _lines(
        f"Vendor {v.id}: {quoted(v.business_name)}",
        f"Contact: {quoted(v.contact_name)}" if v.contact_name else None,
        f"Email: {quoted(v.email)}",
        f"Phone: {quoted(v.phone)}" if v.phone else None,
        f"Category: {quoted(v.category)}" if v.category else None,
        f"Trusted: {'yes (orders approved on arrival)' if v.trusted else 'no'}",
        f"Joined: {_moment(org, v.created_at)}",
        f"Confirmed bookings: {v.total_bookings}; last attended: "
        + (long_date(v.last_attended) if v.last_attended else "never"),
        f"Credit balance: {money(v.credit_balance_cents)}",
        f"Internal notes: {v.notes_count}",
        "Recent applications:" if v.applications else None,
        *(f"- Application {a.id} to {one_line(a.market_name)}: {a.status}" for a in v.applications),
        "Recent orders:" if v.orders else None,
        *(
            f"- Order {o.id}: {money(o.total_cents)} total, {money(o.amount_due_cents)} due ({o.status})"
            for o in v.orders
        ),
        "Recent bookings:" if v.bookings else None,
        *(
            f"- Booking {b.id}: {one_line(b.market_name)} on {long_date(b.scheduled_at)}"
            + (f", space {one_line(b.space_number)}" if b.space_number else "")
            + f", {money(b.amount_cents)} ({b.status}"
            + {True: ", attended", False: ", no-show", None: ""}[b.attended]
            + ")"
            for b in v.bookings
        ),
        "Credits:" if v.credits else None,
        *(
            f"- Credit {c.id}: {money(c.remaining_cents)} left of {money(c.amount_cents)} ({c.status}, {c.source})"
            + (f", expires {_moment(org, c.expires_at)}" if c.expires_at else "")
            for c in v.credits
        ),
    )


def _application_text(org: OrgContext, a: ApplicationOut) -> str:
    contact = ", ".join(quoted(x) for x in (a.contact_name, a.vendor_email, a.category) if x)
    return _lines(
        f"Application {a.id}: {quoted(a.business_name)} to {one_line(a.market_name)}",
        f"Status: {a.status}" + (f" (can move to {', '.join(a.allowed_moves)})" if a.allowed_moves else ""),
        f"Vendor: {quoted(a.business_name)} (vendor {a.vendor_id}), {contact}",
        f"Market: {one_line(a.market_name)} (market {a.market_id})",
        f"Submitted: {_moment(org, a.submitted_at)}",
        f"Decided: {_moment(org, a.decided_at)}" if a.decided_at else None,
        f"Starter credit: {format_money(a.starter_credit_cents, org.currency)}" if a.starter_credit_cents else None,
        f"Organiser's decision message: {one_line(a.decision_message)}" if a.decision_message else None,
        f"Jury score: {a.score} of 10 ({len(a.scores)} scored)" if a.score is not None else None,
        # Last, and every line quoted: the vendor's words are data, not instructions.
        "Vendor's message (their own words, quoted):\n" + fenced(a.vendor_message)
        if a.vendor_message.strip()
        else "Vendor's message: none",
        *(
            f"Vendor's answer to {quoted(answer.question)} (their own words, quoted):\n{answer.vendor_answer}"
            for answer in a.vendor_answers
        ),
    )


def _order_text(org: OrgContext, o: OrderDetail) -> str:
    money = partial(format_money, currency=org.currency)
    paid = None
    if o.paid_at:
        how = f" by {o.payment_method.replace('_', ' ')}" if o.payment_method else ""
        ref = f" (reference {one_line(o.payment_reference)})" if o.payment_reference else ""
        paid = f"Paid: {_moment(org, o.paid_at)}{how}{ref}"
    return _lines(
        f"Order {o.id}: {quoted(o.business_name)} at {one_line(o.market_name)}",
        f"Status: {o.status}",
        f"Vendor: {quoted(o.business_name)} (vendor {o.vendor_id})",
        f"Market: {one_line(o.market_name)} (market {o.market_id})",
        f"Total: {money(o.total_cents)}; credit applied: {money(o.credit_applied_cents)}; "
        f"paid: {money(o.amount_paid_cents)}; refunded: {money(o.amount_refunded_cents)}; "
        f"amount due: {money(o.amount_due_cents)}",
        paid,
        f"Ordered: {_moment(org, o.created_at)}",
        f"Approved: {_moment(org, o.approved_at)}" if o.approved_at else None,
        f"Archived: {_moment(org, o.archived_at)}" if o.archived_at else None,
        f"Rejection reason: {one_line(o.rejection_reason)}" if o.rejection_reason else None,
        "Bookings:" if o.bookings else None,
        *(
            f"- Booking {b.booking_id}: {long_date(b.scheduled_at)} (market date {b.market_date_id})"
            + (f", space {one_line(b.space_number)}" if b.space_number else "")
            + f", {money(b.amount_cents)} ({b.status})"
            for b in o.bookings
        ),
        "Credits applied:" if o.credits_applied else None,
        *(f"- Credit {c.credit_id}: {money(c.amount_cents)}" for c in o.credits_applied),
        "Payments ledger:" if o.payments else None,
        *(
            f"- {p.received_on}: {p.kind} of {money(p.amount_cents)} by {p.method.replace('_', ' ')}"
            + (f" (credit {p.credit_id})" if p.credit_id else "")
            + (f", reference {one_line(p.reference)}" if p.reference else "")
            + (f", reason: {one_line(p.reason)}" if p.reason else "")
            for p in o.payments
        ),
    )


def _booking_text(org: OrgContext, b: BookingOut) -> str:
    attended = {True: "yes", False: "no (no-show)", None: "not recorded yet"}[b.attended]
    return _lines(
        f"Booking {b.id}: {quoted(b.business_name)} at {one_line(b.market_name)} on {long_date(b.scheduled_at)}",
        f"Status: {b.status}",
        f"Vendor: {quoted(b.business_name)} (vendor {b.vendor_id})",
        f"Market date: {long_date(b.scheduled_at)} (market date {b.market_date_id}) at {one_line(b.market_name)} "
        f"(market {b.market_id})",
        f"Space: {one_line(b.space_number) if b.space_number else 'not assigned'}",
        f"Amount: {format_money(b.amount_cents, org.currency)}",
        f"Order: order {b.order_id}" if b.order_id else "Order: none",
        f"Attended: {attended}",
        f"Cancelled: {_moment(org, b.cancelled_at)}" if b.cancelled_at else None,
        f"Cancel reason: {one_line(b.cancel_reason)}" if b.cancel_reason else None,
        f"Moved to booking {b.rebooked_to_id}" if b.rebooked_to_id else None,
    )


async def _fetch_market(org: OrgContext, number: int) -> FetchedRecord:
    m = await markets.get_market(org, number)
    return _record(
        "market",
        number,
        _market_title(m.name, m.region, m.status),
        _market_text(org, m),
        status=m.status,
        slug=m.slug,
        default_fee_cents=m.default_fee_cents,
        currency=org.currency,
        capacity=m.capacity,
        next_market_date=str(m.next_market_date) if m.next_market_date else None,
    )


async def _fetch_market_date(org: OrgContext, number: int) -> FetchedRecord:
    d = await market_dates.get_market_date(org, number)
    return _record(
        "market_date",
        number,
        _market_date_title(d.market_name, d.scheduled_at, d.status, d.confirmed_count, d.capacity),
        _market_date_text(org, d),
        status=d.status,
        market_id=d.market_id,
        scheduled_at=str(d.scheduled_at),
        capacity=d.capacity,
        confirmed_count=d.confirmed_count,
        pending_count=d.pending_count,
        spaces_left=d.spaces_left,
        waitlist_count=d.waitlist_count,
    )


async def _fetch_vendor(org: OrgContext, number: int) -> FetchedRecord:
    v = await vendors.get_vendor(org, number)
    return _record(
        "vendor",
        number,
        _vendor_title(v.business_name, v.email),
        _vendor_text(org, v),
        email=v.email,
        trusted=v.trusted,
        total_bookings=v.total_bookings,
        credit_balance_cents=v.credit_balance_cents,
        currency=org.currency,
    )


async def _fetch_application(org: OrgContext, number: int) -> FetchedRecord:
    a = await applications.get_application(org, number)
    return _record(
        "application",
        number,
        _application_title(a.id, a.business_name, a.market_name, a.status),
        _application_text(org, a),
        status=a.status,
        vendor_id=a.vendor_id,
        market_id=a.market_id,
        starter_credit_cents=a.starter_credit_cents,
        currency=org.currency,
    )


async def _fetch_order(org: OrgContext, number: int) -> FetchedRecord:
    o = await orders.get_order(org, number)
    return _record(
        "order",
        number,
        _order_title(
            org,
            o.id,
            o.business_name,
            o.market_name,
            o.status,
            o.total_cents,
            o.amount_due_cents,
        ),
        _order_text(org, o),
        status=o.status,
        vendor_id=o.vendor_id,
        market_id=o.market_id,
        total_cents=o.total_cents,
        credit_applied_cents=o.credit_applied_cents,
        amount_due_cents=o.amount_due_cents,
        currency=org.currency,
    )


async def _fetch_booking(org: OrgContext, number: int) -> FetchedRecord:
    b = await bookings.get_booking(org, number)
    return _record(
        "booking",
        number,
        _booking_title(b.id, b.business_name, b.market_name, b.scheduled_at, b.space_number, b.status),
        _booking_text(org, b),
        status=b.status,
        vendor_id=b.vendor_id,
        market_id=b.market_id,
        market_date_id=b.market_date_id,
        order_id=b.order_id,
        space_number=b.space_number,
        amount_cents=b.amount_cents,
        currency=org.currency,
    )


def _record(kind: RecordKind, number: int, title: str, text: str, **metadata: str | int | bool | None) -> FetchedRecord:
    fields: Metadata = {"kind": kind, f"{kind}_id": number, **metadata}
    return FetchedRecord(id=f"{kind}:{number}", title=title, text=text, url=url_of(kind, number), metadata=fields)


Fetcher = Callable[[OrgContext, int], Awaitable[FetchedRecord]]
FETCHERS: dict[str, tuple[type[SQLModel], Fetcher]] = {
    "market": (Market, _fetch_market),
    "market_date": (MarketDate, _fetch_market_date),
    "vendor": (Vendor, _fetch_vendor),
    "application": (Application, _fetch_application),
    "order": (Order, _fetch_order),
    "booking": (Booking, _fetch_booking),
}


async def fetch(org: OrgContext, record_id: str) -> FetchedRecord:
    """One record by its search id ("vendor:55"); 404 in the get_* tool's words if it is not the caller's."""
    kind, _, digits = record_id.partition(":")
    model, fetch_one = FETCHERS[kind]
    number = int(digits)
    if number > MAX_ID:  # no record has such an id; say so in the same words as any other missing one
        raise NotFound(f"{label(model)} {number} not found.")
    return await fetch_one(org, number)
