"""Payment deadlines: when an approved order must be paid, the reminders before then, and the release of what is
still unpaid after.

A market's terms (db/tables.py Market): payment_due_days after approval and payment_due_days_before the order's
first date (the earlier wins when both are set), release_unpaid, and payment_reminders (days before the deadline;
0 is the day itself, -2 two days after). An order's deadline is fixed when it is approved (payment_due_on), never
earlier than that day, and the approval email states it. An order is overdue from the day after its deadline for
as long as it owes money.

Releasing an overdue order cancels its bookings on dates still to come (dates already traded stay billed), stops
charging for them, moves anything paid beyond what it still charges to the vendor's credit, offers the spaces to
the waitlist where the market auto-notifies, and emails the vendor once.

`run` is the scheduler's pass over one organisation: it releases the overdue orders of markets with release_unpaid
and sends the reminders that are due. Both are idempotent: a rung of the ladder is a unique row, and a released
booking is no longer confirmed, so a second pass (or a second server) finds nothing to do.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from market_mcp.auth import OrgContext
from market_mcp.db.tables import Booking, Market, MarketDate, Order, PaymentReminder, Vendor
from market_mcp.errors import Conflict
from market_mcp.schemas.common import Page, format_money, long_date, plural, preview_note
from market_mcp.schemas.payments import OverdueOrderOut, ReleasedOrder, ReleaseResult
from market_mcp.services import bookings, emails, orders
from market_mcp.services.scope import count, get_or_404, scoped

NO_TERMS = "set the market's payment_due_days or payment_due_days_before with update_market"


def deadline(market: Market, approved_on: date, first_day: date | None) -> date | None:
    """The day an order approved on `approved_on`, first trading on `first_day`, must be paid by (None: no terms)."""
    days = []
    if market.payment_due_days is not None:
        days.append(approved_on + timedelta(days=market.payment_due_days))
    if market.payment_due_days_before is not None and first_day is not None:
        days.append(first_day - timedelta(days=market.payment_due_days_before))
    return max(min(days), approved_on) if days else None


async def set_deadline(org: OrgContext, order: Order, market: Market) -> None:
    """At approval: the order's deadline under its market's terms (none once nothing is due)."""
    order.payment_due_on = None
    if order.amount_due_cents <= 0:
        return
    first_day = (
        await org.session.execute(
            select(func.min(MarketDate.scheduled_at))
            .join(Booking, Booking.market_date_id == MarketDate.id)
            .where(
                Booking.organization_id == org.organization_id,
                Booking.order_id == order.id,
                Booking.status == "confirmed",
                MarketDate.status == "scheduled",
                MarketDate.scheduled_at >= org.today(),
            )
        )
    ).scalar_one_or_none()
    order.payment_due_on = deadline(market, org.today(), first_day)


def due_sentence(org: OrgContext, order: Order, release_unpaid: bool) -> str:
    """What the approval email asks of an order with money due: by when, and what happens after."""
    due = format_money(order.amount_due_cents, org.currency)
    if order.payment_due_on is None:
        return f"Amount due: {due}; please pay before market day."
    after = " Spaces still unpaid after that are released to other vendors." if release_unpaid else ""
    return f"Amount due: {due}; please pay by {long_date(order.payment_due_on)}.{after}"


def pay_by_sentence(org: OrgContext, order: Order, release_unpaid: bool) -> str:
    """What a reminder says of the deadline: before it, on it, or after it."""
    due_on = order.payment_due_on
    if due_on is None:
        return "Your spaces are only guaranteed once the order is paid."
    if org.today() <= due_on:
        after = (
            "Spaces still unpaid after that are released to other vendors."
            if release_unpaid
            else "Your spaces are only guaranteed once the order is paid."
        )
        return f"Please pay by {long_date(due_on)}. {after}"
    after = "Unless it is paid, its spaces will be released to other vendors." if release_unpaid else ""
    return f"It was due by {long_date(due_on)}; please pay as soon as you can. {after}".rstrip()


# ---------------------------------------------------------------- overdue orders


def _overdue(org: OrgContext, *, market_id: int | None, order_id: int | None, releasing_only: bool = False) -> Any:
    stmt = (
        scoped(
            org,
            Order,
            Order.id,
            Order.vendor_id,
            Vendor.business_name,
            Order.market_id,
            Market.name,
            Order.payment_due_on,
            Order.amount_due_cents,
            Market.release_unpaid,
        )
        .join(Vendor, Vendor.id == Order.vendor_id)
        .join(Market, Market.id == Order.market_id)
        .where(Order.status == "payment_pending", Order.amount_due_cents > 0, Order.payment_due_on < org.today())
    )
    if market_id is not None:
        stmt = stmt.where(Order.market_id == market_id)
    if order_id is not None:
        stmt = stmt.where(Order.id == order_id)
    if releasing_only:
        stmt = stmt.where(Market.release_unpaid.is_(True))  # type: ignore[attr-defined]
    return stmt


async def _releasable(org: OrgContext, order_ids: list[int]) -> dict[int, list[int]]:
    """Each order's confirmed bookings on scheduled dates from today on, in date order."""
    found: dict[int, list[int]] = defaultdict(list)
    if not order_ids:
        return found
    rows = await org.session.execute(
        select(Booking.order_id, Booking.id)
        .join(MarketDate, MarketDate.id == Booking.market_date_id)
        .where(
            Booking.organization_id == org.organization_id,
            Booking.order_id.in_(order_ids),  # type: ignore[union-attr]
            Booking.status == "confirmed",
            MarketDate.status == "scheduled",
            MarketDate.scheduled_at >= org.today(),
        )
        .order_by(Booking.order_id, MarketDate.scheduled_at, Booking.id)
    )
    for order_id, booking_id in rows.all():
        found[order_id].append(booking_id)
    return found


