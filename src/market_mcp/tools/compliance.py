"""compliance: the documents vendors must hold (insurance, licences) with their expiry, and who is booked
without valid ones."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from market_mcp.schemas.common import MAX_ID, PAGE_SIZE, Day, IdempotencyKey, Limit, Offset, Stripped
from market_mcp.schemas.compliance import CompliancePage, DocumentKinds, KindName, RecordedDocument
from market_mcp.schemas.text import OneLine
from market_mcp.schemas.vendors import Category
from market_mcp.services import compliance
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("compliance", "Compliance: vendors' insurance, licences and other documents, and their expiry.")

VendorId = Annotated[int, Field(ge=1, le=MAX_ID)]
IdFilter = Annotated[int | None, Field(ge=1, le=MAX_ID)]


@toolset.write("Set document kind", destructive=True, idempotent=True)
async def set_document_kind(
    org: Org,
    name: KindName,
    required_for_all: Annotated[bool | None, Field(description="Every vendor needs it.")] = None,
    required_for_categories: Annotated[
        list[Category] | None, Field(max_length=50, description="Vendor categories that need it; [] none.")
    ] = None,
    required_for_market_ids: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None,
        Field(max_length=100, description="Markets where every vendor needs it; [] none."),
    ] = None,
    remind_days_before: Annotated[
        int | None,
        Field(
            ge=0,
            le=compliance.MAX_REMIND_DAYS,
            description="Remind the vendor this many days before expiry (default 30).",
        ),
    ] = None,
    remove: Annotated[bool, Field(description="Delete the kind and its recorded documents.")] = False,
    idempotency_key: IdempotencyKey = None,
) -> DocumentKinds:
    """Create or change a kind of compliance document by name (public liability insurance, food licence) and who
    must hold it: everyone, some categories, or everyone at some markets. Approval and booking then need it valid.
    Returns every kind. Emails nobody."""
    return await compliance.set_document_kind(
        org,
        name,
        required_for_all=required_for_all,
        required_for_categories=required_for_categories,
        required_for_market_ids=required_for_market_ids,
        remind_days_before=remind_days_before,
        remove=remove,
    )


@toolset.write("Record vendor document", destructive=False, idempotent=False)
async def record_vendor_document(
    org: Org,
    vendor_id: VendorId,
    kind: Annotated[str, Stripped, Field(min_length=1, max_length=100, description="A document kind's name."), OneLine],
    number: Annotated[str, Stripped, Field(max_length=100, description="Policy or licence number."), OneLine] = "",
    issuer: Annotated[str, Stripped, Field(max_length=200, description="Insurer or council."), OneLine] = "",
    expires_on: Annotated[Day | None, Field(description="Expiry date; null: does not expire.")] = None,
    file_base64: Annotated[
        str | None, Field(max_length=compliance.MAX_FILE_BASE64, description="The certificate, base64 (5 MB max).")
    ] = None,
    filename: Annotated[
        str | None,
        Stripped,
        Field(min_length=1, max_length=200, description="With file_base64, e.g. cert.pdf."),
        OneLine,
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> RecordedDocument:
    """Record a vendor's document (certificate of currency, licence) with its expiry and optionally the file. It
    replaces their previous one of that kind (kept as history). Refuses an expiry already past. Emails nobody."""
    return await compliance.record_vendor_document(
        org,
        vendor_id,
        kind=kind,
        number=number,
        issuer=issuer,
        expires_on=expires_on,
        file_base64=file_base64,
        filename=filename,
    )


@toolset.read("List compliance")
async def list_compliance(
    org: Org,
    market_date_id: Annotated[int | None, Field(ge=1, le=MAX_ID, description="One market date.")] = None,
    date: Annotated[Day | None, Field(description="Every market trading that day.")] = None,
    market_id: IdFilter = None,
    vendor_id: IdFilter = None,
    status: Annotated[
        Literal["problems", "all"], Field(description="problems: only bookings lacking a valid document.")
    ] = "problems",
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> CompliancePage:
    """Who is booked (pending or confirmed) on a date without valid documents: each booking with every required
    document's state on that date (valid, expiring_soon, expired, missing) and a summary. Without a date: every
    date from today on."""
    return await compliance.list_compliance(
        org,
        market_date_id=market_date_id,
        day=date,
        market_id=market_id,
        vendor_id=vendor_id,
        problems_only=status == "problems",
        limit=limit,
        offset=offset,
    )
