"""Orders: what a vendor buys (one booking per market date), approved against capacity and paid.

Capacity is checked inside the approving transaction (services.capacity), so two approvals can never
both take a date's last space.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, func

from market_mcp.auth import OrgContext
from market_mcp.db.tables import (
    ACTIVE_BOOKING_STATUSES,
    Booking,
    Credit,
    CreditTransaction,
    Email,
    Market,
    MarketDate,
    Order,
    Vendor,
)
from market_mcp.errors import Conflict, Invalid, NotFound
from market_mcp.schemas.common import Page, format_money, long_date
from market_mcp.schemas.orders import ApprovedOrder, CreditApplied, OrderDetail, OrderLine, OrderOut
from market_mcp.schemas.payments import PaymentLinkResult
from market_mcp.schemas.text import quoted
from market_mcp.services import (
    admission,
    applications,
    capacity,
    credits,
    deadlines,
    emails,
    market_dates,
    numbering,
    payment_links,
    payments,
    ranges,
    site,
    vendor_links,
)
from market_mcp.services.scope import count, get_or_404, scoped, vendors_matching

# DOMAIN.md: which statuses each action starts from.
APPROVABLE = ("pending",)
REJECTABLE = ("pending", "payment_pending")


# What can be done with an order in each status: the step a refusal offers instead.
NEXT_STEP = {
    "pending": "It is waiting for approval: approve_order approves it, reject_order turns it down.",
    "payment_pending": (
        "It is approved and waiting for payment: record_order_payment marks it paid, send_order_reminder reminds "
        "the vendor."
    ),
    "complete": (
        "It is approved and paid; to take back a date, cancel its booking with cancel_booking (credit_vendor "
        "credits the vendor) or move it with rebook_booking."
    ),
    "rejected": "A rejected order stays rejected; take a new order with create_order.",
}


def _refuse(order: Order, action: str, allowed: tuple[str, ...]) -> Conflict:
    states = " or ".join(allowed)
    message = f"Order {order.id} is {order.status}, so it cannot be {action}; only a {states} order can."
    if order.status != "archived":
        return Conflict(f"{message} {NEXT_STEP[order.status]}")
    was = order.previous_status or "pending"
    if was in allowed:
        return Conflict(f"{message} Restore it with restore_order first.")
    return Conflict(f"{message} It was {was} before it was archived. {NEXT_STEP[was]}")


def _joined(org: OrgContext) -> Any:
    return (
        scoped(org, Order, Order, Vendor.business_name, Market.name)
        .join(Vendor, Vendor.id == Order.vendor_id)
        .join(Market, Market.id == Order.market_id)
    )


def _out(org: OrgContext, order: Order, business_name: str, market_name: str) -> dict[str, Any]:
    return order.model_dump(exclude={"organization_id", "previous_status", "updated_at"}) | dict(
        business_name=business_name, market_name=market_name, currency=org.currency
    )


async def get_order(org: OrgContext, order_id: int) -> OrderDetail:
    await get_or_404(org, Order, order_id)
    order, business_name, market_name = (await org.session.execute(_joined(org).where(Order.id == order_id))).one()
    lines = await org.session.execute(
        scoped(org, Booking, Booking, MarketDate.scheduled_at)
        .join(MarketDate, MarketDate.id == Booking.market_date_id)
        .where(Booking.order_id == order_id)
        .order_by(MarketDate.scheduled_at, Booking.id)
    )
    # Net of refunds, per credit, so the lines sum to credit_applied_cents.
    used = await org.session.execute(
        scoped(
            org,
            CreditTransaction,
            CreditTransaction.credit_id,
            -func.sum(CreditTransaction.amount_cents),
            func.min(CreditTransaction.created_at),
        )
        .where(CreditTransaction.order_id == order_id, CreditTransaction.kind.in_(("use", "refund")))  # type: ignore[attr-defined]
        .group_by(CreditTransaction.credit_id)
        .having(func.sum(CreditTransaction.amount_cents) != 0)
        .order_by(func.min(CreditTransaction.id))
    )
    return OrderDetail(
        **_out(org, order, business_name, market_name),
        **(await _trading_days(org, [order_id])).get(order_id, NO_DAYS),
        bookings=[
            OrderLine(
                booking_id=b.id,
                market_date_id=b.market_date_id,
                scheduled_at=day,
                status=b.status,  # type: ignore[arg-type]
                space_number=b.space_number,
                amount_cents=b.amount_cents,
            )
            for b, day in lines.all()
        ],
        credits_applied=[
            CreditApplied(credit_id=credit_id, amount_cents=amount, created_at=at)
            for credit_id, amount, at in used.all()
        ],
        payments=await payments.ledger(org, order_id),
        invoice_pdf=numbering.invoice_uri(order_id) if order.invoice_number else None,
        priced_as=" + ".join([order.stall_type or "", *(order.add_ons or [])]).strip(" +") or None,
    )


async def list_orders(
    org: OrgContext,
    *,
    status: str | None,
    vendor_id: int | None,
    market_id: int | None,
    query: str | None,
    include_archived: bool,
    from_date: date | None = None,
    to_date: date | None = None,
    paid_from: date | None = None,
    paid_to: date | None = None,
    limit: int,
    offset: int,
) -> Page[OrderOut]:
    filters: list[Any] = ranges.at_moments(org, Order.paid_at, paid_from, paid_to, names=("paid_from", "paid_to"))
    if from_date is not None or to_date is not None:
        filters.append(Order.id.in_(trading_between(org, from_date, to_date)))  # type: ignore[union-attr]
    if status:
        filters.append(Order.status == status)
    elif not include_archived:
        filters.append(Order.status != "archived")
    if vendor_id is not None:
        filters.append(Order.vendor_id == vendor_id)
    if market_id is not None:
        filters.append(Order.market_id == market_id)
    if query and query.strip():
        filters.append(Order.vendor_id.in_(vendors_matching(org, query)))  # type: ignore[attr-defined]
    stmt = _joined(org).where(*filters)
    total = await count(org, stmt)
    rows = (await org.session.execute(stmt.order_by(Order.id.desc()).limit(limit).offset(offset))).all()  # type: ignore[union-attr]
    days = await _trading_days(org, [row[0].id for row in rows])
    return Page.of(
        [OrderOut(**_out(org, *row), **days.get(row[0].id, NO_DAYS)) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


def trading_between(org: OrgContext, from_date: date | None, to_date: date | None) -> Select[Any]:
    """The ids of orders with a booking still on (pending or confirmed) for a market date in the range: what
    list_orders' from_date/to_date and the dashboard's "unpaid with a market soon" both count."""
    days = scoped(org, MarketDate, MarketDate.id).where(*ranges.on_days(MarketDate.scheduled_at, from_date, to_date))
    return scoped(org, Booking, Booking.order_id).where(
        Booking.market_date_id.in_(days),  # type: ignore[attr-defined]
        Booking.status.in_(ACTIVE_BOOKING_STATUSES),  # type: ignore[attr-defined]
        Booking.order_id.is_not(None),  # type: ignore[union-attr]
    )


NO_DAYS = {"first_date": None, "last_date": None, "date_count": 0}


async def _trading_days(org: OrgContext, order_ids: list[int | None]) -> dict[int, dict[str, Any]]:
    """Each order's first and last trading day still booked, and how many: one grouped read for a page."""
    if not order_ids:
        return {}
    rows = await org.session.execute(
        scoped(
            org,
            Booking,
            Booking.order_id,
            func.min(MarketDate.scheduled_at),
            func.max(MarketDate.scheduled_at),
            func.count(),
        )
        .join(MarketDate, MarketDate.id == Booking.market_date_id)
        .where(Booking.order_id.in_(order_ids), Booking.status.in_(ACTIVE_BOOKING_STATUSES))  # type: ignore[union-attr, attr-defined]
        .group_by(Booking.order_id)
    )
    return {i: {"first_date": first, "last_date": last, "date_count": n} for i, first, last, n in rows.all()}


