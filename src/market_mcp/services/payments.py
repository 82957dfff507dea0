"""Payments: every movement of money on an order, on an append-only ledger (db/tables.py Payment).

An order keeps the ledger's sums beside its rows, in the same transaction: amount_paid_cents (payments less excess
moved to credit) and amount_refunded_cents. Once it is approved, what it still charges is
total − credit applied − amount paid; a refund does not raise that again (the organiser gave the money back, the
vendor does not owe it twice). Whenever an order charges less than was paid towards it (an overpayment, a date
taken off, the order rejected), the difference is moved to the vendor's credit as an `excess` row (`settle`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func

from market_mcp.auth import OrgContext
from market_mcp.db.tables import Market, Order, Payment, Vendor
from market_mcp.errors import Conflict, Invalid
from market_mcp.schemas.common import Page, format_money
from market_mcp.schemas.orders import PaymentLine
from market_mcp.schemas.payments import PaymentOut, RefundPart, RefundResult
from market_mcp.services import credits, emails, numbering, ranges
from market_mcp.services.scope import count, get_or_404, scoped

METHOD_WORDS = {"bank_transfer": "bank transfer", "online": "online payment", "credit": "credit to your account"}


def words(method: str) -> str:
    return METHOD_WORDS.get(method, method)


async def _row(org: OrgContext, order: Order, kind: str, amount: int, method: str, day: date, **more: Any) -> Payment:
    row = Payment(
        organization_id=org.organization_id,
        order_id=order.id,  # type: ignore[arg-type]
        vendor_id=order.vendor_id,
        kind=kind,
        amount_cents=amount,
        method=method,
        received_on=day,
        **more,
    )
    org.session.add(row)
    await org.session.flush()
    org.touch("payment", row.id)  # type: ignore[arg-type]
    return row


async def _to_credit(org: OrgContext, order: Order, kind: str, amount: int, reason: str) -> Payment:
    """Move `amount` of what was paid on the order to a new credit of the vendor's (kind excess or refund)."""
    credit = await credits.grant(org, order.vendor_id, amount_cents=amount, source="manual", notes=reason)
    return await _row(org, order, kind, amount, "credit", org.today(), credit_id=credit.id, reason=reason)


def due(order: Order) -> int:
    """What the approved order still charges (negative: paid beyond it)."""
    return order.total_cents - order.credit_applied_cents - order.amount_paid_cents


async def move_to_credit(org: OrgContext, order: Order, amount: int, reason: str) -> None:
    """`amount` of what was paid on the order is no longer towards it: an `excess` row and a credit for it."""
    await _to_credit(org, order, "excess", amount, reason)
    order.amount_paid_cents -= amount


async def settle(org: OrgContext, order: Order, *, why: str) -> int:
    """Bring amount_due_cents to what the ledger says. Paid beyond what the order charges now goes to the vendor's
    credit (`move_to_credit`, `why` its reason): returns the cents moved. Status is the caller's."""
    excess = max(0, -due(order))
    if excess:
        await move_to_credit(org, order, excess, why)
    order.amount_due_cents = due(order)
    return excess


def held(order: Order) -> int:
    """What the organisation still holds of what was paid on the order: the most a refund can give back."""
    return max(0, order.amount_paid_cents - order.amount_refunded_cents)


async def ledger(org: OrgContext, order_id: int) -> list[PaymentLine]:
    rows = await org.session.execute(scoped(org, Payment).where(Payment.order_id == order_id).order_by(Payment.id))
    return [
        PaymentLine(**p.model_dump(), receipt_pdf=numbering.receipt_uri(p.id) if p.receipt_number else None)  # type: ignore[arg-type]
        for p in rows.scalars()
    ]


async def record(
    org: OrgContext, order: Order, *, amount: int | None, method: str, reference: str | None, received_on: date | None
) -> tuple[Payment, int]:
    """A payment on a payment_pending order (default: all that is due): (its ledger row, with its receipt number,
    and the cents of it moved to credit). The order is complete once nothing is due."""
    today = org.today()
    day = received_on or today
    if day > today:
        raise Invalid(f"received_on {day} is after today ({today}); record a payment once it has arrived.")
    paid = order.amount_due_cents if amount is None else amount
    owed = order.amount_due_cents
    row = await _row(
        org,
        order,
        "payment",
        paid,
        method,
        day,
        reference=reference,
        receipt_number=await numbering.next_receipt_number(org),
    )
    order.amount_paid_cents += paid
    money = org.currency
    excess = await settle(
        org,
        order,
        why=f"Paid {format_money(paid, money)} on order {order.id} when {format_money(owed, money)} was due: "
        "the difference moved to credit.",
    )
    now = org.now()
    if order.amount_due_cents == 0:
        order.status = "complete"
        order.paid_at = now
    order.payment_method, order.payment_reference = method, reference
    order.updated_at = now
    row.due_after_cents = order.amount_due_cents  # what its receipt says is still due, whenever it is rendered
    org.session.add_all((order, row))
    await org.session.flush()
    org.touch("order", order.id)  # type: ignore[arg-type]
    return row, excess


