"""Resources: every market-mcp:// address that search, fetch and results hand out, readable as JSON; and the
PDFs an organiser hands a vendor or their treasurer, as blobs: an order's invoice
(market-mcp://orders/<id>/invoice.pdf) and a payment's receipt (market-mcp://payments/<id>/receipt.pdf).

An address names one record, market-mcp://<kind>/<id> (services.connector.url_of). Reading it gives the JSON
its get_* tool returns, through the same service, so scoping and the words of "not found" are the tools':
another organisation's record reads exactly like one that never existed. A market date also carries its
roster. resources/list offers the organisation's markets, the natural place to start.

The views of MCP Apps (market_mcp.apps), ui://market-mcp/<view>.html, are listed too (on the first page) and read
as their HTML: they hold no organisation data.

An export, market-mcp://exports/<kind>.csv?from_date=…&to_date=…&market_id=… (as export_csv hands it out), reads
as that CSV, made again from the organisation's data at the time of reading.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp.types import ListResourcesResult, Resource, ResourceTemplate
from pydantic import BaseModel
from pydantic_core import to_json
from sqlmodel import SQLModel

from market_mcp import apps
from market_mcp.auth import OrgContext
from market_mcp.db.tables import Application, Booking, Market, MarketDate, Order, Payment, Vendor
from market_mcp.errors import Invalid, NotFound
from market_mcp.schemas.common import MAX_ID, MAX_LIMIT
from market_mcp.schemas.connector import RecordKind
from market_mcp.schemas.text import one_line
from market_mcp.services import (
    applications,
    bookings,
    compliance,
    invoices,
    market_dates,
    markets,
    orders,
    reports,
    site,
    vendors,
)
from market_mcp.services.connector import url_of
from market_mcp.services.scope import label

MIME_TYPE = "application/json"
CSV_MIME_TYPE = "text/csv"
EXPORTS = "market-mcp://exports/"
_ADDRESS = re.compile(r"market-mcp://([a-z_]+)/([1-9][0-9]{0,17})")
_SHEET = re.compile(r"market-mcp://market-dates/([1-9][0-9]{0,17})/sheet\.pdf")
_VENDOR_FILE = re.compile(r"market-mcp://vendor-documents/([1-9][0-9]{0,17})/file")
_DOCUMENT = re.compile(r"market-mcp://(orders/([1-9][0-9]{0,17})/invoice|payments/([1-9][0-9]{0,17})/receipt)\.pdf")


def _dumped(record: BaseModel) -> dict[str, Any]:
    return record.model_dump(mode="json", by_alias=True)  # as MarketServer._run dumps a tool's result


async def _market_date(org: OrgContext, market_date_id: int) -> dict[str, Any]:
    """get_market_date's record plus its roster: every pending and confirmed booking, page after page."""
    day = await market_dates.get_market_date(org, market_date_id)
    roster: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = await market_dates.list_market_date_bookings(org, market_date_id, limit=MAX_LIMIT, offset=offset)
        roster.extend(_dumped(entry) for entry in page.items)
        offset = page.next_offset
    return _dumped(day) | {"roster": roster}


@dataclass(frozen=True)
class Kind:
    table: type[SQLModel]  # for the words of "not found"
    read: Callable[[OrgContext, int], Awaitable[BaseModel | dict[str, Any]]]
    title: str
    description: str


KINDS: dict[RecordKind, Kind] = {
    "market": Kind(
        Market,
        markets.get_market,
        "Market",
        "A market with its next dates, booking counts, pending applications and approved vendors (as get_market).",
    ),
    "market_date": Kind(
        MarketDate,
        _market_date,
        "Market date and roster",
        "A trading day with its counts (as get_market_date) and its roster: every pending and confirmed booking "
        "with vendor, space and amount (as list_market_date_bookings; space_number null means unassigned).",
    ),
    "vendor": Kind(
        Vendor,
        vendors.get_vendor,
        "Vendor",
        "A vendor's details, credit balance and recent applications, orders, bookings and credits (as get_vendor).",
    ),
    "application": Kind(
        Application,
        applications.get_application,
        "Application",
        "An application to trade at a market, with its vendor and market (as get_application).",
    ),
    "order": Kind(
        Order,
        orders.get_order,
        "Order",
        "An order with its bookings, the credits applied and the amount due (as get_order).",
    ),
    "booking": Kind(
        Booking,
        bookings.get_booking,
        "Booking",
        "One booking: vendor, market date, space, amount and status (as get_booking).",
    ),
}