async def list_overdue_orders(
    org: OrgContext, *, market_id: int | None, limit: int, offset: int
) -> Page[OverdueOrderOut]:
    if market_id is not None:
        await get_or_404(org, Market, market_id)
    stmt = _overdue(org, market_id=market_id, order_id=None)
    total = await count(org, stmt)
    rows = (await org.session.execute(stmt.order_by(Order.payment_due_on, Order.id).limit(limit).offset(offset))).all()
    ids = [row[0] for row in rows]
    releasable = await _releasable(org, ids)
    sent = dict(
        (
            await org.session.execute(
                select(PaymentReminder.order_id, func.count())
                .where(
                    PaymentReminder.organization_id == org.organization_id,
                    PaymentReminder.order_id.in_(ids),  # type: ignore[attr-defined]
                    PaymentReminder.email_id.is_not(None),  # type: ignore[union-attr]
                )
                .group_by(PaymentReminder.order_id)
            )
        ).all()
    )
    today = org.today()
    items = [
        OverdueOrderOut(
            order_id=order_id,
            vendor_id=vendor_id,
            business_name=business_name,
            market_id=market,
            market_name=market_name,
            payment_due_on=due_on,
            days_overdue=(today - due_on).days,
            amount_due_cents=due,
            currency=org.currency,
            releasable_booking_ids=releasable.get(order_id, []),
            auto_release=auto,
            reminders_sent=sent.get(order_id, 0),
        )
        for order_id, vendor_id, business_name, market, market_name, due_on, due, auto in rows
    ]
    return Page.of(items, total=total, limit=limit, offset=offset)


# ---------------------------------------------------------------- release


async def _why_not_overdue(org: OrgContext, order_id: int) -> str:
    order = await get_or_404(org, Order, order_id)
    if order.status != "payment_pending" or order.amount_due_cents <= 0:
        return f"Order {order_id} is {order.status} and owes nothing, so there is nothing unpaid to release."
    if order.payment_due_on is None:
        return f"Order {order_id} has no payment deadline, so it cannot be overdue; {NO_TERMS} (applies at approval)."
    return (
        f"Order {order_id} is not overdue: it is due by {order.payment_due_on}; list_overdue_orders shows those "
        "that are."
    )


async def release_unpaid_bookings(
    org: OrgContext,
    *,
    market_id: int | None,
    order_id: int | None,
    dry_run: bool,
    releasing_only: bool = False,
) -> ReleaseResult:
    """Release the future bookings of overdue orders (of a market, or one order), emailing each vendor once."""
    if market_id is not None:
        await get_or_404(org, Market, market_id)
    stmt = _overdue(org, market_id=market_id, order_id=order_id, releasing_only=releasing_only)
    rows = (await org.session.execute(stmt.order_by(Order.id))).all()
    if order_id is not None and not rows:
        raise Conflict(await _why_not_overdue(org, order_id))
    releasable = await _releasable(org, [row[0] for row in rows])
    if order_id is not None and not releasable:
        raise Conflict(
            f"Order {order_id} is overdue but has no bookings on dates still to come: nothing to release. What it "
            "owes for dates already held stays due (send_order_reminder, record_order_payment)."
        )
    chosen = [row for row in rows if releasable.get(row[0])]
    plan = [
        ReleasedOrder(
            order_id=oid,
            vendor_id=vendor_id,
            business_name=name,
            payment_due_on=due_on,
            booking_ids=releasable[oid],
            amount_due_cents=due,
            credited_cents=0,
        )
        for oid, vendor_id, name, _market, _market_name, due_on, due, _auto in chosen
    ]
    booked = sum(len(p.booking_ids) for p in plan)
    if dry_run:
        return ReleaseResult(
            dry_run=True,
            currency=org.currency,
            summary=f"{plural(len(plan), 'overdue order')} would have {plural(booked, 'booking')} released.",
            note=preview_note("no booking was released and no email queued"),
            would_release=plan,
            would_email=len(plan),
        )
    paid_before = {p.order_id: await _paid(org, p.order_id) for p in plan}
    done = await bookings.cancel_many(
        org,
        [b for p in plan for b in p.booking_ids],
        reason="unpaid at the payment deadline",
        credit_source=None,
        email_kind=None,
    )
    for p in plan:
        p.credited_cents = paid_before[p.order_id] - await _paid(org, p.order_id)
        await _email_released(org, p)
    return ReleaseResult(
        dry_run=False,
        currency=org.currency,
        summary=f"Released {plural(booked, 'booking')} of {plural(len(plan), 'overdue order')}.",
        released=plan,
        waitlist_offers=done.offers,
    )