async def _apply_credits(org: OrgContext, order: Order) -> int:
    """Spend the vendor's live credits on what is due, earliest expiry first; returns cents applied."""
    due = payments.due(order)
    if due <= 0:
        return 0
    await credits.expire_due(org)
    live = await org.session.execute(
        scoped(org, Credit)
        .where(Credit.vendor_id == order.vendor_id, credits.is_live(org.now()))
        .order_by(Credit.expires_at.is_(None), Credit.expires_at, Credit.id)  # type: ignore[union-attr]  # never-expiring last
        .with_for_update()
    )
    applied = 0
    for credit in live.scalars():
        if due == 0:
            break
        amount = min(due, credit.remaining_cents)
        await credits.use(org, credit, amount, order_id=order.id)  # type: ignore[arg-type]
        applied += amount
        due -= amount
    return applied


def _date_lines(lines: list[OrderLine], org: OrgContext) -> str:
    return "\n".join(
        f"- {long_date(line.scheduled_at)}: {format_money(line.amount_cents, org.currency)}" for line in lines
    )


async def _email(org: OrgContext, kind: str, order_id: int, **extra: Any) -> tuple[Email, dict[str, Any]]:
    """Queue the `kind` email about an order to its vendor: (the email, its template values)."""
    detail = await get_order(org, order_id)
    vendor = await get_or_404(org, Vendor, detail.vendor_id)
    values = dict(
        market_name=detail.market_name,
        order_id=order_id,
        date_lines=_date_lines(detail.bookings, org),
        total=format_money(detail.total_cents, org.currency),
        due=format_money(detail.amount_due_cents, org.currency),
        **extra,
    )
    return emails.email_vendor(org, vendor, kind, record_type="order", record_id=order_id, **values), values


