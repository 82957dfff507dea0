from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from market_mcp.schemas.common import Schema, when_set
from market_mcp.schemas.emails import Emailing

PaymentKind = Literal["payment", "refund", "excess"]
RefundTo = Literal["original", "credit"]
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
