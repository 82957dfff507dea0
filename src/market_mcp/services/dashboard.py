"""The organisation at a glance: each answer is one aggregate query, whatever the store's size."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, select

from market_mcp.auth import OrgContext
from market_mcp.db.tables import Application, Email, Market, MarketDate, Order, Vendor, WaitlistEntry
from market_mcp.schemas.common import format_money
from market_mcp.schemas.dashboard import AttentionItem, Call, Context, ContextMarket, Dashboard, DashboardSummary
from market_mcp.schemas.text import one_line
from market_mcp.services import emails, orders
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
    # The week's bookings (through the dates' index) to their orders, then each order by id: what
    # list_orders(status="payment_pending", from_date=today, to_date=today + 7) lists.
    unpaid_soon = (
        select(func.count())
        .select_from(Order)
        .where(
            Order.organization_id == org_id,
            Order.status == "payment_pending",
            Order.id.in_(orders.trading_between(org, today, today + SOON)),  # type: ignore[union-attr]
        )
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
        "money_taken_this_month_cents": call(
            "list_orders", paid_from=str(today.replace(day=1)), paid_to=str(today), include_archived=True
        ),
        "upcoming_market_dates": call("list_market_dates", date_filter="upcoming", status="scheduled"),
        "dates_to_close_out": call("list_market_dates", date_filter="past", status="scheduled"),
        "total_vendors": call("list_vendors"),
        "open_waitlist_offers": call("list_waitlist", status="notified"),
        "emails_queued": call("list_emails", status="queued"),
        "emails_failed": call("list_emails", status="failed"),
    }


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
        total_vendors=f.total_vendors,
        open_waitlist_offers=f.open_waitlist_offers,
        emails_queued=f.emails_queued,
        emails_failed=f.emails_failed,
        calls={name: c for name, c in follow.items() if name not in ("unpaid_soon", "dates_to_close_out")}
        | ({"next_market_date": Call(tool="get_market_date", arguments={"market_date_id": nxt.id})} if nxt else {}),
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
    follow = calls(org)

    def need(figure: str, what: str) -> None:
        count = getattr(f, figure)
        if count:
            call = follow[figure]
            attention.append(AttentionItem(what=what, count=count, tool=call.tool, arguments=call.arguments))

    need("pending_applications", f"{_plural(f.pending_applications, 'application')} waiting for a decision")
    need("pending_orders", f"{_plural(f.pending_orders, 'order')} to approve")
    need("unpaid_soon", f"{_plural(f.unpaid_soon, 'unpaid order')} with a market in the next 7 days")
    need("dates_to_close_out", f"{_plural(f.dates_to_close_out, 'past market date')} not closed out")
    need("emails_failed", f"{_plural(f.emails_failed, 'email')} failed to send")
    if not org.email_delivery:
        need("emails_queued", f"{_plural(f.emails_queued, 'email')} queued and never sent: delivery is not set up")

    lines = []
    if nxt is None:
        lines.append("No market dates are scheduled.")
    else:
        lines.append(
            f"Next market: {one_line(nxt.market_name)} {_when(nxt.scheduled_at, today)}, {nxt.confirmed_count} of "
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