TEMPLATES = [
    ResourceTemplate(
        uri_template=f"market-mcp://{name}/{{{name}_id}}",
        name=name,
        title=kind.title,
        description=kind.description,
        mime_type=MIME_TYPE,
    )
    for name, kind in KINDS.items()
] + [
    ResourceTemplate(
        uri_template=EXPORTS + "{kind}.csv{?from_date,to_date,market_id}",
        name="export",
        title="CSV export",
        description="Payments, orders or bookings (kind) of a date range as CSV, as export_csv makes it.",
        mime_type=CSV_MIME_TYPE,
    ),
    ResourceTemplate(
        uri_template="market-mcp://orders/{order_id}/invoice.pdf",
        name="invoice",
        title="Invoice (PDF)",
        description="An approved order's invoice, numbered INV-0001… in the organisation: its dates and fees, "
        "credit applied, tax included, payments and amount due, under the organisation's legal name and tax "
        "number. get_order gives its address (invoice_pdf).",
        mime_type=invoices.PDF,
    ),
    ResourceTemplate(
        uri_template="market-mcp://payments/{payment_id}/receipt.pdf",
        name="receipt",
        title="Receipt (PDF)",
        description="A payment's receipt, numbered RCT-0001…: amount, method, reference, day received and what "
        "was still due; emailed to the vendor when the payment was recorded. get_order's payments and "
        "list_payments give its address (receipt_pdf).",
        mime_type=invoices.PDF,
    ),
    ResourceTemplate(
        uri_template="market-mcp://market-dates/{market_date_id}/sheet.pdf",
        name="day_sheet",
        title="Market-day sheet (PDF)",
        description="A market date's printable A4 sheet for bump-in: the site map with each stall's vendor, and "
        "the roster with phone numbers and payment state. get_market_map gives its address (sheet_pdf).",
        mime_type=invoices.PDF,
    ),
    ResourceTemplate(
        uri_template="market-mcp://vendor-documents/{document_id}/file",
        name="vendor_document_file",
        title="Vendor document file",
        description="The file of a vendor's compliance document (a certificate of insurance, a licence) as it was "
        "recorded, PDF or image. get_vendor's documents and record_vendor_document give its address (file_uri).",
    ),
]


async def read(org: OrgContext, uri: str) -> tuple[str | bytes, str]:
    """What a market-mcp:// address holds and its MIME type: a record as JSON text (or NotFound in the get_*
    tool's words), an export as CSV, an invoice or a receipt as PDF bytes."""
    if uri.startswith(EXPORTS):
        return await reports.read_export(org, uri), CSV_MIME_TYPE
    if apps.is_view(uri):
        if uri not in apps.VIEWS:
            raise NotFound(f"There is no view {uri[:80]}; the views are {', '.join(apps.VIEWS)}.")
        return apps.html(uri), apps.MIME_TYPE
    sheet = _SHEET.fullmatch(uri)
    if sheet is not None:
        return await site.day_sheet(org, _number(MarketDate, sheet.group(1))), invoices.PDF
    vendor_file = _VENDOR_FILE.fullmatch(uri)
    if vendor_file is not None:
        number = int(vendor_file.group(1))
        if number > MAX_ID:
            raise NotFound(f"Vendor document {number} not found.")
        return await compliance.read_file(org, number)
    document = _DOCUMENT.fullmatch(uri)
    if document is not None:
        order_id, payment_id = document.group(2), document.group(3)
        number = _number(Order, order_id) if order_id else _number(Payment, payment_id)
        _, pdf = await (invoices.invoice_pdf(org, number) if order_id else invoices.receipt_pdf(org, number))
        return pdf, invoices.PDF
    return await _record(org, uri), MIME_TYPE


def _number(model: type[SQLModel], digits: str) -> int:
    """An address's id: one no record can have is not found, in the same words as any other."""
    number = int(digits)
    if number > MAX_ID:
        raise NotFound(f"{label(model)} {number} not found.")
    return number


async def _record(org: OrgContext, uri: str) -> str:
    found = _ADDRESS.fullmatch(uri)
    if found is None or found.group(1) not in KINDS:
        shown = uri if len(uri) <= 80 else uri[:80] + "…"
        raise NotFound(
            f"There is no resource {shown}. Addresses are market-mcp://<kind>/<id> with kind one of "
            f"{', '.join(KINDS)}, as search and fetch give them (resources/templates/list shows them)."
        )
    kind = KINDS[found.group(1)]  # type: ignore[index]
    number = _number(kind.table, found.group(2))  # type: ignore[arg-type]
    record = await kind.read(org, number)
    return to_json(_dumped(record) if isinstance(record, BaseModel) else record).decode()


async def listed(org: OrgContext, cursor: str | None) -> ListResourcesResult:
    """The organisation's markets, by name, a page at a time (the cursor is where the next page starts); the first
    page ends with the MCP Apps views."""
    if cursor is not None and not (cursor.isascii() and cursor.isdigit() and int(cursor) <= MAX_ID):
        raise Invalid(f"cursor must be the nextCursor of an earlier resources/list; got {cursor[:40]!r}.")
    page = await markets.list_markets(org, status=None, query=None, limit=MAX_LIMIT, offset=int(cursor or 0))
    resources = [
        Resource(
            uri=url_of("market", market.id),
            name=market.name,
            title=one_line(market.name),
            description=f"{one_line(market.name)}: {market.status} market"
            + (f" in {one_line(market.region)}" if market.region else "")
            + (f"; next market date {market.next_market_date}" if market.next_market_date else "; no upcoming date"),
            mime_type=MIME_TYPE,
        )
        for market in page.items
    ]
    if cursor is None:
        resources += apps.listed()
    next_cursor = str(page.next_offset) if page.next_offset is not None else None
    return ListResourcesResult(resources=resources, next_cursor=next_cursor)


def completes(uri_template: str, argument: str) -> bool:
    """Whether completion/complete has anything to offer for this template's argument: market ids (markets are
    few; records of the other kinds are found with search)."""
    return uri_template == TEMPLATES[0].uri_template and argument == "market_id"


async def complete(org: OrgContext, value: str) -> list[str]:
    """The organisation's market ids starting with what was typed, in order."""
    page = await markets.list_markets(org, status=None, query=None, limit=MAX_LIMIT, offset=0)
    return [str(number) for number in sorted(m.id for m in page.items) if str(number).startswith(value.strip())]
