"""Invoices and receipts: their numbers, and the PDFs (market_mcp.documents lays them out).

An order is invoiced when it is first approved: that is when it starts to charge the vendor. A payment received
gets a receipt when it is recorded; refunds and excess moved to credit get none. Invoices and receipts are two
series, each numbered 1, 2, … per organisation (INV-0001, RCT-0001): the organisation's counter is raised with
UPDATE … RETURNING in the transaction that issues the number, which holds its row until commit on both SQLite
(one writer) and PostgreSQL (a row lock), so two transactions never take the same number, and a rolled-back one
gives its number back: no repeats, no gaps. A unique index on (organisation, number) is the backstop.

An invoice is rendered from the order as it is now (its dates still booked, credit applied, payments, what is
due), under its one number; a receipt from its payment row, which never changes, so it reads the same whenever it
is rendered. Amounts are tax-inclusive: the tax in an amount is amount × rate / (100 + rate), to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from market_mcp.auth import OrgContext
from market_mcp.db.tables import ACTIVE_BOOKING_STATUSES, Order, Organization, Payment, Vendor
from market_mcp.documents import Document, render
from market_mcp.errors import Conflict, NotFound
from market_mcp.schemas.common import format_money, long_date
from market_mcp.services import orders, payments
from market_mcp.services.numbering import invoice_label, receipt_label
from market_mcp.services.scope import get_or_404

PDF = "application/pdf"


def tax_included(amount_cents: int, basis_points: int) -> int:
    """The tax in a tax-inclusive amount at a rate in hundredths of a percent, rounded half up to the cent."""
    return (2 * amount_cents * basis_points + 10_000 + basis_points) // (2 * (10_000 + basis_points))


def rate_words(basis_points: int) -> str:
    """10%, 7.5%, 8.1%: as a rate is written."""
    return f"{basis_points / 100:.2f}".rstrip("0").rstrip(".") + "%"


# ---------------------------------------------------------------- the documents


@dataclass(frozen=True)
class Issuer:
    """What an organisation's documents say about it, and its tax (None: no tax shown)."""

    lines: list[str]
    tax_label: str | None
    tax_rate: int | None  # basis points

    @property
    def taxed(self) -> bool:
        return self.tax_rate is not None and self.tax_rate > 0

    def tax_line(self, amount: int, currency: str) -> tuple[str, str]:
        return (
            f"{self.tax_label or 'Tax'} included at {rate_words(self.tax_rate or 0)}",
            format_money(tax_included(amount, self.tax_rate or 0), currency),
        )


async def _issuer(org: OrgContext) -> tuple[Issuer, bool]:
    """The organisation on its documents, and whether they are tax invoices (a tax number and a rate)."""
    row = await org.session.get(Organization, org.organization_id)
    assert row is not None  # the caller's own organisation
    lines = [row.legal_name or row.name]
    if row.legal_name and row.legal_name != row.name:
        lines.append(f"Trading as {row.name}")
    if row.tax_number:
        kind = "ABN" if row.currency == "AUD" else f"{row.tax_label or 'Tax'} number"
        lines.append(f"{kind}: {row.tax_number}")
    issuer = Issuer(lines, row.tax_label, row.tax_rate_basis_points)
    return issuer, bool(row.tax_number) and issuer.taxed


async def _vendor_lines(org: OrgContext, vendor_id: int) -> list[str]:
    vendor = await get_or_404(org, Vendor, vendor_id)
    return [v for v in (vendor.business_name, vendor.contact_name, vendor.email, vendor.phone) if v and v.strip()]


def _local_day(org: OrgContext, moment: Any) -> date:
    return moment.astimezone(org.tz).date() if moment is not None else org.today()