async def approve(
    org: OrgContext, order: Order, *, apply_credits: bool, email: bool = True, via: str = "approve_order"
) -> None:
    """Confirm the order's pending bookings against capacity, apply credits, set what is due; emails the vendor
    (unless the caller sends its own email), with a payment link for what is due when links are configured."""
    pending = list(
        (
            await org.session.execute(
                scoped(org, Booking).where(Booking.order_id == order.id, Booking.status == "pending")
            )
        ).scalars()
    )
    wanted: dict[int, int] = {}
    for booking in pending:
        wanted[booking.market_date_id] = wanted.get(booking.market_date_id, 0) + 1
    if wanted:
        await capacity.check_room(org, wanted)
    now = org.now()
    for booking in pending:
        booking.status = "confirmed"
        booking.updated_at = now
        org.session.add(booking)
    org.touch("booking", *(b.id for b in pending))  # type: ignore[misc]
    if apply_credits:
        order.credit_applied_cents += await _apply_credits(org, order)
    await payments.settle(org, order, why=f"Order {order.id} was approved for less than was paid on it.")
    order.status = "payment_pending" if order.amount_due_cents > 0 else "complete"
    order.approved_at = now
    await numbering.number_invoice(org, order)  # invoiced from now on, under one number whatever follows
    order.updated_at = now
    market = await get_or_404(org, Market, order.market_id)
    await deadlines.set_deadline(org, order, market)
    org.session.add(order)
    await org.session.flush()
    org.touch("order", order.id)  # type: ignore[arg-type]
    if not email:
        return
    applied = order.credit_applied_cents
    credit_line = f" Credit applied: {format_money(applied, org.currency)}." if applied else ""
    due_sentence = (
        deadlines.due_sentence(org, order, market.release_unpaid) if order.amount_due_cents else "Nothing more is due."
    )
    sent, values = await _email(
        org,
        "order_approved",
        order.id,  # type: ignore[arg-type]
        credit_line=credit_line,
        due_sentence=due_sentence,
        pay_block="",  # the payment link, once made (services.payment_links)
        link_block=vendor_links.attendance_link_block(org, order),
    )
    if org.payment_links and order.amount_due_cents > 0:
        await payment_links.want_on_approval(org, order, via=via, email=sent, values=values)


