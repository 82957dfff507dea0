"""credits: money the organisation owes vendors, on an append-only ledger."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from market_mcp.schemas.common import (
    MAX_ID,
    PAGE_SIZE,
    Day,
    Detail,
    IdempotencyKey,
    IdFilter,
    Limit,
    Money,
    Offset,
    Page,
    PositiveMoney,
)
from market_mcp.schemas.credits import CreditDeleted, CreditDetail, CreditOut
from market_mcp.schemas.text import Text
from market_mcp.services import credits
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("credits", "Credits: issue, adjust and remove money owed to vendors.")

CreditId = Annotated[int, Field(ge=1, le=MAX_ID)]
ExpiresOn = Annotated[Day | None, Field(description="Last day it can be spent; default: never.")]


@toolset.read("List credits")
async def list_credits(
    org: Org,
    status: Literal["unexpired", "expired"] | None = None,
    vendor_id: IdFilter = None,
    query: Annotated[str | None, Field(max_length=200, description="Vendor name, email or notes.")] = None,
    detail: Detail = "compact",
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> Page[CreditOut]:
    """Credits, soonest to expire first: amount granted, remaining, status (live, used, expired)."""
    page = await credits.list_credits(org, status=status, vendor_id=vendor_id, query=query, limit=limit, offset=offset)
    return page.detailed(detail)


@toolset.read("Get credit")
async def get_credit(org: Org, credit_id: CreditId) -> CreditDetail:
    """One credit with its ledger: every grant, use, adjustment and expiry."""
    return await credits.get_credit(org, credit_id)


@toolset.write("Issue credit", destructive=False, idempotent=False)
async def create_credit(
    org: Org,
    vendor_id: Annotated[int, Field(ge=1, le=MAX_ID, description="The vendor to credit.")],
    credit_amount: Annotated[PositiveMoney, Field(description='How much, e.g. 10 or "12.50".')],
    notes: Annotated[str, Field(max_length=1000, description='Why, e.g. "Makeup for cancelled date".'), Text] = "",
    expires_at: ExpiresOn = None,
    idempotency_key: IdempotencyKey = None,
) -> CreditDetail:
    """Give a vendor a credit (money owed to them), taken off their next orders. The usual way to credit a vendor.
    Emails nobody."""
    return await credits.create_credit(
        org,
        vendor_id,
        amount_cents=credit_amount,
        notes=notes,
        expires_at=credits.expiry_moment(org, expires_at) if expires_at else None,
    )


@toolset.write("Adjust credit", destructive=True, idempotent=True)
async def update_credit(
    org: Org,
    credit_id: CreditId,
    remaining_amount: Annotated[
        Money | None, Field(description="The new amount left to spend (0 to use it up).")
    ] = None,
    notes: Annotated[str | None, Field(max_length=1000), Text] = None,
    expires_at: Annotated[
        Day | None, Field(description="New last day it can be spent (a past day expires it now).")
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> CreditDetail:
    """Change a credit's remaining amount, notes or expiry, as a new ledger line. Emails nobody."""
    return await credits.update_credit(
        org,
        credit_id,
        remaining_cents=remaining_amount,
        notes=notes,
        expires_at=credits.expiry_moment(org, expires_at) if expires_at else None,
    )


@toolset.write("Delete credit", destructive=True, idempotent=True)
async def delete_credit(org: Org, credit_id: CreditId, idempotency_key: IdempotencyKey = None) -> CreditDeleted:
    """Remove an unspent credit (a used one can only be set to 0 with update_credit). Emails nobody."""
    return await credits.delete_credit(org, credit_id)
