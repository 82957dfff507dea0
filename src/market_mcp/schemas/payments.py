from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from market_mcp.schemas.bookings import WaitlistOffer
from market_mcp.schemas.common import Schema, when_set
from market_mcp.schemas.emails import Emailing

PaymentKind = Literal["payment", "refund", "excess"]
RefundTo = Literal["original", "credit", "cash", "card", "bank_transfer", "cheque", "online"]
MoneyMethod = Literal["card", "cash", "bank_transfer", "cheque", "online", "credit"]  # how money moved on the ledger


class PaymentOut(Schema):  # every field in a list: a ledger row is short
    id: int
    kind: PaymentKind = Field(
        description="payment (received), refund (given back) or excess (paid beyond what the order charges, moved "
        "to the vendor's credit)."
    )
    order_id: int
    vendor_id: int
    business_name: str
    market_id: int
    market_name: str
    amount_cents: int
    currency: str
    method: str = Field(description="card, cash, bank_transfer, cheque, online, or credit (credit_id).")
    credit_id: int | None
    reference: str | None
    reason: str | None
    received_on: date
    created_at: datetime
    receipt_number: int | None = Field(None, description="A payment's receipt (RCT-0001 is 1; get_order: its PDF).")


class RefundPart(Schema):
    method: str
    amount_cents: int
    payment_id: int | None = when_set("The refund's row in the payments ledger.")


class RefundResult(Emailing):
    dry_run: bool
    order_id: int
    currency: str
    refunded_cents: int | None = when_set("Given back.")
    refundable_cents: int | None = when_set("What can still be refunded on the order after this refund.")
    refunded: list[RefundPart] | None = when_set("The refund rows written, by method.")
    credit_id: int | None = when_set("The vendor's credit the refund went to (refunded as credit).")
    note: str | None = when_set("Dry run: what this preview is.")
    would_refund_cents: int | None = when_set("Dry run: what would be given back.")
    would_refund: list[RefundPart] | None = when_set("Dry run: by method.")
    would_email: int | None = when_set("Dry run: vendors who would be emailed.")


class OverdueOrderOut(Schema):  # every field in a list: the row is short
    order_id: int
    vendor_id: int
    business_name: str
    market_id: int
    market_name: str
    payment_due_on: date = Field(description="The deadline it missed.")
    days_overdue: int
    amount_due_cents: int
    currency: str
    releasable_booking_ids: list[int] = Field(
        description="Its confirmed bookings on dates still to come: what release_unpaid_bookings would release."
    )
    auto_release: bool = Field(description="Whether its market releases unpaid bookings by itself.")
    reminders_sent: int


class ReleasedOrder(Schema):
    order_id: int
    vendor_id: int
    business_name: str
    payment_due_on: date
    booking_ids: list[int]
    amount_due_cents: int = Field(description="What it owed before the release.")
    credited_cents: int = Field(description="Paid beyond what it still charges, moved to the vendor's credit.")


class ReleaseResult(Emailing):
    dry_run: bool
    currency: str
    summary: str
    released: list[ReleasedOrder] | None = when_set("Orders whose bookings were released.")
    waitlist_offers: list[WaitlistOffer] | None = when_set("Freed spaces offered to waitlisted vendors.")
    note: str | None = when_set("Dry run: what this preview is.")
    would_release: list[ReleasedOrder] | None = when_set("Dry run: orders whose bookings would be released.")
    would_email: int | None = when_set("Dry run: vendors who would be emailed (plus any waitlist offers).")


class PaymentLinkResult(Emailing):
    order_id: int
    amount_due_cents: int = Field(description="What the link charges: all the order has due.")
    currency: str
    payment_url: str | None = when_set("The vendor's page to pay on (Stripe Checkout).")
    expires_at: datetime | None = when_set("When the link stops working; create_payment_link makes a new one.")
    reused: bool = Field(default=False, description="true: the order's open link for this amount, sent again.")