async def open_order(
    org: OrgContext,
    vendor_id: int,
    *,
    market_date_ids: list[int],
    amount_per_date_cents: int | None,
    stall_type: str | None = None,
    add_ons: list[str] | None = None,
    override_reason: str | None = None,
    can_override: bool = True,
) -> Order:
    """A pending order with a pending booking per date, after every check an order needs (approved
    application, bookings open, bookable dates, documents and category caps (services/admission), not booked
    already, room)."""
    vendor = await get_or_404(org, Vendor, vendor_id)
    if len(set(market_date_ids)) != len(market_date_ids):
        raise Invalid("market_date_ids lists a date more than once; a vendor books one space per date per order.")
    days = {
        md.id: md
        for md in (
            await org.session.execute(scoped(org, MarketDate).where(MarketDate.id.in_(market_date_ids)))
        ).scalars()
    }  # type: ignore[union-attr, misc]
    missing = [i for i in market_date_ids if i not in days]
    if missing:
        raise NotFound(f"Market date {missing[0]} not found.")
    markets_of = {md.market_id for md in days.values()}
    if len(markets_of) > 1:
        raise Invalid(
            "An order is for one market: every market_date_ids entry must be a date of the same market; take one "
            "order per market."
        )
    market = await get_or_404(org, Market, markets_of.pop())
    await applications.require_approved(org, vendor, market.id)  # type: ignore[arg-type]
    if not market.booking_enabled:
        raise Conflict(
            f"{quoted(market.name)} is not taking bookings (booking_enabled is false); turn them on with "
            f"update_market(market_id={market.id}, booking_enabled=true) first."
        )
    for md in days.values():
        capacity.check_bookable(org, md)
        _check_cutoff(org, market, md)
    await admission.check_booking(
        org, vendor, market, list(days.values()), override_reason=override_reason, can_override=can_override
    )
    already = (
        (
            await org.session.execute(
                scoped(org, Booking).where(
                    Booking.vendor_id == vendor_id,
                    Booking.market_date_id.in_(market_date_ids),  # type: ignore[attr-defined]
                    Booking.status.in_(("pending", "confirmed")),  # type: ignore[attr-defined]
                )
            )
        )
        .scalars()
        .first()
    )
    if already is not None:
        raise Conflict(
            f"{quoted(vendor.business_name)} already has booking {already.id} on market date {already.market_date_id}; "
            "leave that date out of market_date_ids."
        )
    await capacity.check_room(org, dict.fromkeys(market_date_ids, 1))

    priced, stall_type, add_ons = site.price(market, stall_type, add_ons)  # type plus add-ons, or the flat fee
    fee = priced if amount_per_date_cents is None else amount_per_date_cents
    order = Order(
        organization_id=org.organization_id,
        vendor_id=vendor_id,
        market_id=market.id,  # type: ignore[arg-type]
        stall_type=stall_type,
        add_ons=add_ons or None,
        total_cents=fee * len(market_date_ids),
        amount_due_cents=fee * len(market_date_ids),
    )
    org.session.add(order)
    await org.session.flush()
    bookings = [
        Booking(
            organization_id=org.organization_id,
            order_id=order.id,
            vendor_id=vendor_id,
            market_date_id=i,
            amount_cents=fee,
        )
        for i in sorted(market_date_ids, key=lambda i: days[i].scheduled_at)
    ]
    org.session.add_all(bookings)
    await org.session.flush()
    org.touch("order", order.id)  # type: ignore[arg-type]
    org.touch("booking", *(b.id for b in bookings))  # type: ignore[misc]
    return order


def _check_cutoff(org: OrgContext, market: Market, md: MarketDate) -> None:
    closes = market_dates.booking_window(org, market, md).closes
    if closes is not None and org.now() >= closes:
        raise Conflict(
            f"Bookings for market date {md.id} ({md.scheduled_at}) closed {market_dates.local_time(org, closes)}, "
            f"{market.booking_cutoff_hours} hours before the start (the market's booking_cutoff_hours); "
            "choose a later date, or change the cutoff with update_market."
        )


async def book_one(
    org: OrgContext,
    vendor_id: int,
    market_date_id: int,
    *,
    amount_cents: int,
    email: bool,
    override_reason: str | None = None,
    can_override: bool = True,
) -> tuple[Order, int]:
    """An approved one-date order (credits applied): (the order, its booking's id)."""
    order = await open_order(
        org,
        vendor_id,
        market_date_ids=[market_date_id],
        amount_per_date_cents=amount_cents,
        override_reason=override_reason,
        can_override=can_override,
    )
    await approve(org, order, apply_credits=True, email=email)
    booking_id = (
        await org.session.execute(scoped(org, Booking, Booking.id).where(Booking.order_id == order.id))
    ).scalar_one()
    return order, booking_id


async def create_order(
    org: OrgContext,
    vendor_id: int,
    *,
    market_date_ids: list[int],
    amount_per_date_cents: int | None,
    stall_type: str | None = None,
    add_ons: list[str] | None = None,
    override_reason: str | None = None,
) -> ApprovedOrder:
    order = await open_order(
        org,
        vendor_id,
        market_date_ids=market_date_ids,
        amount_per_date_cents=amount_per_date_cents,
        stall_type=stall_type,
        add_ons=add_ons,
        override_reason=override_reason,
    )
    vendor = await get_or_404(org, Vendor, vendor_id)
    if vendor.trusted:  # trusted vendors' orders are approved on arrival
        await approve(org, order, apply_credits=True, via="create_order")
    return ApprovedOrder.model_validate(await get_order(org, order.id), from_attributes=True)  # type: ignore[arg-type]


