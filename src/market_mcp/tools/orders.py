"""orders: what vendors buy (a space on each of some market dates), approved against capacity and paid."""

from __future__ import annotations

from typing import Annotated

from mcp.types import CallToolResult, EmbeddedResource, TextContent, TextResourceContents
from pydantic import Field
from pydantic_core import to_json

from market_mcp.schemas.common import (
    MAX_ID,
    PAGE_SIZE,
    Day,
    Detail,
    DryRun,
    FromDate,
    IdempotencyKey,
    IdFilter,
    Limit,
    Money,
    Offset,
    OverrideReason,
    Page,
    PositiveMoney,
    ToDate,
)
from market_mcp.schemas.orders import ApprovedOrder, OrderDetail, OrderOut, OrderStatus, PaymentMethod
from market_mcp.schemas.payments import (
    MoneyMethod,
    OverdueOrderOut,
    PaymentKind,
    PaymentLinkResult,
    PaymentOut,
    RefundResult,
    RefundTo,
    ReleaseResult,
)
from market_mcp.schemas.reports import ExportKind, ExportOut, MoneyReport
from market_mcp.schemas.site import OptionName
from market_mcp.schemas.text import EmailText, OneLine
from market_mcp.services import deadlines, orders, payments, reports
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset(
    "orders", "Orders: take, approve, reject, archive, record payments and refunds for vendors' bookings."
)

OrderId = Annotated[int, Field(ge=1, le=MAX_ID)]


@toolset.read("List orders")
async def list_orders(
    org: Org,
    status: Annotated[
        OrderStatus | None, Field(description="e.g. pending (to approve), payment_pending (unpaid).")
    ] = None,
    vendor_id: IdFilter = None,
    market_id: IdFilter = None,
    query: Annotated[str | None, Field(max_length=200, description="Vendor name, contact or email.")] = None,
    include_archived: bool = False,
    from_date: FromDate = None,
    to_date: ToDate = None,
    paid_from: Day | None = None,
    paid_to: Day | None = None,
    detail: Detail = "compact",
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> Page[OrderOut]:
    """Orders, newest first, with total, amount due and trading days (from_date/to_date); paid_from/paid_to: the day
    paid in full."""
    page = await orders.list_orders(
        org,
        status=status,
        vendor_id=vendor_id,
        market_id=market_id,
        query=query,
        include_archived=include_archived,
        from_date=from_date,
        to_date=to_date,
        paid_from=paid_from,
        paid_to=paid_to,
        limit=limit,
        offset=offset,
    )
    return page.detailed(detail)


@toolset.read("Get order")
async def get_order(org: Org, order_id: OrderId) -> OrderDetail:
    """One order: its bookings (one per date), credits applied, amount due."""
    return await orders.get_order(org, order_id)


@toolset.write("Take order", destructive=False, idempotent=False, emails=True)
async def create_order(
    org: Org,
    vendor_id: Annotated[int, Field(ge=1, le=MAX_ID, description="Needs an approved application.")],
    market_date_ids: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID)]],
        Field(min_length=1, max_length=60, description="The dates to book, all of one market."),
    ],
    amount_per_date: Annotated[Money | None, Field(description="Fee per date; default: the market's price.")] = None,
    stall_type: Annotated[OptionName | None, Field(description="Priced type (get_site_plan); default: first.")] = None,
    add_ons: Annotated[list[OptionName] | None, Field(max_length=10)] = None,
    override_reason: OverrideReason = None,
    idempotency_key: IdempotencyKey = None,
) -> ApprovedOrder:
    """Take an order: a pending booking for a vendor on each date of one market. Needs an approved application and
    open bookings; a full date is refused (add_to_waitlist). A trusted vendor's is approved, emailing them."""
    return await orders.create_order(
        org,
        vendor_id,
        market_date_ids=market_date_ids,
        amount_per_date_cents=amount_per_date,
        stall_type=stall_type,
        add_ons=add_ons,
        override_reason=override_reason,
    )