async def _paid(org: OrgContext, order_id: int) -> int:
    return (await get_or_404(org, Order, order_id)).amount_paid_cents  # the session's copy, as release left it


async def _email_released(org: OrgContext, released: ReleasedOrder) -> None:
    detail = await orders.get_order(org, released.order_id)
    lines = [line for line in detail.bookings if line.booking_id in released.booking_ids]
    money = ["You won't be charged for them."]
    if released.credited_cents:
        money.append(
            f"The {format_money(released.credited_cents, org.currency)} you paid towards them is now credit on "
            "your account, for your next booking."
        )
    if detail.amount_due_cents:
        money.append(f"{format_money(detail.amount_due_cents, org.currency)} is still due for dates already held.")
    vendor = await get_or_404(org, Vendor, released.vendor_id)
    emails.email_vendor(
        org,
        vendor,
        "payment_released",
        record_type="order",
        record_id=released.order_id,
        market_name=detail.market_name,
        order_id=released.order_id,
        deadline=long_date(released.payment_due_on),
        date_lines="\n".join(f"- {long_date(line.scheduled_at)}" for line in lines),
        money_sentence=" ".join(money),
    )


# ---------------------------------------------------------------- reminders and the scheduler's pass


def _insert(dialect: str) -> Any:
    return (postgresql if dialect == "postgresql" else sqlite).insert(PaymentReminder)


async def send_reminders(org: OrgContext) -> int:
    """Queue the reminders due today under each market's ladder: for each order, the latest rung reached and not
    yet recorded (rungs passed meanwhile are recorded without an email). Returns how many were queued."""
    today = org.today()
    rows = (
        await org.session.execute(
            scoped(org, Order, Order.id, Order.payment_due_on, Market.payment_reminders)
            .join(Market, Market.id == Order.market_id)
            .where(
                Order.status == "payment_pending",
                Order.amount_due_cents > 0,
                Order.payment_due_on.is_not(None),  # type: ignore[union-attr]
                Order.payment_due_on >= today - timedelta(days=60),  # the ladder reaches 60 days past at most
                Market.payment_reminders.is_not(None),  # type: ignore[attr-defined]
            )
        )
    ).all()
    reached = {  # each order's rungs reached by today, in the order they fell due
        order_id: sorted((r for r in ladder or () if due_on - timedelta(days=r) <= today), reverse=True)
        for order_id, due_on, ladder in rows
    }
    wanted = {order_id: rungs for order_id, rungs in reached.items() if rungs}
    if not wanted:
        return 0
    recorded: dict[int, set[int]] = defaultdict(set)
    for order_id, rung in (
        await org.session.execute(
            select(PaymentReminder.order_id, PaymentReminder.days_before_due).where(
                PaymentReminder.organization_id == org.organization_id,
                PaymentReminder.order_id.in_(wanted),  # type: ignore[attr-defined]
            )
        )
    ).all():
        recorded[order_id].add(rung)
    dialect = org.session.bind.dialect.name
    queued = 0
    for order_id, rungs in wanted.items():
        latest = rungs[-1]  # the fewest days before the deadline: the rung reached last
        if latest in recorded[order_id]:
            continue
        new = [r for r in rungs if r not in recorded[order_id]]
        claimed = await org.session.execute(
            _insert(dialect)
            .values(
                [
                    dict(
                        organization_id=org.organization_id, order_id=order_id, days_before_due=r, created_at=org.now()
                    )
                    for r in new
                ]
            )
            .on_conflict_do_nothing(index_elements=["order_id", "days_before_due"])
            .returning(PaymentReminder.id, PaymentReminder.days_before_due)
        )
        mine = {rung: reminder_id for reminder_id, rung in claimed.all()}
        if latest not in mine:  # another server sent it just now
            continue
        order = await get_or_404(org, Order, order_id)
        email = await orders.remind(org, order)
        reminder = await org.session.get(PaymentReminder, mine[latest])
        reminder.email_id = email.id  # type: ignore[union-attr]
        org.touch("order", order_id)
        queued += 1
    return queued


async def run(org: OrgContext) -> tuple[int, ReleaseResult]:
    """The scheduler's pass over one organisation: releases where markets ask for them, then the reminders due
    (an order just released owes nothing more, so it is not reminded to pay)."""
    released = await release_unpaid_bookings(org, market_id=None, order_id=None, dry_run=False, releasing_only=True)
    return await send_reminders(org), released