async def approve_order(
    org: OrgContext,
    order_id: int,
    *,
    trust_future_orders: bool,
    apply_credits: bool,
    override_reason: str | None = None,
) -> ApprovedOrder:
    order = await get_or_404(org, Order, order_id, for_update=True)
    if order.status not in APPROVABLE:
        raise _refuse(order, "approved", APPROVABLE)
    pending_days = list(
        (
            await org.session.execute(
                scoped(org, MarketDate)
                .join(Booking, Booking.market_date_id == MarketDate.id)
                .where(Booking.order_id == order.id, Booking.status == "pending")
            )
        ).scalars()
    )
    if pending_days:  # documents may have lapsed, or the category filled, since the order was taken
        vendor, market = await get_or_404(org, Vendor, order.vendor_id), await get_or_404(org, Market, order.market_id)
        await admission.check_booking(org, vendor, market, pending_days, override_reason=override_reason)
    await approve(org, order, apply_credits=apply_credits)
    if trust_future_orders:
        vendor = await get_or_404(org, Vendor, order.vendor_id)
        vendor.trusted = True
        vendor.updated_at = org.now()
        org.session.add(vendor)
        org.touch("vendor", vendor.id)  # type: ignore[arg-type]
    return ApprovedOrder.model_validate(await get_order(org, order_id), from_attributes=True)


async def reject_order(org: OrgContext, order_id: int, *, reason: str | None) -> OrderDetail:
    order = await get_or_404(org, Order, order_id, for_update=True)
    if order.status not in REJECTABLE:
        raise _refuse(order, "rejected", REJECTABLE)
    now = org.now()
    bookings = list(
        (
            await org.session.execute(
                scoped(org, Booking).where(Booking.order_id == order_id, Booking.status.in_(("pending", "confirmed")))  # type: ignore[attr-defined]
            )
        ).scalars()
    )
    for booking in bookings:
        booking.status = "rejected"
        booking.updated_at = now
        org.session.add(booking)
    org.touch("booking", *(b.id for b in bookings))  # type: ignore[misc]
    refunded = await refund_credits(org, order)
    paid_back = payments.held(order)
    if paid_back:
        await payments.move_to_credit(org, order, paid_back, f"Order {order_id} was rejected: what was paid on it.")
    order.status = "rejected"
    order.rejection_reason = reason
    order.amount_due_cents = 0
    order.updated_at = now
    org.session.add(order)
    await org.session.flush()
    org.touch("order", order_id)
    back = [f"{format_money(refunded, org.currency)} of credit this order used"] if refunded else []
    back += [f"{format_money(paid_back, org.currency)} you paid on it"] if paid_back else []
    credit_block = emails.paragraph(
        f"The {' and the '.join(back)} {'are' if len(back) > 1 else 'is'} back in your account"
        f"{' as credit' if paid_back else ''}."
        if back
        else None
    )
    await _email(org, "order_rejected", order_id, message_block=emails.paragraph(reason), credit_block=credit_block)
    return await get_order(org, order_id)


async def refund_credits(org: OrgContext, order: Order, *, up_to: int | None = None, note: str = "") -> int:
    """Give back (up to `up_to` of) the credit an order used, as `refund` rows on the credits it came from,
    the most recently granted first; returns cents refunded."""
    used = await org.session.execute(
        scoped(org, CreditTransaction, CreditTransaction.credit_id, func.sum(CreditTransaction.amount_cents))
        .where(CreditTransaction.order_id == order.id, CreditTransaction.kind.in_(("use", "refund")))  # type: ignore[attr-defined]
        .group_by(CreditTransaction.credit_id)
        .order_by(CreditTransaction.credit_id.desc())  # type: ignore[attr-defined]
    )
    left = order.credit_applied_cents if up_to is None else up_to
    refunded = 0
    for credit_id, net in used.all():
        amount = min(-int(net), left - refunded)  # PostgreSQL sums integers as numeric (Decimal)
        if amount > 0:
            credit = await get_or_404(org, Credit, credit_id, for_update=True)
            credits.post(org, credit, "refund", amount, order_id=order.id, note=note or f"order {order.id} rejected")
            refunded += amount
    order.credit_applied_cents -= refunded
    return refunded