@toolset.write("Approve order", destructive=False, idempotent=False, emails=True)
async def approve_order(
    org: Org,
    order_id: OrderId,
    trust_future_orders: Annotated[bool, Field(description="Approve this vendor's later orders on arrival.")] = False,
    apply_credits: Annotated[bool, Field(description="Spend the vendor's credits on it.")] = True,
    override_reason: OverrideReason = None,
    idempotency_key: IdempotencyKey = None,
) -> ApprovedOrder:
    """Approve a pending order: confirm its bookings (a full date: 409) and apply the vendor's credits; it becomes
    payment_pending or complete. Emails the vendor."""
    return await orders.approve_order(
        org,
        order_id,
        trust_future_orders=trust_future_orders,
        apply_credits=apply_credits,
        override_reason=override_reason,
    )


@toolset.write("Reject order", destructive=True, idempotent=False, emails=True)
async def reject_order(
    org: Org,
    order_id: OrderId,
    reason: Annotated[str | None, Field(max_length=500, description="Why, for the vendor's email."), EmailText] = None,
    idempotency_key: IdempotencyKey = None,
) -> OrderDetail:
    """Turn down a pending or unpaid order: bookings rejected; credit used and money paid become vendor credit
    (refund_order_payment first to pay back). Emails the vendor."""
    return await orders.reject_order(org, order_id, reason=reason)


@toolset.write("Archive order", destructive=True, idempotent=False)
async def archive_order(org: Org, order_id: OrderId, idempotency_key: IdempotencyKey = None) -> OrderDetail:
    """Hide an order from lists (restore_order unhides it); nothing else changes. Emails nobody."""
    return await orders.archive_order(org, order_id)


@toolset.write("Restore order", destructive=False, idempotent=False)
async def restore_order(org: Org, order_id: OrderId, idempotency_key: IdempotencyKey = None) -> OrderDetail:
    """Un-archive an order, with its former status (a cancelled booking: restore_booking). Emails nobody."""
    return await orders.restore_order(org, order_id)


@toolset.write("Reopen order for payment", destructive=True, idempotent=False)
async def modify_order(org: Org, order_id: OrderId, idempotency_key: IdempotencyKey = None) -> OrderDetail:
    """Send a payment_pending order back to pending, to approve again. No tool edits an order's dates: reject it and
    take a new one, or rebook_booking. Emails nobody."""
    return await orders.modify_order(org, order_id)


@toolset.write("Complete free order", destructive=False, idempotent=False, emails=True)
async def complete_zero_amount_order(
    org: Org, order_id: OrderId, idempotency_key: IdempotencyKey = None
) -> OrderDetail:
    """Complete a pending order totalling zero; its bookings are confirmed. Emails the vendor."""
    return await orders.complete_zero_amount_order(org, order_id)


@toolset.write("Record payment", destructive=False, idempotent=False, emails=True)
async def record_order_payment(
    org: Org,
    order_id: OrderId,
    method: Annotated[PaymentMethod, Field(description="How they paid.")],
    amount: Annotated[PositiveMoney | None, Field(description="Default: all that is due.")] = None,
    received_on: Day | None = None,
    reference: Annotated[str | None, Field(max_length=200), OneLine] = None,
    idempotency_key: IdempotencyKey = None,
) -> OrderDetail:
    """Record money received on a payment_pending order (less than due: the rest stays due; more: vendor credit).
    Emails the vendor a receipt."""
    return await orders.record_order_payment(
        org, order_id, method=method, reference=reference, amount_cents=amount, received_on=received_on
    )


@toolset.write("Send payment link", destructive=False, idempotent=False, emails=True)
async def create_payment_link(org: Org, order_id: OrderId, idempotency_key: IdempotencyKey = None) -> PaymentLinkResult:
    """Email the vendor a Stripe link to pay what a payment_pending order has due (an open one is reused)."""
    return await orders.create_payment_link(org, order_id)


