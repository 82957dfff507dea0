"""The organisation at a glance: each answer is one query of running totals (market_mcp.db.totals), whatever the
store's size."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import BigInteger, and_, cast, func, select

from market_mcp.auth import OrgContext
from market_mcp.db.tables import ACTIVE_BOOKING_STATUSES, Booking, Email, Market, MarketDate, OrgTotal, WaitlistEntry
from market_mcp.schemas.common import format_money, plural
from market_mcp.schemas.dashboard import (
    AttentionItem,
    Call,
    Context,
    ContextMarket,
    Dashboard,
    DashboardSummary,
    SeasonDate,
)
from market_mcp.schemas.text import one_line
from market_mcp.services import caps, emails, vendor_links
from market_mcp.services.market_dates import next_market_date, weekday_name
from market_mcp.services.scope import scoped

SOON = timedelta(days=7)  # unpaid bookings this close to market day need chasing
SEASON = 12  # coming dates the dashboard shows with their fill


async def get_context(org: OrgContext, *, toolsets: list[str]) -> Context:
    markets = await org.session.execute(
        scoped(org, Market, Market.id, Market.name, Market.status).order_by(Market.name)
    )
    return Context(
        organization_name=org.organization_name,
        organization_slug=org.organization_slug,
        currency=org.currency,
        timezone=org.timezone,
        today=org.today(),
        token_name=org.token_name,
        scope=org.scope,  # type: ignore[arg-type]
        markets=[ContextMarket(id=i, name=n, status=s) for i, n, s in markets.all()],
        toolsets=toolsets,
        email_delivery=emails.delivery(org),
    )


def _count(model: Any, *where: Any) -> Any:
    return select(func.count()).select_from(model).where(*where).scalar_subquery()


def _sum(column: Any, *where: Any) -> Any:
    return select(func.coalesce(func.sum(column), 0)).where(*where).scalar_subquery()


def _total(org: OrgContext, name: str, *where: Any) -> Any:
    """A running total (market_mcp.db.totals): the sum of its rows, a handful whatever the history."""
    return cast(
        _sum(
            OrgTotal.value,
            OrgTotal.organization_id == org.organization_id,
            OrgTotal.name == name,
            *(where or (OrgTotal.bucket == "",)),
        ),
        BigInteger,
    )  # PostgreSQL's SUM of bigint is numeric


def _day(day: date) -> str:
    return day.isoformat()


async def _figures(org: OrgContext) -> Any:
    """Every count and sum of the dashboard and its attention list, in one statement of running totals."""
    today = org.today()
    org_id = org.organization_id
    now = org.now()
    upcoming = _total(org, "scheduled_dates_by_day", OrgTotal.bucket >= _day(today))
    # Unpaid orders trading in [today, today + 7]: their links with a day in the range and no earlier day in it.
    window = (_day(today), _day(today + SOON + timedelta(days=1)))
    stmt = select(
        _total(org, "pending_applications").label("pending_applications"),
        _total(org, "pending_orders").label("pending_orders"),
        _total(org, "unpaid_orders").label("unpaid_orders"),
        _total(org, "money_owed_cents").label("money_owed_cents"),
        _total(org, "money_taken_cents", OrgTotal.bucket >= _day(today.replace(day=1))).label(
            "money_taken_this_month_cents"
        ),
        upcoming.label("upcoming_market_dates"),
        (_total(org, "scheduled_dates") - upcoming).label("dates_to_close_out"),
        _total(org, "vendors").label("total_vendors"),
        _count(
            WaitlistEntry,
            WaitlistEntry.organization_id == org_id,
            and_(WaitlistEntry.status == "notified", WaitlistEntry.offer_expires_at > now),  # type: ignore[operator]
        ).label("open_waitlist_offers"),
        _count(Email, Email.organization_id == org_id, Email.status == "queued").label("emails_queued"),
        _count(Email, Email.organization_id == org_id, Email.status == "failed").label("emails_failed"),
        _total(
            org,
            "unpaid_soon",
            OrgTotal.bucket >= window[0],
            OrgTotal.bucket < window[1],
            func.substr(OrgTotal.bucket, 12) < window[0],
        ).label("unpaid_soon"),
    )
    return (await org.session.execute(stmt)).one()


def calls(org: OrgContext) -> dict[str, Call]:
    """For each figure, the call that lists exactly the records it counts (the tests hold them to it)."""
    today = org.today()

    def call(tool: str, **arguments: Any) -> Call:
        return Call(tool=tool, arguments=arguments)

    unpaid = call("list_orders", status="payment_pending")
    return {
        "pending_applications": call("list_applications", status="pending"),
        "pending_orders": call("list_orders", status="pending"),
        "unpaid_orders": unpaid,
        "money_owed_cents": unpaid,
        "unpaid_soon": call("list_orders", status="payment_pending", from_date=str(today), to_date=str(today + SOON)),
        "money_taken_this_month_cents": call("list_payments", from_date=str(today.replace(day=1)), to_date=str(today)),
        "upcoming_market_dates": call("list_market_dates", date_filter="upcoming", status="scheduled"),
        "dates_to_close_out": call("list_market_dates", date_filter="past", status="scheduled"),
        "total_vendors": call("list_vendors"),
        "open_waitlist_offers": call("list_waitlist", status="notified"),
        "emails_queued": call("list_emails", status="queued"),
        "emails_failed": call("list_emails", status="failed"),
    }


async def season(org: OrgContext, *, most: int = SEASON) -> list[SeasonDate]:
    """The next scheduled dates of every market, soonest first, each with its active bookings: one statement,
    which takes the dates in day order from the (organisation, day) index and counts bookings for those alone."""
    booked = (
        select(func.count())
        .select_from(Booking)
        .where(
            Booking.market_date_id == MarketDate.id,
            Booking.status.in_(ACTIVE_BOOKING_STATUSES),  # type: ignore[attr-defined]
        )
        .scalar_subquery()
    )
    stmt = (
        scoped(org, MarketDate, MarketDate.id, MarketDate.market_id, Market.name, MarketDate.scheduled_at)
        .add_columns(MarketDate.capacity, booked)
        .join(Market, Market.id == MarketDate.market_id)
        .where(MarketDate.status == "scheduled", MarketDate.scheduled_at >= org.today())
        .order_by(MarketDate.scheduled_at, MarketDate.id)
        .limit(most)
    )
    return [
        SeasonDate(market_date_id=i, market_id=m, market=one_line(name), date=day, booked=n, capacity=capacity)
        for i, m, name, day, capacity, n in (await org.session.execute(stmt)).all()
    ]


async def get_dashboard(org: OrgContext) -> Dashboard:
    f = await _figures(org)
    follow = calls(org)
    nxt = await next_market_date(org)
    return Dashboard(
        today=org.today(),
        currency=org.currency,
        pending_applications=f.pending_applications,
        pending_orders=f.pending_orders,
        unpaid_orders=f.unpaid_orders,
        money_owed_cents=f.money_owed_cents,
        money_taken_this_month_cents=f.money_taken_this_month_cents,
        upcoming_market_dates=f.upcoming_market_dates,
        next_market_date=nxt,
        season=await season(org),
        total_vendors=f.total_vendors,
        open_waitlist_offers=f.open_waitlist_offers,
        emails_queued=f.emails_queued,
        emails_failed=f.emails_failed,
        calls={name: c for name, c in follow.items() if name not in ("unpaid_soon", "dates_to_close_out")}
        | ({"next_market_date": Call(tool="get_market_date", arguments={"market_date_id": nxt.id})} if nxt else {}),
    )


def _when(day: date, today: date) -> str:
    if day == today:
        return "today"
    if day == today + timedelta(days=1):
        return "tomorrow"
    return f"{weekday_name(day)} {day:%-d %B}"


async def get_dashboard_summary(org: OrgContext) -> DashboardSummary:
    f = await _figures(org)
    nxt = await next_market_date(org)
    today = org.today()
    money = lambda cents: format_money(cents, org.currency)  # noqa: E731
    attention: list[AttentionItem] = []
    follow = calls(org)

    def need(figure: str, what: str) -> None:
        count = getattr(f, figure)
        if count:
            call = follow[figure]
            attention.append(AttentionItem(what=what, count=count, tool=call.tool, arguments=call.arguments))

    need("pending_applications", f"{plural(f.pending_applications, 'application')} waiting for a decision")
    need("pending_orders", f"{plural(f.pending_orders, 'order')} to approve")
    need("unpaid_soon", f"{plural(f.unpaid_soon, 'unpaid order')} with a market in the next 7 days")
    need("dates_to_close_out", f"{plural(f.dates_to_close_out, 'past market date')} not closed out")
    need("emails_failed", f"{plural(f.emails_failed, 'email')} failed to send")
    if not org.email_delivery:
        need("emails_queued", f"{plural(f.emails_queued, 'email')} queued and never sent: delivery is not set up")
    attention += await caps.mix_attention(org)  # coming dates short of a mix goal or over a cap

    lines = []
    if nxt is None:
        lines.append("No market dates are scheduled.")
    else:
        lines.append(
            f"Next market: {one_line(nxt.market_name)} {_when(nxt.scheduled_at, today)}, {nxt.confirmed_count} of "
            f"{nxt.capacity} spaces booked ({plural(nxt.spaces_left, 'space')} left"
            + (f", {nxt.waitlist_count} on the waitlist)." if nxt.waitlist_count else ").")
        )
    lines.append(
        f"Owed: {money(f.money_owed_cents)} on {plural(f.unpaid_orders, 'unpaid order')}; "
        f"taken this month: {money(f.money_taken_this_month_cents)}."
    )
    if attention:
        lines.append("Needs attention: " + "; ".join(item.what for item in attention) + ".")
    else:
        lines.append("Nothing needs attention today.")
    done = await vendor_links.recent_actions(org)
    if done:
        lines.append("Vendors, through their links: " + " ".join(done))
    return DashboardSummary(text="\n".join(lines), attention=attention, vendor_actions=done or None)
