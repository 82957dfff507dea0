"""activity: what happened, and what was sent."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, WithJsonSchema

from market_mcp.schemas.audit import AuditEntryOut
from market_mcp.schemas.common import PAGE_SIZE, Detail, FromDate, IdFilter, Limit, Moment, Offset, Page, ToDate
from market_mcp.schemas.emails import EmailKind, EmailPage, EmailStatus
from market_mcp.services import audit, emails
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("activity", "Activity: the audit log and the email outbox.")


@toolset.read("Audit log")
async def list_audit_log(
    org: Org,
    tool: Annotated[
        str | None, Field(max_length=64, description="Only calls of this tool, e.g. approve_order.")
    ] = None,
    since: Annotated[Moment | None, Field(description="Only entries at or after this ISO 8601 time.")] = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    detail: Detail = "compact",
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> Page[AuditEntryOut]:
    """Every write and refused write, newest first: token name, records changed, outcome."""
    page = await audit.list_audit_log(
        org, tool=tool, since=since, from_date=from_date, to_date=to_date, limit=limit, offset=offset
    )
    return page.detailed(detail)


@toolset.read("Email outbox")
async def list_emails(
    org: Org,
    status: EmailStatus | None = None,
    vendor_id: IdFilter = None,
    kind: Annotated[
        EmailKind | None,  # eighteen values: the refusal of a wrong one lists them, tools/list need not
        WithJsonSchema({"type": "string", "maxLength": 40, "description": "e.g. order_reminder, market_message."}),
    ] = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    detail: Detail = "compact",
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> EmailPage:
    """The outbox, newest first: each email queued, sent or failed, and whether delivery is set up (without it, queued
    email reaches nobody)."""
    page = await emails.list_emails(
        org,
        status=status,
        vendor_id=vendor_id,
        kind=kind,
        from_date=from_date,
        to_date=to_date,
        limit=limit,
        offset=offset,
    )
    return page.detailed(detail)
