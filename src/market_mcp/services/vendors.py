"""Vendors (stallholders): who trades, their history, their balance, and internal notes."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, bindparam, func, select

from market_mcp.auth import OrgContext
from market_mcp.db.functions import casefold
from market_mcp.db.tables import Application, Booking, Credit, Market, MarketDate, Order, Vendor, VendorNote
from market_mcp.db.types import utcnow
from market_mcp.errors import Conflict, NotFound
from market_mcp.schemas.common import Page
from market_mcp.schemas.text import quoted
from market_mcp.schemas.vendors import (
    EmailQueued,
    VendorApplication,
    VendorBooking,
    VendorCredit,
    VendorDetail,
    VendorFields,
    VendorNoteOut,
    VendorOrder,
    VendorSummary,
)
from market_mcp.services import compliance, emails, ranges
from market_mcp.services.credits import balance_of_vendor, status_of
from market_mcp.services.scope import (
    Prepared,
    columns_of,
    count,
    get_or_404,
    read_rows,
    scoped,
    scoped_by_parameter,
    vendor_matches,
)

RECENT = 10


def _aggregates(now: Any, market_id: int | None = None) -> list[Any]:
    """Correlated per-vendor aggregates: one statement for a whole page, each an index lookup; with `market_id`,
    the bookings and attendance at that market only."""
    at_market = [MarketDate.market_id == market_id] if market_id is not None else []
    confirmed = select(func.count()).select_from(Booking)
    if at_market:
        confirmed = confirmed.join(MarketDate, MarketDate.id == Booking.market_date_id)
    total_bookings = (
        confirmed.where(
            Booking.vendor_id == Vendor.id,
            Booking.organization_id == Vendor.organization_id,
            Booking.status == "confirmed",
            *at_market,
        )
        .correlate(Vendor)
        .scalar_subquery()
    )
    last_attended = (
        select(func.max(MarketDate.scheduled_at))
        .join(Booking, Booking.market_date_id == MarketDate.id)
        .where(
            Booking.vendor_id == Vendor.id,
            Booking.organization_id == Vendor.organization_id,
            Booking.attended.is_(True),  # type: ignore[union-attr]
            *at_market,
        )
        .correlate(Vendor)
        .scalar_subquery()
    )
    return [
        total_bookings.label("total_bookings"),
        last_attended.label("last_attended"),
        balance_of_vendor(now).label("credit_balance_cents"),
    ]


async def list_vendors(
    org: OrgContext,
    *,
    query: str | None,
    market_id: int | None,
    start_date: date | None,
    end_date: date | None,
    limit: int,
    offset: int,
) -> Page[VendorSummary]:
    filters: list[Any] = []
    if query and query.strip():
        filters.append(vendor_matches(query, Vendor.business_name, Vendor.contact_name, Vendor.email, Vendor.category))
    if market_id is not None:
        approved = select(Application.vendor_id).where(
            Application.market_id == market_id, Application.status == "approved"
        )
        filters.append(Vendor.id.in_(approved))  # type: ignore[union-attr]
    filters += ranges.at_moments(org, Vendor.created_at, start_date, end_date, names=("start_date", "end_date"))
    total = await count(org, scoped(org, Vendor).where(*filters))
    # The page first, then its aggregates: 50 vendors' counts, not every vendor's before the sort. Name order
    # ignores case as lower() does (ix_vendor_org_sort), so a page reads its own rows, not every vendor.
    by_name = (func.lower(Vendor.business_name), Vendor.id)
    page = scoped(org, Vendor, Vendor.id).where(*filters).order_by(*by_name).limit(limit).offset(offset)
    stmt = (
        scoped(org, Vendor, *columns_of(Vendor), *_aggregates(org.now(), market_id))
        .where(Vendor.id.in_(page.scalar_subquery()))  # type: ignore[union-attr]
        .order_by(*by_name)
    )
    rows = await read_rows(org, stmt)
    currency = org.currency
    return Page.of(
        [VendorSummary(**row._asdict(), currency=currency) for row in rows], total=total, limit=limit, offset=offset
    )


def _vendor_row() -> Select[Any]:
    notes = (
        select(func.count())
        .where(VendorNote.vendor_id == Vendor.id, VendorNote.organization_id == Vendor.organization_id)
        .correlate(Vendor)
        .scalar_subquery()
    )
    return scoped_by_parameter(
        Vendor, *columns_of(Vendor), *_aggregates(bindparam("now")), notes.label("notes_count")
    ).where(Vendor.id == bindparam("vendor_id"))


# get_vendor's reads, each built once (the organisation, the vendor and the moment are parameters).
_VENDOR = Prepared(_vendor_row)
_APPLICATIONS = Prepared(
    lambda: (
        scoped_by_parameter(
            Application,
            Application.id,
            Application.market_id,
            Market.name.label("market_name"),
            Application.status,
            Application.submitted_at,
            Application.decided_at,
        )
        .join(Market, Market.id == Application.market_id)
        .where(Application.vendor_id == bindparam("vendor_id"))
        .order_by(Application.submitted_at.desc(), Application.id.desc())  # type: ignore[attr-defined, union-attr]
        .limit(RECENT)
    )
)
_ORDERS = Prepared(
    lambda: (
        scoped_by_parameter(
            Order,
            Order.id,
            Order.market_id,
            Order.status,
            Order.total_cents,
            Order.credit_applied_cents,
            Order.amount_due_cents,
            Order.created_at,
        )
        .where(Order.vendor_id == bindparam("vendor_id"))
        .order_by(Order.id.desc())  # type: ignore[union-attr]
        .limit(RECENT)
    )
)
_BOOKINGS = Prepared(
    lambda: (
        scoped_by_parameter(
            Booking,
            Booking.id,
            Booking.market_date_id,
            Market.name.label("market_name"),
            MarketDate.scheduled_at,
            Booking.status,
            Booking.space_number,
            Booking.amount_cents,
            Booking.attended,
        )
        .join(MarketDate, MarketDate.id == Booking.market_date_id)
        .join(Market, Market.id == MarketDate.market_id)
        .where(Booking.vendor_id == bindparam("vendor_id"))
        .order_by(MarketDate.scheduled_at.desc(), Booking.id.desc())  # type: ignore[attr-defined, union-attr]
        .limit(RECENT)
    )
)
_CREDITS = Prepared(
    lambda: (
        scoped_by_parameter(
            Credit,
            Credit.id,
            Credit.amount_cents,
            Credit.remaining_cents,
            Credit.source,
            Credit.expires_at,
            Credit.notes,
        )
        .where(Credit.vendor_id == bindparam("vendor_id"), Credit.deleted_at.is_(None))  # type: ignore[union-attr]
        .order_by(Credit.id.desc())  # type: ignore[union-attr]
        .limit(RECENT)
    )
)


async def get_vendor(org: OrgContext, vendor_id: int) -> VendorDetail:
    now = org.now()
    found = await _VENDOR.rows(org, vendor_id=vendor_id, now=now)
    if not found:
        raise NotFound(f"Vendor {vendor_id} not found.")
    vendor = found[0]._asdict()
    return VendorDetail(
        **vendor,
        currency=org.currency,
        applications=[VendorApplication(**a._asdict()) for a in await _APPLICATIONS.rows(org, vendor_id=vendor_id)],
        orders=[VendorOrder(**o._asdict()) for o in await _ORDERS.rows(org, vendor_id=vendor_id)],
        bookings=[VendorBooking(**b._asdict()) for b in await _BOOKINGS.rows(org, vendor_id=vendor_id)],
        credits=[
            VendorCredit(
                **c._asdict() | {"remaining_cents": 0 if status_of(c, now) == "expired" else c.remaining_cents},
                status=status_of(c, now),
            )
            for c in await _CREDITS.rows(org, vendor_id=vendor_id)
        ],
        documents=await compliance.vendor_documents(org, vendor_id),
    )


async def _check_email_free(org: OrgContext, email: str, *, other_than: int | None = None) -> None:
    stmt = scoped(org, Vendor).where(casefold(Vendor.email) == email.casefold())
    if other_than is not None:
        stmt = stmt.where(Vendor.id != other_than)
    taken = (await org.session.execute(stmt)).scalars().first()
    if taken is not None:
        raise Conflict(
            f"Vendor {taken.id} ({quoted(taken.business_name)}) already uses {quoted(taken.email)}; each vendor needs their "
            "own email. "
            f"If this is them, use vendor_id={taken.id}; otherwise give another email."
        )


async def find_by_email(org: OrgContext, email: str) -> Vendor | None:
    stmt = scoped(org, Vendor).where(casefold(Vendor.email) == email.strip().casefold())
    return (await org.session.execute(stmt)).scalars().first()


async def create_vendor(org: OrgContext, fields: VendorFields) -> Vendor:
    assert fields.business_name and fields.email
    email = fields.email.strip()
    await _check_email_free(org, email)
    vendor = Vendor(
        organization_id=org.organization_id,
        business_name=fields.business_name.strip(),
        contact_name=(fields.contact_name or "").strip(),
        email=email,
        phone=(fields.phone or "").strip(),
        category=(fields.category or "").strip(),
        needs=sorted(set(fields.needs)) or None if fields.needs else None,
    )
    org.session.add(vendor)
    await org.session.flush()
    org.touch("vendor", vendor.id)  # type: ignore[arg-type]
    return vendor


async def update_vendor(org: OrgContext, vendor_id: int, fields: VendorFields) -> VendorDetail:
    vendor = await get_or_404(org, Vendor, vendor_id, for_update=True)
    changes = fields.model_dump(exclude_none=True)
    if "email" in changes:
        changes["email"] = changes["email"].strip()
        await _check_email_free(org, changes["email"], other_than=vendor_id)
    if "needs" in changes:
        changes["needs"] = sorted(set(changes["needs"])) or None  # [] clears them
    for name, value in changes.items():
        setattr(vendor, name, value.strip() if isinstance(value, str) else value)
    vendor.updated_at = utcnow()
    org.session.add(vendor)
    await org.session.flush()
    org.touch("vendor", vendor_id)
    return await get_vendor(org, vendor_id)


async def send_vendor_email(org: OrgContext, vendor_id: int, *, subject: str, message: str) -> EmailQueued:
    vendor = await get_or_404(org, Vendor, vendor_id)
    email = emails.email_vendor(
        org,
        vendor,
        "vendor_message",
        record_type="vendor",
        record_id=vendor_id,
        subject=subject,
        message=message.strip(),
        greeting=emails.greeting(message, vendor.contact_name, vendor.business_name),
    )
    await org.session.flush()
    org.touch("email", email.id)  # type: ignore[arg-type]
    return EmailQueued(
        email_id=email.id,
        vendor_id=vendor_id,
        to=email.to,
        subject=email.subject,
        kind=email.kind,  # type: ignore[arg-type]
        status=email.status,
    )


async def list_vendor_notes(org: OrgContext, vendor_id: int, *, limit: int, offset: int) -> Page[VendorNoteOut]:
    await get_or_404(org, Vendor, vendor_id)
    stmt = scoped(org, VendorNote).where(VendorNote.vendor_id == vendor_id)
    total = await count(org, stmt)
    rows = await org.session.execute(stmt.order_by(VendorNote.id.desc()).limit(limit).offset(offset))  # type: ignore[union-attr]
    items = [VendorNoteOut.model_validate(n, from_attributes=True) for n in rows.scalars()]
    return Page.of(items, total=total, limit=limit, offset=offset)


async def add_vendor_note(org: OrgContext, vendor_id: int, *, note: str) -> VendorNoteOut:
    await get_or_404(org, Vendor, vendor_id)
    row = VendorNote(organization_id=org.organization_id, vendor_id=vendor_id, note=note.strip(), author=org.token_name)
    org.session.add(row)
    await org.session.flush()
    org.touch("vendor_note", row.id)  # type: ignore[arg-type]
    return VendorNoteOut.model_validate(row, from_attributes=True)
