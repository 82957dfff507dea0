"""activity: what happened, and what was sent."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from market_mcp.schemas.audit import AuditEntryOut
from market_mcp.schemas.common import MAX_ID, PAGE_SIZE, Detail, FromDate, Limit, Offset, Page, ToDate
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
    since: Annotated[
        datetime | None, Field(description="Only entries at or after this time, ISO 8601 (e.g. 2026-05-01T00:00:00Z).")
    ] = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    detail: Detail = "compact",
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> Page[AuditEntryOut]:
    """Who changed what, newest first: every write and every refused write, with the token's name, the
    records changed and the outcome ("ok" or the refusal code)."""
    page = await audit.list_audit_log(
        org, tool=tool, since=since, from_date=from_date, to_date=to_date, limit=limit, offset=offset
    )
    return page.detailed(detail)


@toolset.read("Email outbox")
async def list_emails(
    org: Org,
    status: Annotated[EmailStatus | None, Field(description="queued, sent or failed.")] = None,
    vendor_id: Annotated[int | None, Field(ge=1, le=MAX_ID, description="Only emails to this vendor.")] = None,
    kind: Annotated[EmailKind | None, Field(description="Only this kind, e.g. application_approved.")] = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    detail: Detail = "compact",
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> EmailPage:
    """Every email the system sent or will send, newest first, with its status (queued, sent, failed), any
    delivery error, and whether delivery is configured at all."""
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
