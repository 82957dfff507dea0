"""vendors: stallholders, their history and balance, direct emails and internal notes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from market_mcp.schemas.common import MAX_ID, PAGE_SIZE, Day, Detail, IdempotencyKey, Limit, Offset, Page, Stripped
from market_mcp.schemas.site import Attribute
from market_mcp.schemas.text import EmailLine, EmailText, Text
from market_mcp.schemas.vendors import (
    BusinessName,
    Category,
    ContactName,
    Email,
    EmailQueued,
    Phone,
    VendorDetail,
    VendorFields,
    VendorNoteOut,
    VendorSummary,
)
from market_mcp.services import vendors
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("vendors", "Vendors: stallholders, their history and credit, emails and internal notes.")

VendorId = Annotated[int, Field(ge=1, le=MAX_ID)]
Needs = Annotated[
    list[Attribute] | None, Field(max_length=5, description='What their stall must have, e.g. ["power"]; [] clears.')
]
Subject = Annotated[str, Stripped, Field(min_length=1, max_length=200, description="Email subject line."), EmailLine]
Message = Annotated[
    str, Stripped, Field(min_length=1, max_length=10_000, description="The message, in plain text."), EmailText
]


@toolset.read("List vendors")
async def list_vendors(
    org: Org,
    query: Annotated[str | None, Field(max_length=200, description="Name, contact, email or category.")] = None,
    market_id: Annotated[
        int | None, Field(ge=1, le=MAX_ID, description="Only vendors approved to trade at this market.")
    ] = None,
    start_date: Annotated[Day | None, Field(description="Joined on or after.")] = None,
    end_date: Annotated[Day | None, Field(description="Joined on or before.")] = None,
    detail: Detail = "compact",
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> Page[VendorSummary]:
    """Stallholders by name with total_bookings, last_attended (at market_id's market when given) and credit
    balance. query finds a vendor_id by name, email or category."""
    page = await vendors.list_vendors(
        org, query=query, market_id=market_id, start_date=start_date, end_date=end_date, limit=limit, offset=offset
    )
    return page.detailed(detail)


@toolset.read("Get vendor")
async def get_vendor(org: Org, vendor_id: VendorId) -> VendorDetail:
    """One vendor: details, credit balance, recent applications, orders, bookings (with attendance) and credits."""
    return await vendors.get_vendor(org, vendor_id)


@toolset.write("Create vendor", destructive=False, idempotent=False)
async def create_vendor(
    org: Org,
    business_name: BusinessName,
    email: Email,
    contact_name: ContactName = "",
    phone: Phone = "",
    category: Category = "",
    needs: Needs = None,
    idempotency_key: IdempotencyKey = None,
) -> VendorDetail:
    """Add a stallholder (email unique in the organisation). With an application too: create_application. Emails
    nobody."""
    fields = VendorFields(
        business_name=business_name,
        email=email,
        contact_name=contact_name,
        phone=phone,
        category=category,
        needs=needs,
    )
    vendor = await vendors.create_vendor(org, fields)
    return await vendors.get_vendor(org, vendor.id)  # type: ignore[arg-type]


@toolset.write("Update vendor", destructive=True, idempotent=True)
async def update_vendor(
    org: Org,
    vendor_id: VendorId,
    business_name: BusinessName | None = None,
    email: Email | None = None,
    contact_name: ContactName | None = None,
    phone: Phone | None = None,
    category: Category | None = None,
    needs: Needs = None,
    idempotency_key: IdempotencyKey = None,
) -> VendorDetail:
    """Change a vendor's details; only what is passed changes. Emails nobody."""
    fields = VendorFields(
        business_name=business_name,
        email=email,
        contact_name=contact_name,
        phone=phone,
        category=category,
        needs=needs,
    )
    return await vendors.update_vendor(org, vendor_id, fields)


@toolset.write("Email vendor", destructive=False, idempotent=False, emails=True)
async def send_vendor_email(
    org: Org, vendor_id: VendorId, subject: Subject, message: Message, idempotency_key: IdempotencyKey = None
) -> EmailQueued:
    """Email one vendor. The server adds the greeting (unless the message has one) and sign-off. All of a market's
    vendors: send_market_email."""
    return await vendors.send_vendor_email(org, vendor_id, subject=subject, message=message)


@toolset.read("List vendor notes")
async def list_vendor_notes(
    org: Org, vendor_id: VendorId, limit: Limit = PAGE_SIZE, offset: Offset = 0
) -> Page[VendorNoteOut]:
    """Internal notes on a vendor, newest first. Vendors never see them."""
    return await vendors.list_vendor_notes(org, vendor_id, limit=limit, offset=offset)


@toolset.write("Add vendor note", destructive=False, idempotent=False)
async def add_vendor_note(
    org: Org,
    vendor_id: VendorId,
    note: Annotated[
        str, Stripped, Field(min_length=1, max_length=5000, description="The note (internal; never emailed)."), Text
    ],
    idempotency_key: IdempotencyKey = None,
) -> VendorNoteOut:
    """Add an internal note to a vendor, signed with this token's name. Never emailed."""
    return await vendors.add_vendor_note(org, vendor_id, note=note)
