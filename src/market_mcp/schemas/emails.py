from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from market_mcp.schemas.common import Page, Row, Schema, when_set

EmailStatus = Literal["queued", "sent", "failed"]
Delivery = Literal["sending", "not_configured"]
EmailKind = Literal[
    "application_approved",
    "application_rejected",
    "application_waitlisted",
    "application_reminder",
    "order_approved",
    "order_rejected",
    "order_reminder",
    "payment_link",
    "payment_received",
    "payment_refunded",
    "booking_confirmed",
    "booking_rejected",
    "booking_cancelled",
    "booking_rebooked",
    "waitlist_offer",
    "market_date_cancelled",
    "market_message",
    "vendor_message",
    "document_expiring",
]


class EmailOut(Row):
    COMPACT = ("id", "to", "subject", "kind", "status", "vendor_id", "created_at", "sent_at", "error")

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
    attachment: str | None = Field(None, description="A PDF sent with it: receipt:12 is payment 12's receipt.")


class EmailDelivery(Schema):
    """Whether queued email reaches anyone: a model must not report queued mail as sent."""

    delivery: Delivery = Field(description="sending: SMTP is configured; not_configured: nobody receives email.")
    note: str


class EmailsQueued(EmailDelivery):
    queued: int = Field(description="Emails this call put in the outbox (not yet sent).")


class Emailing(Schema):
    """A result of a tool that emails vendors: the server adds what the call queued."""

    emails: EmailsQueued | None = when_set("What this call queued, and whether it will be delivered.")


class EmailPage(Page[EmailOut]):
    delivery: Delivery
    delivery_note: str


class Recipient(Schema):
    vendor_id: int
    business_name: str
    email: str


class SampleEmail(Schema):
    to: str
    subject: str
    body: str = Field(description="As the first recipient will read it: the server adds the greeting and sign-off.")


class MassEmailResult(Emailing):
    dry_run: bool
    market_id: int
    market_date_id: int | None
    subject: str
    truncated: bool = Field(description="True when there are more recipients than listed.")
    recipient_count: int | None = when_set("Vendors emailed.")
    recipients: list[Recipient] | None = when_set("The first 100 recipients, by business name.")
    note: str | None = when_set("Dry run: what this preview is.")
    would_email: int | None = when_set("Dry run: vendors who would be emailed.")
    would_email_to: list[Recipient] | None = when_set("Dry run: the first 100 of them, by business name.")
    would_send: SampleEmail | None = when_set("Dry run: the first email, as it would be sent.")
