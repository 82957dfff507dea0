"""Compliance documents: the kinds an organisation asks for, each vendor's documents, and who is booked without
valid ones."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from market_mcp.schemas.common import Page, Schema, Stripped, when_set
from market_mcp.schemas.text import OneLine

KindName = Annotated[
    str,
    Stripped,
    Field(min_length=1, max_length=100, description="e.g. Food licence."),
    OneLine,
]
DocumentState = Literal["valid", "expiring_soon", "expired", "missing"]
STATES: tuple[str, ...] = ("valid", "expiring_soon", "expired", "missing")


class DocumentKindOut(Schema):
    id: int
    name: str
    required_for_all: bool = Field(description="Every vendor needs it.")
    required_for_categories: list[str] = Field(description="Vendors of these categories need it.")
    required_for_market_ids: list[int] = Field(description="Every vendor at these markets needs it.")
    remind_days_before: int = Field(description="Days before expiry the vendor is emailed a reminder (once).")
    required_for: str = Field(description="Who needs it, in words.")
    documents_on_record: int = Field(description="Vendors with a current document of this kind.")


class DocumentKinds(Schema):
    summary: str = Field(description="What this call changed.")
    kinds: list[DocumentKindOut] = Field(description="Every document kind of the organisation, by name.")


class VendorDocumentBrief(Schema):
    """A vendor's current document of a kind, as get_vendor shows it."""

    id: int
    kind: str
    number: str
    expires_on: date | None = Field(description="null: it does not expire.")
    status: Literal["valid", "expiring_soon", "expired"] = Field(
        description="As of today; expiring_soon: within its kind's remind_days_before."
    )
    file_uri: str | None = Field(description="The stored file as a resource (resources/read), if one was given.")


class VendorDocumentOut(VendorDocumentBrief):
    vendor_id: int
    business_name: str
    kind_id: int
    issuer: str
    filename: str | None
    content_type: str | None
    size: int | None = Field(description="Bytes of the file.")
    reminded_at: datetime | None = Field(description="When the expiry reminder was queued.")
    created_at: datetime


class RecordedDocument(VendorDocumentOut):
    summary: str
    superseded_document_id: int | None = Field(description="The vendor's previous document of this kind, now history.")


class RequiredDocument(Schema):
    kind: str
    state: DocumentState = Field(
        description="On the market date: valid; expiring_soon (valid, but due for renewal); expired (expires before "
        "the date); missing (none on record)."
    )
    expires_on: date | None = when_set("The current document's expiry.")
    document_id: int | None = when_set("The current document.")


class ComplianceRow(Schema):
    """One booking (pending or confirmed) of a vendor on a market date, with each document it requires."""

    vendor_id: int
    business_name: str
    category: str
    market_date_id: int
    market_name: str
    scheduled_at: date
    booking_id: int
    compliant: bool = Field(description="Every required document is valid on the date.")
    documents: list[RequiredDocument] = Field(description="Each required document's state; [] if none required.")


class CompliancePage(Page[ComplianceRow]):
    summary: str = Field(description="Who is booked without valid documents, in one sentence.")
    document_kinds: list[str] = Field(description="The organisation's document kinds and who needs each.")
    problems_only: bool = Field(description="Only bookings missing a valid document are listed.")
