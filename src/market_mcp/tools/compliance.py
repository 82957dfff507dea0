"""compliance: the documents vendors must hold (insurance, licences) with their expiry, and who is booked
without valid ones."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from market_mcp.schemas.common import MAX_ID, PAGE_SIZE, Day, IdempotencyKey, Limit, Offset, Stripped
from market_mcp.schemas.compliance import CompliancePage, DocumentKinds, KindName, RecordedDocument
from market_mcp.schemas.text import OneLine
from market_mcp.services import compliance
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("compliance", "Compliance: vendors' insurance, licences and other documents, and their expiry.")

VendorId = Annotated[int, Field(ge=1, le=MAX_ID)]
IdFilter = Annotated[int | None, Field(ge=1, le=MAX_ID)]


@toolset.write("Set document kind", destructive=True, idempotent=True)
async def set_document_kind(
    org: Org,
    name: KindName,
    required_for_all: Annotated[bool | None, Field(description="Everyone needs it.")] = None,
    required_for_categories: Annotated[
        list[Annotated[str, Stripped, Field(max_length=50), OneLine]] | None,
        Field(max_length=50, description="Vendor categories needing it."),
    ] = None,
    required_for_market_ids: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None,
        Field(max_length=100, description="Markets where all need it."),
    ] = None,
    remind_days_before: Annotated[
        int | None,
        Field(
            ge=0,
            le=compliance.MAX_REMIND_DAYS,
            description="Days before expiry to remind (30).",
        ),
    ] = None,
    remove: Annotated[bool, Field(description="Delete it and its documents.")] = False,
    idempotency_key: IdempotencyKey = None,
) -> DocumentKinds:
    """Create or change a compliance document kind by name (e.g. public liability insurance) and who needs it:
    everyone, some categories, or all at some markets; approval and booking then require it. Returns all kinds.
    Emails nobody."""
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
    kind: Annotated[str, Stripped, Field(min_length=1, max_length=100, description="Document kind name."), OneLine],
    number: Annotated[str, Stripped, Field(max_length=100, description="Policy/licence no."), OneLine] = "",
    issuer: Annotated[str, Stripped, Field(max_length=200, description="Insurer/council."), OneLine] = "",
    expires_on: Annotated[Day | None, Field(description="Null: never expires.")] = None,
    file_base64: Annotated[
        str | None, Field(max_length=compliance.MAX_FILE_BASE64, description="The file, base64, 5 MB max.")
    ] = None,
    filename: Annotated[
        str | None,
        Stripped,
        Field(min_length=1, max_length=200, description="e.g. cert.pdf"),
        OneLine,
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> RecordedDocument:
    """Record a vendor's document (insurance certificate, licence): expiry, optional file. Replaces their previous
    one of that kind (kept as history). Emails nobody."""
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
    market_date_id: Annotated[int | None, Field(ge=1, le=MAX_ID, description="A market date.")] = None,
    date: Annotated[Day | None, Field(description="All markets that day.")] = None,
    market_id: IdFilter = None,
    vendor_id: IdFilter = None,
    status: Annotated[Literal["problems", "all"], Field(description="problems: lacking a document.")] = "problems",
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> CompliancePage:
    """Who is booked on a date without valid documents (insurance, licences): each booking's required documents as
    valid, expiring_soon, expired or missing, and a summary. No date: all dates from today."""
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