async def refund(org: OrgContext, order_id: int, *, amount: int, to: str, reason: str, dry_run: bool) -> RefundResult:
    order = await get_or_404(org, Order, order_id, for_update=True)
    money = org.currency
    most = held(order)
    if amount > most:
        paid = format_money(order.amount_paid_cents, money)
        back = format_money(order.amount_refunded_cents, money)
        raise Conflict(
            f"Order {order_id} can be refunded at most {format_money(most, money)} (paid {paid}, refunded {back} "
            "already); call again with an amount up to that."
            if most
            else f"Nothing has been paid on order {order_id} that is not already given back, so there is nothing to "
            "refund; record_order_payment records money received."
        )
    if to == "original":
        parts = await _by_method(org, order, amount)
    else:  # as credit, or paid out by the method named (cash over the counter, say)
        parts = [RefundPart(method=to, amount_cents=amount)]
    if dry_run:
        return RefundResult(
            dry_run=True,
            order_id=order_id,
            currency=money,
            note=f"Preview only: nothing was refunded and no email was queued. Call again with dry_run false to "
            f"refund {format_money(amount, money)}.",
            would_refund_cents=amount,
            would_refund=parts,
            would_email=1,
        )
    credit_id = None
    if to == "credit":
        row = await _to_credit(org, order, "refund", amount, reason)
        credit_id = row.credit_id
        rows = [row]
    else:
        rows = [await _row(org, order, "refund", p.amount_cents, p.method, org.today(), reason=reason) for p in parts]
    order.amount_refunded_cents += amount
    order.updated_at = org.now()
    org.session.add(order)
    await org.session.flush()
    org.touch("order", order_id)
    vendor = await get_or_404(org, Vendor, order.vendor_id)
    market = await get_or_404(org, Market, order.market_id)
    how = " and ".join(f"{format_money(p.amount_cents, money)} by {words(p.method)}" for p in parts)
    emails.email_vendor(
        org,
        vendor,
        "payment_refunded",
        record_type="order",
        record_id=order_id,
        order_id=order_id,
        market_name=market.name,
        refunded=format_money(amount, money),
        how=how if to != "credit" else "as credit to your account, to spend on your next booking",
        reason=reason,
    )
    return RefundResult(
        dry_run=False,
        order_id=order_id,
        currency=money,
        refundable_cents=held(order),
        refunded_cents=amount,
        refunded=[RefundPart(method=r.method, amount_cents=r.amount_cents, payment_id=r.id) for r in rows],
        credit_id=credit_id,
    )


async def _by_method(org: OrgContext, order: Order, amount: int) -> list[RefundPart]:
    """A refund to the original methods: what each method paid and has not had back, the latest paid first."""
    rows = await org.session.execute(
        scoped(org, Payment, Payment.method, Payment.kind, func.sum(Payment.amount_cents), func.max(Payment.id))
        .where(Payment.order_id == order.id, Payment.method != "credit")
        .group_by(Payment.method, Payment.kind)
    )
    net: dict[str, int] = {}
    latest: dict[str, int] = {}
    for method, kind, total, last in rows.all():
        net[method] = net.get(method, 0) + (int(total) if kind == "payment" else -int(total))
        if kind == "payment":
            latest[method] = last
    parts, left = [], amount
    for method in sorted(latest, key=lambda m: -latest[m]):
        take = min(left, max(0, net[method]))
        if take:
            parts.append(RefundPart(method=method, amount_cents=take))
            left -= take
    if left:  # not expected: every cent held came in by one of these methods
        raise Conflict(
            f"Only {format_money(amount - left, org.currency)} of order {order.id}'s payments can go back by the "
            "methods they came in; refund the rest with to: credit."
        )
    return parts


async def list_payments(
    org: OrgContext,
    *,
    order_id: int | None,
    vendor_id: int | None,
    market_id: int | None,
    method: str | None,
    kind: str | None,
    from_date: date | None,
    to_date: date | None,
    limit: int,
    offset: int,
) -> Page[PaymentOut]:
    filters: list[Any] = [*ranges.on_days(Payment.received_on, from_date, to_date)]
    for column, value in (
        (Payment.order_id, order_id),
        (Payment.vendor_id, vendor_id),
        (Payment.method, method),
        (Payment.kind, kind),
    ):
        if value is not None:
            filters.append(column == value)
    if market_id is not None:
        filters.append(Order.market_id == market_id)
    stmt = (
        scoped(org, Payment, Payment, Order.market_id, Market.name, Vendor.business_name)
        .join(Order, Order.id == Payment.order_id)
        .join(Market, Market.id == Order.market_id)
        .join(Vendor, Vendor.id == Payment.vendor_id)
        .where(*filters)
    )
    total = await count(org, stmt)
    rows = (await org.session.execute(stmt.order_by(Payment.id.desc()).limit(limit).offset(offset))).all()  # type: ignore[union-attr]
    return Page.of(
        [
            PaymentOut(
                **p.model_dump(exclude={"organization_id"}),
                market_id=market_id_,
                market_name=market_name,
                business_name=business_name,
                currency=org.currency,
            )
            for p, market_id_, market_name, business_name in rows
        ],
        total=total,
        limit=limit,
        offset=offset,
    )
