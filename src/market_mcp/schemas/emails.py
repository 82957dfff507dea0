from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from market_mcp.schemas.common import Page, Schema

EmailStatus = Literal["queued", "sent", "failed"]
EmailKind = Literal[
    "application_approved",
    "application_rejected",
    "application_waitlisted",
    "application_reminder",
    "order_approved",
    "order_rejected",
    "order_reminder",
    "payment_received",
    "booking_confirmed",
    "booking_rejected",
    "booking_cancelled",
    "booking_rebooked",
    "waitlist_offer",
    "market_date_cancelled",
    "market_message",
    "vendor_message",
]


class EmailOut(Schema):
    id: int
    to: str
    subject: str
    body: str
    kind: str
    status: EmailStatus
    vendor_id: int | None
    record_type: str | None = Field(description="The kind of record it concerns, e.g. application.")
    record_id: int | None
    attempts: int
    sent_at: datetime | None
    error: str | None = Field(description="Why the last delivery attempt failed.")
    created_at: datetime


class EmailPage(Page[EmailOut]):
    delivery: str = Field(description="Whether queued emails are being delivered, and how.")


class Recipient(Schema):
    vendor_id: int
    business_name: str
    email: str


class MassEmailResult(Schema):
    dry_run: bool
    market_id: int
    market_date_id: int | None
    subject: str
    recipient_count: int
    recipients: list[Recipient] = Field(description="The first 100 recipients, by business name.")
    truncated: bool = Field(description="True when there are more recipients than listed.")
    emails_queued: int
