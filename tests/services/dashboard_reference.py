"""The dashboard's figures computed from scratch: the aggregate query it ran before running totals (migration
0012), kept as the reference its totals are held to (money taken: from the payments ledger since migration 0013)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, or_, select

from market_mcp.auth import OrgContext
from market_mcp.db.tables import Application, Email, MarketDate, Order, Payment, Vendor, WaitlistEntry
from market_mcp.services import orders
from market_mcp.services.dashboard import SOON


def _count(model: Any, *where: Any) -> Any:
    return select(func.count()).select_from(model).where(*where).scalar_subquery()


def _sum(column: Any, *where: Any) -> Any:
    return select(func.coalesce(func.sum(column), 0)).where(*where).scalar_subquery()


async def figures_from_rows(org: OrgContext) -> dict[str, int]:
    today = org.today()
    org_id = org.organization_id
    now = org.now()
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
        _sum(  # the payments ledger: received less refunds paid out (not those given as credit)
            case((Payment.kind == "payment", Payment.amount_cents), else_=-Payment.amount_cents),
            Payment.organization_id == org_id,
            Payment.received_on >= today.replace(day=1),
            or_(Payment.kind == "payment", and_(Payment.kind == "refund", Payment.method != "credit")),
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
    row = (await org.session.execute(stmt)).one()
    return {name: int(value) for name, value in row._mapping.items()}