async def archive_order(org: OrgContext, order_id: int) -> OrderDetail:
    order = await get_or_404(org, Order, order_id, for_update=True)
    if order.status == "archived":
        raise Conflict(f"Order {order_id} is already archived; restore_order brings it back.")
    order.previous_status, order.status = order.status, "archived"
    order.archived_at = order.updated_at = org.now()
    org.session.add(order)
    await org.session.flush()
    org.touch("order", order_id)
    return await get_order(org, order_id)


async def restore_order(org: OrgContext, order_id: int) -> OrderDetail:
    order = await get_or_404(org, Order, order_id, for_update=True)
    if order.status != "archived":
        raise Conflict(
            f"Order {order_id} is {order.status}, not archived, so there is nothing to restore (restore_order brings "
            "back an archived order; restore_booking brings back a cancelled booking)."
        )
    order.status, order.previous_status = order.previous_status or "pending", None
    order.archived_at = None
    order.updated_at = org.now()
    org.session.add(order)
    await org.session.flush()
    org.touch("order", order_id)
    return await get_order(org, order_id)


async def modify_order(org: OrgContext, order_id: int) -> OrderDetail:
    order = await get_or_404(org, Order, order_id, for_update=True)
    if order.status != "payment_pending":
        raise _refuse(order, "moved back to pending", ("payment_pending",))
    order.status = "pending"
    order.updated_at = org.now()
    org.session.add(order)
    await org.session.flush()
    org.touch("order", order_id)
    return await get_order(org, order_id)


async def complete_zero_amount_order(org: OrgContext, order_id: int) -> OrderDetail:
    order = await get_or_404(org, Order, order_id, for_update=True)
    if order.status != "pending":
        raise _refuse(order, "completed without payment", ("pending",))
    if order.total_cents != 0:
        raise Conflict(
            f"Order {order_id} totals {format_money(order.total_cents, org.currency)}, not zero; approve it with "
            "approve_order instead."
        )
    await approve(org, order, apply_credits=False)
    return await get_order(org, order_id)


async def record_order_payment(
    org: OrgContext,
    order_id: int,
    *,
    method: str,
    reference: str | None,
    amount_cents: int | None = None,
    received_on: date | None = None,
) -> OrderDetail:
    order = await get_or_404(org, Order, order_id, for_update=True)
    if order.status != "payment_pending":
        raise _refuse(order, "marked paid", ("payment_pending",))
    row, excess = await payments.record(
        org, order, amount=amount_cents, method=method, reference=reference, received_on=received_on
    )
    paid = row.amount_cents
    money = org.currency
    vendor = await get_or_404(org, Vendor, order.vendor_id)
    if order.amount_due_cents:
        left = f"{format_money(order.amount_due_cents, money)} is still due on it, for:"
    else:
        left = f"{vendor.business_name} is all set for:"
    if excess:
        left = f"That is {format_money(excess, money)} more than was due: it is credit in your account. {left}"
    await _email(
        org,
        "payment_received",
        order_id,
        paid=format_money(paid, money),
        method=payments.words(method),
        left_sentence=left,
        receipt=numbering.receipt_label(row.receipt_number),  # type: ignore[arg-type]
        attachment=f"receipt:{row.id}",  # rendered at delivery from the payment row, which never changes
    )
    return await get_order(org, order_id)


async def send_order_reminder(org: OrgContext, order_id: int) -> OrderDetail:
    order = await get_or_404(org, Order, order_id)
    if order.status != "payment_pending":
        raise _refuse(order, "reminded about payment", ("payment_pending",))
    await remind(org, order)
    return await get_order(org, order_id)


async def remind(org: OrgContext, order: Order) -> Email:
    """Queue a reminder of what the order still owes, and by when (its market's payment terms)."""
    market = await get_or_404(org, Market, order.market_id)
    pay_by = deadlines.pay_by_sentence(org, order, market.release_unpaid)
    link = vendor_links.attendance_link_block(org, order)
    email, _ = await _email(org, "order_reminder", order.id, pay_by_sentence=pay_by, link_block=link)  # type: ignore[arg-type]
    return email


async def create_payment_link(org: OrgContext, order_id: int) -> PaymentLinkResult:
    order = await get_or_404(org, Order, order_id, for_update=True)
    if not org.payment_links:
        raise Conflict(payment_links.NOT_CONFIGURED)
    if order.status != "payment_pending":
        raise _refuse(order, "sent a payment link", ("payment_pending",))
    return await payment_links.request(org, order)
