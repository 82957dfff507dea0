from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from market_mcp.schemas.common import Row, Schema, when_set
from market_mcp.schemas.emails import Emailing

OrderStatus = Literal["pending", "payment_pending", "complete", "rejected", "archived"]
PaymentMethod = Literal["card", "cash", "bank_transfer", "cheque", "online"]


class OrderLine(Schema):
    booking_id: int
    market_date_id: int
    scheduled_at: date
    status: str
    space_number: str | None
    amount_cents: int


class CreditApplied(Schema):
    credit_id: int
    amount_cents: int = Field(description="How much of the credit this order used.")
    created_at: datetime


class PaymentLine(Schema):
    id: int
    kind: Literal["payment", "refund", "excess"]
    amount_cents: int
    method: str = Field(description="How the money moved; credit: to the vendor's credit (credit_id).")
    credit_id: int | None
    reference: str | None
    reason: str | None
    received_on: date
    receipt_number: int | None = when_set("A payment's receipt number (RCT-0001 is 1).")
    receipt_pdf: str | None = when_set("A payment's receipt, a PDF resource to read and hand over.")


class OrderOut(Row):
    COMPACT = (
        "id",
        "status",
        "vendor_id",
        "business_name",
        "market_id",
        "market_name",
        "total_cents",
        "amount_due_cents",
        "currency",
        "first_date",
        "last_date",
        "date_count",
    )

    id: int
    status: OrderStatus
    vendor_id: int
    business_name: str
    market_id: int
    market_name: str
    total_cents: int
    credit_applied_cents: int
    amount_paid_cents: int
    amount_refunded_cents: int
    amount_due_cents: int = Field(description="What the vendor still owes: total − credits − paid.")
    currency: str
    paid_at: datetime | None
    payment_due_on: date | None = Field(description="Its payment deadline, under its market's terms.")
    payment_method: str | None
    payment_reference: str | None
    rejection_reason: str | None
    invoice_number: int | None = Field(None, description="Given when first approved (INV-0001 is 1).")
    approved_at: datetime | None
    archived_at: datetime | None
    created_at: datetime
    first_date: date | None = Field(description="Its first trading day still booked (pending or confirmed).")
    last_date: date | None = Field(description="Its last trading day still booked.")
    date_count: int = Field(description="Trading days still booked on it.")


class OrderDetail(OrderOut, Emailing):
    bookings: list[OrderLine] = Field(description="The order's line items: one booking per market date.")
    credits_applied: list[CreditApplied]
    payments: list[PaymentLine] = Field(description="Its payments ledger, oldest first.")
    invoice_pdf: str | None = when_set("Its invoice, a PDF resource to read and hand over (once approved).")
    priced_as: str | None = when_set('Each date\'s stall type and add-ons: "double + power".')


class ApprovedOrder(OrderDetail):
    """An order just approved: with payment links configured and money due, the vendor's link to pay."""

    payment_url: str | None = when_set("The vendor's page to pay what is due online (also in their email).")
    payment_link_note: str | None = when_set("Why there is no payment_url although money is due, and what to do.")
