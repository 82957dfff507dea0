from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from market_mcp.schemas.common import Row, Schema

CreditStatus = Literal["live", "used", "expired"]


class CreditTransactionOut(Schema):
    id: int | None = Field(description="None for an expiry that is due but not yet written to the ledger.")
    kind: str = Field(description="grant, use, adjust, expire or delete.")
    amount_cents: int = Field(description="Signed: positive adds to the credit, negative takes from it.")
    balance_after_cents: int
    order_id: int | None
    booking_id: int | None
    note: str
    created_at: datetime


class CreditOut(Row):
    COMPACT = (
        "id",
        "vendor_id",
        "business_name",
        "amount_cents",
        "remaining_cents",
        "currency",
        "status",
        "expires_at",
    )

    id: int
    vendor_id: int
    business_name: str
    amount_cents: int = Field(description="What was granted.")
    remaining_cents: int = Field(description="What is left to spend (0 once expired).")
    currency: str
    status: CreditStatus = Field(description="live (can be spent), used (nothing left) or expired.")
    source: str = Field(description="manual, application, rebook, cancellation or weather.")
    expires_at: datetime | None
    notes: str
    application_id: int | None
    created_at: datetime


class CreditDetail(CreditOut):
    transactions: list[CreditTransactionOut] = Field(description="The ledger, oldest first; sums to remaining_cents.")


class CreditDeleted(Schema):
    id: int
    deleted: bool
    vendor_id: int
    amount_cents: int
    removed_cents: int = Field(description="The balance the deletion took off the vendor.")
    currency: str