@toolset.write("Refund payment", destructive=True, idempotent=False, emails=True)
async def refund_order_payment(
    org: Org,
    order_id: OrderId,
    amount: Annotated[PositiveMoney, Field(description="At most what was paid, less refunds.")],
    reason: Annotated[str, Field(min_length=1, max_length=500, description="For the vendor's email."), EmailText],
    to: Annotated[RefundTo, Field(description="original: as they paid; credit: vendor credit; or how you pay it.")],
    dry_run: DryRun = False,
    idempotency_key: IdempotencyKey = None,
) -> RefundResult:
    """Give back money paid on an order; the vendor does not owe it again. Preview with dry_run. Emails the
    vendor."""
    return await payments.refund(org, order_id, amount=amount, to=to, reason=reason, dry_run=dry_run)


@toolset.read("List payments")
async def list_payments(
    org: Org,
    order_id: IdFilter = None,
    vendor_id: IdFilter = None,
    market_id: IdFilter = None,
    method: MoneyMethod | None = None,
    kind: PaymentKind | None = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> Page[PaymentOut]:
    """Payments, refunds and excess moved to credit, newest first, by the day received."""
    return await payments.list_payments(
        org,
        order_id=order_id,
        vendor_id=vendor_id,
        market_id=market_id,
        method=method,
        kind=kind,
        from_date=from_date,
        to_date=to_date,
        limit=limit,
        offset=offset,
    )


@toolset.write("Remind about payment", destructive=False, idempotent=False, emails=True)
async def send_order_reminder(org: Org, order_id: OrderId, idempotency_key: IdempotencyKey = None) -> OrderDetail:
    """Email the vendor what is still due on a payment_pending order."""
    return await orders.send_order_reminder(org, order_id)


@toolset.read("Overdue orders")
async def list_overdue_orders(
    org: Org, market_id: IdFilter = None, limit: Limit = PAGE_SIZE, offset: Offset = 0
) -> Page[OverdueOrderOut]:
    """Approved orders past their payment deadline (update_market's terms) and still owing, oldest first, with the
    bookings release_unpaid_bookings would free."""
    return await deadlines.list_overdue_orders(org, market_id=market_id, limit=limit, offset=offset)


@toolset.write("Release unpaid bookings", destructive=True, idempotent=True, emails=True)
async def release_unpaid_bookings(
    org: Org,
    market_id: IdFilter = None,
    order_id: IdFilter = None,
    dry_run: DryRun = False,
    idempotency_key: IdempotencyKey = None,
) -> ReleaseResult:
    """Cancel overdue orders' bookings on dates to come, freeing the spaces (waitlist offered if the market auto-
    notifies); they stop being charged. Preview with dry_run. Emails each vendor."""
    return await deadlines.release_unpaid_bookings(org, market_id=market_id, order_id=order_id, dry_run=dry_run)


@toolset.read("Money report")
async def get_money_report(
    org: Org, market_id: IdFilter = None, from_date: FromDate = None, to_date: ToDate = None
) -> MoneyReport:
    """Billed, paid, refunded, credited, written off and outstanding for orders billed in a range, by market, month and
    method, with aged debt by vendor."""
    return await reports.get_money_report(org, market_id=market_id, from_date=from_date, to_date=to_date)


@toolset.read("Export CSV")
async def export_csv(
    org: Org,
    kind: Annotated[ExportKind, Field(description="payments by day received, orders by day billed, bookings by date.")],
    from_date: FromDate = None,
    to_date: ToDate = None,
    market_id: IdFilter = None,
) -> Annotated[CallToolResult, ExportOut]:
    """A CSV of payments, orders or bookings in a range for a spreadsheet: an embedded text/csv resource, also
    readable at its uri."""
    out, text = await reports.export_csv(org, kind=kind, from_date=from_date, to_date=to_date, market_id=market_id)
    structured = out.model_dump(mode="json", by_alias=True)
    return CallToolResult(
        content=[
            TextContent(type="text", text=to_json(structured).decode()),  # the JSON, as every tool's text
            EmbeddedResource(
                type="resource", resource=TextResourceContents(uri=out.uri, mime_type="text/csv", text=text)
            ),
        ],
        structured_content=structured,
    )
