"""The organisation at a glance: each answer is one aggregate query, whatever the store's size."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, select

from market_mcp.auth import OrgContext
from market_mcp.db.tables import Application, Booking, Email, Market, MarketDate, Order, Vendor, WaitlistEntry
from market_mcp.schemas.common import format_money
from market_mcp.schemas.dashboard import AttentionItem, Context, ContextMarket, Dashboard, DashboardSummary
from market_mcp.services import emails
from market_mcp.services.market_dates import local_day_bounds, next_market_date, weekday_name
from market_mcp.services.scope import scoped

SOON = timedelta(days=7)  # unpaid bookings this close to market day need chasing


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


async def _figures(org: OrgContext) -> Any:
    """Every count and sum of the dashboard and its attention list, in one statement."""
    today = org.today()
    month_start = local_day_bounds(org, today.replace(day=1))[0]
    org_id = org.organization_id
    now = org.now()
    # From the next week's dates to their confirmed bookings (an index holds each one's order), then each
    # order by id: the week's bookings, not every unpaid order's.
    soon = select(MarketDate.id).where(
        MarketDate.organization_id == org_id,
        MarketDate.scheduled_at.between(today, today + SOON),  # type: ignore[attr-defined]
    )
    still_unpaid = (
        select(Order.id)
        .where(Order.id == Booking.order_id, Order.organization_id == org_id, Order.status == "payment_pending")
        .correlate(Booking)
        .exists()
    )
    unpaid_soon = (
        select(func.count(func.distinct(Booking.order_id)))
        .where(Booking.market_date_id.in_(soon), Booking.status == "confirmed", still_unpaid)  # type: ignore[attr-defined]
        .scalar_subquery()
    )
    stmt = select(
        _count(Application, Application.organization_id == org_id, Application.status == "pending").label(
            "pending_applications"
        ),
        _count(Order, Order.organization_id == org_id, Order.status == "pending").label("pending_orders"),
        _count(Order, Order.organization_id == org_id, Order.status == "payment_pending").label("unpaid_orders"),
        _sum(Order.amount_due_cents, Order.organization_id == org_id, Order.status == "payment_pending").label(
            "money_owed_cents"
        ),
        _sum(
            Order.total_cents - Order.credit_applied_cents,
            Order.organization_id == org_id,
            Order.paid_at >= month_start,  # type: ignore[operator]
        ).label("money_taken_this_month_cents"),
        _count(
            MarketDate,
            MarketDate.organization_id == org_id,
            MarketDate.status == "scheduled",
            MarketDate.scheduled_at >= today,
        ).label("upcoming_market_dates"),
        _count(
            MarketDate,
            MarketDate.organization_id == org_id,
            MarketDate.status == "scheduled",
            MarketDate.scheduled_at < today,
        ).label("dates_to_close_out"),
        _count(Vendor, Vendor.organization_id == org_id).label("total_vendors"),
        _count(
            WaitlistEntry,
            WaitlistEntry.organization_id == org_id,
            and_(WaitlistEntry.status == "notified", WaitlistEntry.offer_expires_at > now),  # type: ignore[operator]
        ).label("open_waitlist_offers"),
        _count(Email, Email.organization_id == org_id, Email.status == "queued").label("emails_queued"),
        _count(Email, Email.organization_id == org_id, Email.status == "failed").label("emails_failed"),
        unpaid_soon.label("unpaid_soon"),
    )
    return (await org.session.execute(stmt)).one()


async def get_dashboard(org: OrgContext) -> Dashboard:
    f = await _figures(org)
    return Dashboard(
        today=org.today(),
        currency=org.currency,
        pending_applications=f.pending_applications,
        pending_orders=f.pending_orders,
        unpaid_orders=f.unpaid_orders,
        money_owed_cents=f.money_owed_cents,
        money_taken_this_month_cents=f.money_taken_this_month_cents,
        upcoming_market_dates=f.upcoming_market_dates,
        next_market_date=await next_market_date(org),
        total_vendors=f.total_vendors,
        open_waitlist_offers=f.open_waitlist_offers,
        emails_queued=f.emails_queued,
        emails_failed=f.emails_failed,
    )


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


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

    def need(count: int, what: str, tool: str, **arguments: Any) -> None:
        if count:
            attention.append(AttentionItem(what=what, count=count, tool=tool, arguments=arguments))

    need(
        f.pending_applications,
        f"{_plural(f.pending_applications, 'application')} waiting for a decision",
        "list_applications",
        status="pending",
    )
    need(f.pending_orders, f"{_plural(f.pending_orders, 'order')} to approve", "list_orders", status="pending")
    need(
        f.unpaid_soon,
        f"{_plural(f.unpaid_soon, 'unpaid order')} with a market in the next 7 days",
        "list_orders",
        status="payment_pending",
    )
    need(
        f.dates_to_close_out,
        f"{_plural(f.dates_to_close_out, 'past market date')} not closed out",
        "list_market_dates",
        date_filter="past",
        status="scheduled",
    )
    need(f.emails_failed, f"{_plural(f.emails_failed, 'email')} failed to send", "list_emails", status="failed")

    lines = []
    if nxt is None:
        lines.append("No market dates are scheduled.")
    else:
        lines.append(
            f"Next market: {nxt.market_name} {_when(nxt.scheduled_at, today)}, {nxt.confirmed_count} of "
            f"{nxt.capacity} spaces booked ({_plural(nxt.spaces_left, 'space')} left"
            + (f", {nxt.waitlist_count} on the waitlist)." if nxt.waitlist_count else ").")
        )
    lines.append(
        f"Owed: {money(f.money_owed_cents)} on {_plural(f.unpaid_orders, 'unpaid order')}; "
        f"taken this month: {money(f.money_taken_this_month_cents)}."
    )
    if attention:
        lines.append("Needs attention: " + "; ".join(item.what for item in attention) + ".")
    else:
        lines.append("Nothing needs attention today.")
    return DashboardSummary(text="\n".join(lines), attention=attention)
