from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BeforeValidator, Field

from market_mcp.schemas.common import Row, Schema, Stripped, nullable
from market_mcp.schemas.compliance import VendorDocumentBrief
from market_mcp.schemas.emails import Emailing
from market_mcp.schemas.text import OneLine, OneLineFirst

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

BusinessName = Annotated[
    str, Stripped, Field(min_length=1, max_length=200, description="The stall's trading name."), OneLine
]
ContactName = Annotated[str, Stripped, Field(max_length=200), OneLine]
Email = Annotated[
    str,
    Stripped,
    Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN, description="Unique in the organisation."),
    OneLineFirst,
]
Phone = Annotated[str, Stripped, Field(max_length=50), OneLine]
Category = Annotated[str, Stripped, Field(max_length=50, description="What they sell."), OneLine]

# Optional forms, with the description on the property itself.
MaybeBusinessName = nullable(BusinessName)
MaybeContactName = nullable(ContactName)
MaybeEmail = nullable(Email)
MaybePhone = nullable(Phone)
MaybeCategory = nullable(Category)


class VendorFields(Schema):
    """The fields a person sets on a vendor (service input); None means unchanged."""

    business_name: str | None = None
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None
    category: str | None = None
    needs: list[str] | None = None


class VendorOut(Row):
    id: int
    business_name: str
    contact_name: str
    email: str
    phone: str
    category: str
    trusted: bool = Field(description="Their orders are approved on arrival (set by approve_order).")
    needs: Annotated[list[str], BeforeValidator(lambda v: v or [])] = Field(
        [], description="What their stall must have."
    )
    created_at: datetime
    updated_at: datetime


class VendorSummary(VendorOut):
    COMPACT = (
        "id",
        "business_name",
        "contact_name",
        "email",
        "phone",
        "category",
        "total_bookings",
        "last_attended",
        "credit_balance_cents",
        "currency",
    )

    total_bookings: int = Field(description="Confirmed bookings, past and upcoming.")
    last_attended: date | None = Field(description="The last market date they attended.")
    credit_balance_cents: int = Field(description="Unexpired credit they can still spend.")
    currency: str


class VendorApplication(Schema):
    id: int
    market_id: int
    market_name: str
    status: str
    submitted_at: datetime
    decided_at: datetime | None


class VendorOrder(Schema):
    id: int
    market_id: int
    status: str
    total_cents: int
    credit_applied_cents: int
    amount_due_cents: int
    created_at: datetime


class VendorBooking(Schema):
    id: int
    market_date_id: int
    market_name: str
    scheduled_at: date
    status: str
    space_number: str | None
    amount_cents: int
    attended: bool | None


class VendorCredit(Schema):
    id: int
    amount_cents: int
    remaining_cents: int
    status: str
    source: str
    expires_at: datetime | None
    notes: str


class VendorDetail(VendorSummary):
    notes_count: int
    applications: list[VendorApplication] = Field(description="The 10 most recent applications.")
    orders: list[VendorOrder] = Field(description="The 10 most recent orders.")
    bookings: list[VendorBooking] = Field(description="The 10 most recent bookings by market date.")
    credits: list[VendorCredit] = Field(description="The 10 most recent credits (see list_credits for all).")
    documents: list[VendorDocumentBrief] = Field(
        [], description="Current compliance documents by kind (record_vendor_document)."
    )


class VendorNoteOut(Schema):
    id: int
    vendor_id: int
    note: str
    author: str = Field(description="The name of the token that added it.")
    created_at: datetime


class EmailQueued(Emailing):
    email_id: int
    vendor_id: int | None
    to: str
    subject: str
    kind: str
    status: str = Field(description="queued: in the outbox, not yet sent.")