async def invoice_pdf(org: OrgContext, order_id: int) -> tuple[str, bytes]:
    """An approved order's invoice: (file name, PDF). Another organisation's order is not found, as any missing
    one; an order never approved has no invoice yet (409, saying how it gets one)."""
    order = await get_or_404(org, Order, order_id)
    if order.invoice_number is None:
        raise Conflict(
            f"Order {order_id} has no invoice: it is {order.previous_status or order.status} and was never approved. "
            "An order is invoiced when approve_order approves it."
            if order.status != "rejected"
            else f"Order {order_id} was rejected before it was approved, so it was never invoiced."
        )
    detail = await orders.get_order(org, order_id)
    issuer, tax_invoice = await _issuer(org)
    money = org.currency

    def m(cents: int) -> str:
        return format_money(cents, money)

    label = invoice_label(order.invoice_number)
    rows = [
        (
            f"Stall at {detail.market_name}, {long_date(line.scheduled_at)}"
            + (f" (space {line.space_number})" if line.space_number else ""),
            m(line.amount_cents),
        )
        for line in detail.bookings
        if line.status in ACTIVE_BOOKING_STATUSES
    ]
    totals = [(f"Total (including {issuer.tax_label or 'tax'})" if issuer.taxed else "Total", m(detail.total_cents))]
    if issuer.taxed:
        totals.append(issuer.tax_line(detail.total_cents, money))
    if detail.credit_applied_cents:
        totals.append(("Credit applied", "-" + m(detail.credit_applied_cents)))
    totals.append(("Amount paid", "-" + m(detail.amount_paid_cents)))
    totals.append(("Amount due", m(detail.amount_due_cents)))

    ledger = []
    for p in detail.payments:
        how = payments.words(p.method)
        if p.kind == "payment":
            what = f"{p.received_on:%d %b %Y}: received, {how}" + (f", ref {p.reference}" if p.reference else "")
            if p.receipt_number:
                what += f" (receipt {receipt_label(p.receipt_number)})"
            ledger.append((what, m(p.amount_cents)))
        elif p.kind == "refund":
            ledger.append((f"{p.received_on:%d %b %Y}: refunded, {how}", "-" + m(p.amount_cents)))
        else:
            ledger.append(
                (f"{p.received_on:%d %b %Y}: paid beyond what is due, moved to credit", "-" + m(p.amount_cents))
            )

    notes = []
    if detail.status == "rejected" or (detail.status == "archived" and order.previous_status == "rejected"):
        notes.append("This order was rejected: this invoice is void and nothing is due on it.")
    elif detail.amount_due_cents:
        notes.append(f"Please pay {m(detail.amount_due_cents)} before market day, quoting {label}.")
    else:
        notes.append("Paid in full. Thank you.")
    if detail.amount_refunded_cents:
        notes.append(f"{m(detail.amount_refunded_cents)} has been refunded on this order.")
    notes.append(f"Amounts are in {money}" + (f" and include {issuer.tax_label or 'tax'}." if issuer.taxed else "."))
    document = Document(
        title="Tax invoice" if tax_invoice else "Invoice",
        number=label,
        issued=_local_day(org, order.approved_at),
        issuer=issuer.lines,
        billed_to=await _vendor_lines(org, order.vendor_id),
        facts=[("Order", str(order_id)), ("Market", detail.market_name)],
        columns=("Description", f"Amount ({money})"),
        rows=rows,
        totals=totals,
        sections=[("Payments", ledger)] if ledger else [],
        notes=notes,
    )
    return f"{label}.pdf", render(document)


async def receipt_pdf(org: OrgContext, payment_id: int) -> tuple[str, bytes]:
    """A payment's receipt: (file name, PDF). Another organisation's payment is not found, as any missing one;
    a refund or excess row has no receipt (404 in words that say so)."""
    payment = await get_or_404(org, Payment, payment_id)
    if payment.kind != "payment" or payment.receipt_number is None:
        raise NotFound(
            f"Payment {payment_id} is a {payment.kind}, not money received, so it has no receipt; "
            "list_payments with kind payment lists those that do."
        )
    order = await get_or_404(org, Order, payment.order_id)
    detail = await orders.get_order(org, payment.order_id)
    issuer, tax_invoice = await _issuer(org)
    money = org.currency

    def m(cents: int) -> str:
        return format_money(cents, money)

    label = receipt_label(payment.receipt_number)
    facts = [("Order", str(order.id))]
    if order.invoice_number:
        facts.append(("Invoice", invoice_label(order.invoice_number)))
    facts += [
        ("Market", detail.market_name),
        ("Received", long_date(payment.received_on)),
        ("Method", payments.words(payment.method)),
    ]
    if payment.reference:
        facts.append(("Reference", payment.reference))
    totals = [("Amount received", m(payment.amount_cents))]
    if issuer.taxed:
        totals.append(issuer.tax_line(payment.amount_cents, money))
    due = payment.due_after_cents if payment.due_after_cents is not None else detail.amount_due_cents
    totals.append((f"Still due on order {order.id}", m(due)))
    document = Document(
        title="Receipt",
        number=label,
        issued=payment.received_on,
        issuer=issuer.lines,
        billed_to=await _vendor_lines(org, payment.vendor_id),
        facts=facts,
        columns=("Description", f"Amount ({money})"),
        rows=[(f"Payment for order {order.id}, {detail.market_name}", m(payment.amount_cents))],
        totals=totals,
        notes=["Thank you for your payment."]
        + ([f"{issuer.tax_label or 'Tax'} is included in the amounts shown."] if tax_invoice else []),
    )
    return f"{label}.pdf", render(document)


async def attachment(session: AsyncSession, organization_id: int, name: str) -> tuple[str, bytes]:
    """The document an outbox email names ("receipt:<payment id>"), rendered for its organisation at delivery:
    (file name, PDF)."""
    kind, _, number = name.partition(":")
    if kind != "receipt" or not number.isdigit():
        raise ValueError(f"unknown attachment {name!r}")
    row = await session.get(Organization, organization_id)
    if row is None:
        raise NotFound(f"Organisation {organization_id} not found.")
    org = OrgContext(
        session=session,
        organization_id=organization_id,
        organization_name=row.name,
        organization_slug=row.slug,
        currency=row.currency,
        timezone=row.timezone,
        token_id=0,
        token_name="outbox delivery",
        scope="read",
    )
    return await receipt_pdf(org, int(number))
