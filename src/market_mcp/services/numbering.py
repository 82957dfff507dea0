"""Invoice and receipt numbers: two series per organisation, 1, 2, … with no repeats and no gaps
(services.invoices says when each is issued).

The organisation's counter is raised with UPDATE … RETURNING in the transaction that issues the number. That
holds the organisation's row until commit on both SQLite (one writer at a time) and PostgreSQL (a row lock), so
two transactions never take the same number, and one that rolls back gives its number back. The unique indexes
on (organisation, number) are the backstop.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from market_mcp.auth import OrgContext
from market_mcp.db.tables import Order, Organization


async def _next(org: OrgContext, counter: Any) -> int:
    stmt = (
        update(Organization)
        .where(Organization.id == org.organization_id)  # type: ignore[arg-type]
        .values({counter: counter + 1})
        .returning(counter)
        .execution_options(synchronize_session=False)
    )
    return int((await org.session.execute(stmt)).scalar_one())


async def number_invoice(org: OrgContext, order: Order) -> None:
    """Give the order its invoice number, the next of its organisation's, unless it has one (approved before)."""
    if order.invoice_number is None:
        order.invoice_number = await _next(org, Organization.invoices_issued)


async def next_receipt_number(org: OrgContext) -> int:
    return await _next(org, Organization.receipts_issued)


def invoice_label(number: int) -> str:
    return f"INV-{number:04d}"


def receipt_label(number: int) -> str:
    return f"RCT-{number:04d}"


def invoice_uri(order_id: int) -> str:
    """Where an invoiced order's PDF is read (market_mcp.resources)."""
    return f"market-mcp://orders/{order_id}/invoice.pdf"


def receipt_uri(payment_id: int) -> str:
    """Where a payment's receipt is read (market_mcp.resources)."""
    return f"market-mcp://payments/{payment_id}/receipt.pdf"
