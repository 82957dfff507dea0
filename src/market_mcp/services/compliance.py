"""Compliance documents: the kinds of document an organisation asks vendors for, each vendor's documents with
their expiry, who is booked without valid ones, the checks approval and booking make, and expiry reminders.

A kind is required of a vendor at a market when it is required of every vendor (required_for_all), of the
vendor's category (required_for_categories, compared ignoring case) or at that market (required_for_market_ids).
A document is valid on a day when it does not expire (expires_on null) or expires on or after that day.

A vendor has at most one current document of a kind: recording a newer one keeps the older as history
(is_current false), so the reminder of the old one is not repeated and the new one is reminded afresh.

Approval (services/admission.py) needs each required kind on record and not already expired; a booking needs it
valid on every booked date. Each problem is one sentence naming the document and record_vendor_document.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, false, func, literal, or_, update

from market_mcp.auth import OrgContext
from market_mcp.db.functions import casefold
from market_mcp.db.tables import (
    ACTIVE_BOOKING_STATUSES,
    Booking,
    DocumentKind,
    Market,
    MarketDate,
    Vendor,
    VendorDocument,
)
from market_mcp.errors import Invalid, NotFound
from market_mcp.schemas.common import long_date, plural
from market_mcp.schemas.compliance import (
    CompliancePage,
    ComplianceRow,
    DocumentKindOut,
    DocumentKinds,
    RecordedDocument,
    RequiredDocument,
    VendorDocumentBrief,
    VendorDocumentOut,
)
from market_mcp.schemas.text import one_line, quoted
from market_mcp.services import emails, vendor_links
from market_mcp.services.scope import count, get_or_404, read_rows, scoped

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_FILE_BASE64 = 4 * -(-MAX_FILE_BYTES // 3) + 1_000  # the schema's bound; the decoded size is what is refused
FILE_URI = "market-mcp://vendor-documents/{}/file"
RECORD = "record_vendor_document"


def file_uri(document_id: int) -> str:
    return FILE_URI.format(document_id)


def in_sentence(name: str) -> str:
    """A kind's name inside a sentence: "Public liability insurance" reads "public liability insurance" (an
    acronym such as "ABN" or "WWCC check" is kept)."""
    name = one_line(name)
    if len(name) > 1 and name[0].isupper() and not name[1].isupper():
        return name[0].lower() + name[1:]
    return name


def _valid_on(expires_on: date | None, day: date) -> bool:
    return expires_on is None or expires_on >= day


def state_on(expires_on: date | None, day: date, *, today: date, remind_days_before: int) -> str:
    """A current document's state on `day`: expired (not valid then), expiring_soon (valid then, but within its
    reminder window from today), or valid."""
    if not _valid_on(expires_on, day):
        return "expired"
    if expires_on is not None and expires_on <= today + timedelta(days=remind_days_before):
        return "expiring_soon"
    return "valid"


def requires(kind: DocumentKind, category: str, market_id: int) -> bool:
    folded = category.strip().casefold()
    return (
        kind.required_for_all
        or (bool(folded) and folded in {c.casefold() for c in kind.required_for_categories})
        or market_id in kind.required_for_market_ids
    )


def required_for(kind: DocumentKind, market_names: dict[int, str]) -> str:
    if kind.required_for_all:
        return "every vendor"
    parts = []
    if kind.required_for_categories:
        parts.append("vendors in " + ", ".join(one_line(c) for c in kind.required_for_categories))
    if kind.required_for_market_ids:
        names = [one_line(market_names.get(m, f"market {m}")) for m in kind.required_for_market_ids]
        parts.append("every vendor at " + ", ".join(names))
    return " and ".join(parts) if parts else "nobody (recorded, not required)"


async def _kinds(org: OrgContext) -> list[DocumentKind]:
    rows = await org.session.execute(scoped(org, DocumentKind).order_by(func.lower(DocumentKind.name), DocumentKind.id))
    return list(rows.scalars())


async def _market_names(org: OrgContext) -> dict[int, str]:
    return dict((await org.session.execute(scoped(org, Market, Market.id, Market.name))).all())  # type: ignore[arg-type]


async def _kind_named(org: OrgContext, name: str) -> DocumentKind | None:
    stmt = scoped(org, DocumentKind).where(casefold(DocumentKind.name) == name.strip().casefold())
    return (await org.session.execute(stmt)).scalars().first()


def _kinds_said(kinds: list[DocumentKind]) -> str:
    if not kinds:
        return "There are no document kinds yet; add one with set_document_kind."
    return "The kinds are " + ", ".join(quoted(k.name) for k in kinds) + " (set_document_kind adds one)."


# ---------------------------------------------------------------- kinds


async def document_kinds(org: OrgContext, summary: str) -> DocumentKinds:
    kinds = await _kinds(org)
    names = await _market_names(org)
    held = dict(
        (
            await org.session.execute(
                scoped(org, VendorDocument, VendorDocument.kind_id, func.count())
                .where(VendorDocument.is_current.is_(True))  # type: ignore[attr-defined]
                .group_by(VendorDocument.kind_id)
            )
        ).all()  # type: ignore[arg-type]
    )
    return DocumentKinds(
        summary=summary,
        kinds=[
            DocumentKindOut(
                id=k.id,  # type: ignore[arg-type]
                name=k.name,
                required_for_all=k.required_for_all,
                required_for_categories=k.required_for_categories,
                required_for_market_ids=k.required_for_market_ids,
                remind_days_before=k.remind_days_before,
                required_for=required_for(k, names),
                documents_on_record=held.get(k.id, 0),
            )
            for k in kinds
        ],
    )


async def set_document_kind(
    org: OrgContext,
    name: str,
    *,
    required_for_all: bool | None,
    required_for_categories: list[str] | None,
    required_for_market_ids: list[int] | None,
    remind_days_before: int | None,
    remove: bool,
) -> DocumentKinds:
    """Create a kind by name, change the parts given, or remove it (and its documents)."""
    kind = await _kind_named(org, name)
    if remove:
        if kind is None:
            raise NotFound(f"There is no document kind {quoted(name)} to remove. {_kinds_said(await _kinds(org))}")
        dropped = await count(org, scoped(org, VendorDocument).where(VendorDocument.kind_id == kind.id))
        await org.session.execute(
            delete(VendorDocument).where(
                VendorDocument.organization_id == org.organization_id, VendorDocument.kind_id == kind.id
            )
        )
        await org.session.delete(kind)
        await org.session.flush()
        org.touch("document_kind", kind.id)  # type: ignore[arg-type]
        said = f"Removed the document kind {quoted(kind.name)}"
        return await document_kinds(org, said + (f" and its {plural(dropped, 'document')}." if dropped else "."))
    for market_id in required_for_market_ids or ():
        await get_or_404(org, Market, market_id)
    categories = None
    if required_for_categories is not None:
        categories = list(dict.fromkeys(c.strip() for c in required_for_categories if c.strip()))
    market_ids = list(dict.fromkeys(required_for_market_ids)) if required_for_market_ids is not None else None
    created = kind is None
    if kind is None:
        kind = DocumentKind(organization_id=org.organization_id, name=name.strip())
    if required_for_all is not None:
        kind.required_for_all = required_for_all
    if categories is not None:
        kind.required_for_categories = categories
    if market_ids is not None:
        kind.required_for_market_ids = market_ids
    if remind_days_before is not None:
        kind.remind_days_before = remind_days_before
    org.session.add(kind)
    await org.session.flush()
    org.touch("document_kind", kind.id)  # type: ignore[arg-type]
    who = required_for(kind, await _market_names(org))
    verb = "Added" if created else "Updated"
    return await document_kinds(org, f"{verb} the document kind {quoted(kind.name)}: required of {who}.")


# ---------------------------------------------------------------- documents


def _content_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _decoded(file_base64: str) -> bytes:
    try:
        content = base64.b64decode(file_base64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("file_base64 is not valid base64; send the file's bytes base64-encoded.") from None
    if len(content) > MAX_FILE_BYTES:
        raise Invalid(
            f"The file is {len(content) / 1024 / 1024:.1f} MB; the limit is {MAX_FILE_BYTES // 1024 // 1024} MB. "
            "Send a smaller scan or photo, or record the document without file_base64."
        )
    if not content:
        raise Invalid("file_base64 is empty; send the file's bytes, or leave file_base64 out.")
    return content


def _brief_status(expires_on: date | None, today: date, remind_days_before: int) -> str:
    return state_on(expires_on, today, today=today, remind_days_before=remind_days_before)


def _document_fields(row: Any, today: date) -> dict[str, Any]:
    return dict(
        id=row.id,
        kind=row.kind,
        number=row.number,
        expires_on=row.expires_on,
        status=_brief_status(row.expires_on, today, row.remind_days_before),
        file_uri=file_uri(row.id) if row.size is not None else None,
    )


def _documents(org: OrgContext) -> Any:
    """Documents with their kind's name and reminder window (never the file's bytes)."""
    return (
        scoped(
            org,
            VendorDocument,
            VendorDocument.id,
            VendorDocument.vendor_id,
            Vendor.business_name,
            VendorDocument.kind_id,
            DocumentKind.name.label("kind"),
            DocumentKind.remind_days_before,
            VendorDocument.number,
            VendorDocument.issuer,
            VendorDocument.expires_on,
            VendorDocument.filename,
            VendorDocument.content_type,
            VendorDocument.size,
            VendorDocument.reminded_at,
            VendorDocument.created_at,
        )
        .join(DocumentKind, DocumentKind.id == VendorDocument.kind_id)
        .join(Vendor, Vendor.id == VendorDocument.vendor_id)
    )


async def get_document(org: OrgContext, document_id: int) -> VendorDocumentOut:
    rows = await read_rows(org, _documents(org).where(VendorDocument.id == document_id))
    if not rows:
        raise NotFound(f"Vendor document {document_id} not found.")
    row = rows[0]
    return VendorDocumentOut(
        **_document_fields(row, org.today()),
        vendor_id=row.vendor_id,
        business_name=row.business_name,
        kind_id=row.kind_id,
        issuer=row.issuer,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        reminded_at=row.reminded_at,
        created_at=row.created_at,
    )


async def vendor_documents(org: OrgContext, vendor_id: int) -> list[VendorDocumentBrief]:
    """A vendor's current documents, by kind (get_vendor's `documents`)."""
    rows = await read_rows(
        org,
        _documents(org)
        .where(VendorDocument.vendor_id == vendor_id, VendorDocument.is_current.is_(True))  # type: ignore[attr-defined]
        .order_by(func.lower(DocumentKind.name), VendorDocument.id),
    )
    today = org.today()
    return [VendorDocumentBrief(**_document_fields(row, today)) for row in rows]


async def record_vendor_document(
    org: OrgContext,
    vendor_id: int,
    *,
    kind: str,
    number: str,
    issuer: str,
    expires_on: date | None,
    file_base64: str | None,
    filename: str | None,
) -> RecordedDocument:
    vendor = await get_or_404(org, Vendor, vendor_id)
    found = await _kind_named(org, kind)
    if found is None:
        raise Invalid(
            f"kind {quoted(kind)} is not a document kind of this organisation. {_kinds_said(await _kinds(org))}"
        )
    today = org.today()
    if expires_on is not None and expires_on < today:
        raise Invalid(
            f"expires_on {expires_on} is in the past, so this document is not valid for any market to come. "
            "Check the date, or record the vendor's current certificate."
        )
    content = _decoded(file_base64) if file_base64 is not None else None
    if content is not None and not filename:
        raise Invalid("filename is needed with file_base64, e.g. insurance-2027.pdf (it sets the file's type).")
    if filename and content is None:
        raise Invalid("filename was given without file_base64; send the file too, or leave filename out.")
    previous = (
        await org.session.execute(
            scoped(org, VendorDocument, VendorDocument.id).where(
                VendorDocument.vendor_id == vendor_id,
                VendorDocument.kind_id == found.id,
                VendorDocument.is_current.is_(True),  # type: ignore[attr-defined]
            )
        )
    ).scalar_one_or_none()
    if previous is not None:
        await org.session.execute(
            update(VendorDocument)
            .where(VendorDocument.organization_id == org.organization_id, VendorDocument.id == previous)
            .values(is_current=False)
        )
    document = VendorDocument(
        organization_id=org.organization_id,
        vendor_id=vendor_id,
        kind_id=found.id,  # type: ignore[arg-type]
        number=number.strip(),
        issuer=issuer.strip(),
        expires_on=expires_on,
        content=content,
        filename=filename.strip() if filename and content is not None else None,
        content_type=_content_type(filename) if filename and content is not None else None,
        size=len(content) if content is not None else None,
    )
    org.session.add(document)
    await org.session.flush()
    org.touch("vendor_document", document.id)  # type: ignore[arg-type]
    out = await get_document(org, document.id)  # type: ignore[arg-type]
    until = f"valid until {expires_on}" if expires_on else "with no expiry"
    said = f"Recorded {quoted(vendor.business_name)}'s {in_sentence(found.name)}, {until}"
    if previous is not None:
        said += f"; it replaces document {previous}, kept as history"
    if out.status == "expiring_soon":
        said += f"; it expires within {found.remind_days_before} days, so the vendor will be reminded"
    return RecordedDocument(**out.model_dump(), summary=said + ".", superseded_document_id=previous)


async def read_file(org: OrgContext, document_id: int) -> tuple[bytes, str]:
    """A document's stored file and its type; another organisation's, or one without a file, is not found."""
    row = (
        await org.session.execute(
            scoped(org, VendorDocument, VendorDocument.content, VendorDocument.content_type).where(
                VendorDocument.id == document_id
            )
        )
    ).first()
    if row is None:
        raise NotFound(f"Vendor document {document_id} not found.")
    if row.content is None:
        raise NotFound(f"Vendor document {document_id} has no file; record_vendor_document with file_base64 adds one.")
    return bytes(row.content), row.content_type or "application/octet-stream"


# ---------------------------------------------------------------- approval and booking


async def _current(org: OrgContext, vendor_id: int) -> dict[int, date | None]:
    """Each kind's current document of the vendor: its expiry."""
    rows = await org.session.execute(
        scoped(org, VendorDocument, VendorDocument.kind_id, VendorDocument.expires_on).where(
            VendorDocument.vendor_id == vendor_id,
            VendorDocument.is_current.is_(True),  # type: ignore[attr-defined]
        )
    )
    return dict(rows.all())  # type: ignore[arg-type]


async def _required(org: OrgContext, vendor: Vendor, market: Market) -> list[DocumentKind]:
    return [k for k in await _kinds(org) if requires(k, vendor.category, market.id)]  # type: ignore[arg-type]


def _fix(vendor: Vendor, what: str = "it") -> str:
    return f"record {what} with {RECORD} (vendor_id={vendor.id})"


async def approval_problems(org: OrgContext, vendor: Vendor, market: Market) -> list[str]:
    """Each required document not on record or already expired, as a sentence."""
    required = await _required(org, vendor, market)
    if not required:
        return []
    held, today, name = await _current(org, vendor.id), org.today(), quoted(vendor.business_name)  # type: ignore[arg-type]
    problems = []
    for kind in required:
        what = in_sentence(kind.name)
        if kind.id not in held:
            problems.append(f"{name} has no {what} on record; {_fix(vendor)}.")
        elif not _valid_on(held[kind.id], today):
            problems.append(f"{name}'s {what} expired on {held[kind.id]}; {_fix(vendor, 'the new one')}.")
    return problems


async def booking_problems(org: OrgContext, vendor: Vendor, market: Market, dates: list[MarketDate]) -> list[str]:
    """Each required document not valid on every booked date, as a sentence naming the first date it fails."""
    if not dates:
        return []
    required = await _required(org, vendor, market)
    if not required:
        return []
    held, name = await _current(org, vendor.id), quoted(vendor.business_name)  # type: ignore[arg-type]
    days = sorted(d.scheduled_at for d in dates)
    problems = []
    for kind in required:
        what = in_sentence(kind.name)
        if kind.id not in held:
            problems.append(f"{name} has no {what} on record valid on {days[0]}; {_fix(vendor)}.")
            continue
        expires_on = held[kind.id]
        failing = [d for d in days if not _valid_on(expires_on, d)]
        if failing:
            problems.append(
                f"{name}'s {what} expires on {expires_on}, before {failing[0]}; {_fix(vendor, 'the new one')}."
            )
    return problems


# ---------------------------------------------------------------- who is booked without valid documents


def _problem(org: OrgContext, kinds: list[DocumentKind]) -> Any:
    """SQL: the booking's vendor lacks a document valid on the booking's date that the kind requires of them."""
    clauses = []
    for kind in kinds:
        required = []
        if kind.required_for_all:
            required.append(literal(True))
        if kind.required_for_categories:
            required.append(casefold(Vendor.category).in_([c.casefold() for c in kind.required_for_categories]))
        if kind.required_for_market_ids:
            required.append(MarketDate.market_id.in_(kind.required_for_market_ids))  # type: ignore[attr-defined]
        if not required:
            continue
        valid = exists().where(
            VendorDocument.organization_id == org.organization_id,
            VendorDocument.vendor_id == Booking.vendor_id,
            VendorDocument.kind_id == kind.id,
            VendorDocument.is_current.is_(True),  # type: ignore[attr-defined]
            or_(VendorDocument.expires_on.is_(None), VendorDocument.expires_on >= MarketDate.scheduled_at),  # type: ignore[union-attr, operator]
        )
        clauses.append(and_(or_(*required), ~valid))
    return or_(*clauses) if clauses else false()


async def list_compliance(
    org: OrgContext,
    *,
    market_date_id: int | None,
    day: date | None,
    market_id: int | None,
    vendor_id: int | None,
    problems_only: bool,
    limit: int,
    offset: int,
) -> CompliancePage:
    if market_date_id is not None and day is not None:
        raise Invalid("Give market_date_id or date, not both (a market date is one market's date).")
    scope_words = []
    if market_date_id is not None:
        market_date = await get_or_404(org, MarketDate, market_date_id)
        market = await get_or_404(org, Market, market_date.market_id)
        if market_id is not None and market_id != market.id:
            await get_or_404(org, Market, market_id)
            raise Invalid(f"Market date {market_date_id} is a date of market {market.id}, not of market {market_id}.")
        scope_words.append(f"at {quoted(market.name)} on {long_date(market_date.scheduled_at)}")
    else:
        if market_id is not None:
            scope_words.append(f"at {quoted((await get_or_404(org, Market, market_id)).name)}")
        scope_words.append(f"on {long_date(day)}" if day is not None else "from today on")
    if vendor_id is not None:
        scope_words.insert(0, f"of {quoted((await get_or_404(org, Vendor, vendor_id)).business_name)}")
    kinds = await _kinds(org)
    bookings = (
        scoped(org, Booking)
        .join(MarketDate, MarketDate.id == Booking.market_date_id)
        .join(Market, Market.id == MarketDate.market_id)
        .join(Vendor, Vendor.id == Booking.vendor_id)
        .where(Booking.status.in_(ACTIVE_BOOKING_STATUSES), MarketDate.status == "scheduled")  # type: ignore[attr-defined]
    )
    if market_date_id is not None:
        bookings = bookings.where(MarketDate.id == market_date_id)
    elif day is not None:
        bookings = bookings.where(MarketDate.scheduled_at == day)
    else:
        bookings = bookings.where(MarketDate.scheduled_at >= org.today())
    if market_id is not None:
        bookings = bookings.where(MarketDate.market_id == market_id)
    if vendor_id is not None:
        bookings = bookings.where(Booking.vendor_id == vendor_id)
    problem = _problem(org, kinds)
    booked = await count(org, bookings)
    lacking = await count(org, bookings.where(problem))
    listed = bookings.where(problem) if problems_only else bookings
    total = lacking if problems_only else booked
    rows = await read_rows(
        org,
        listed.with_only_columns(
            Booking.id,
            Booking.vendor_id,
            Vendor.business_name,
            Vendor.category,
            MarketDate.id,
            MarketDate.market_id,
            Market.name,
            MarketDate.scheduled_at,
        )
        .order_by(MarketDate.scheduled_at, func.lower(Market.name), func.lower(Vendor.business_name), Booking.id)
        .limit(limit)
        .offset(offset),
    )
    held: dict[int, dict[int, tuple[int, date | None]]] = defaultdict(dict)
    vendor_ids = sorted({row[1] for row in rows})
    if vendor_ids and kinds:
        for document_id, vid, kind_id, expires_on in await read_rows(
            org,
            scoped(
                org, VendorDocument, VendorDocument.id, VendorDocument.vendor_id, VendorDocument.kind_id,
                VendorDocument.expires_on,
            ).where(VendorDocument.vendor_id.in_(vendor_ids), VendorDocument.is_current.is_(True)),  # type: ignore[attr-defined]
        ):  # fmt: skip
            held[vid][kind_id] = (document_id, expires_on)
    today = org.today()
    items = []
    for booking_id, vid, business_name, category, date_id, mid, market_name, scheduled_at in rows:
        documents = []
        for kind in kinds:
            if not requires(kind, category, mid):
                continue
            if kind.id not in held[vid]:
                documents.append(RequiredDocument(kind=kind.name, state="missing"))
                continue
            document_id, expires_on = held[vid][kind.id]  # type: ignore[index]
            state = state_on(expires_on, scheduled_at, today=today, remind_days_before=kind.remind_days_before)
            documents.append(
                RequiredDocument(kind=kind.name, state=state, expires_on=expires_on, document_id=document_id)  # type: ignore[arg-type]
            )
        items.append(
            ComplianceRow(
                vendor_id=vid,
                business_name=business_name,
                category=category,
                market_date_id=date_id,
                market_name=market_name,
                scheduled_at=scheduled_at,
                booking_id=booking_id,
                compliant=all(d.state in ("valid", "expiring_soon") for d in documents),
                documents=documents,
            )
        )
    names = await _market_names(org)
    return CompliancePage.of(
        items,
        total=total,
        limit=limit,
        offset=offset,
        summary=_summary(kinds, " ".join(scope_words), booked, lacking, items),
        document_kinds=[f"{one_line(k.name)}: required of {required_for(k, names)}" for k in kinds],
        problems_only=problems_only,
    )


def _summary(kinds: list[DocumentKind], scope: str, booked: int, lacking: int, items: list[ComplianceRow]) -> str:
    if not kinds:
        return "No document kinds are set up, so no document is required; add one with set_document_kind."
    said = f"{plural(booked, 'booking')} {scope}: "
    if not lacking:
        return said + "every booked vendor has valid documents for their date."
    said += f"{lacking} without a valid required document"
    shown = [
        f"{quoted(i.business_name)} on {i.scheduled_at} ("
        + ", ".join(f"{in_sentence(d.kind)} {d.state}" for d in i.documents if d.state in ("missing", "expired"))
        + ")"
        for i in items
        if not i.compliant
    ][:5]
    if shown:
        said += ": " + "; ".join(shown) + (f"; and {lacking - len(shown)} more" if lacking > len(shown) else "")
    return said + f". Record documents with {RECORD}."


# ---------------------------------------------------------------- expiry reminders (the scheduler's pass)

MAX_REMIND_DAYS = 365


async def send_reminders(org: OrgContext) -> int:
    """Queue one email per current document now within its kind's remind_days_before of expiry and not yet
    reminded (an expired one is not: the vendor is past reminding). Claimed with an UPDATE first, so two servers
    on one store remind once. Returns how many were queued."""
    today = org.today()
    candidates = await read_rows(
        org,
        scoped(org, VendorDocument, VendorDocument.id, VendorDocument.expires_on, DocumentKind.remind_days_before)
        .join(DocumentKind, DocumentKind.id == VendorDocument.kind_id)
        .where(
            VendorDocument.is_current.is_(True),  # type: ignore[attr-defined]
            VendorDocument.reminded_at.is_(None),  # type: ignore[union-attr]
            VendorDocument.expires_on >= today,  # type: ignore[operator]
            VendorDocument.expires_on <= today + timedelta(days=MAX_REMIND_DAYS),  # type: ignore[operator]
        ),
    )
    due = [i for i, expires_on, days in candidates if expires_on - timedelta(days=days) <= today]
    if not due:
        return 0
    claimed = await org.session.execute(
        update(VendorDocument)
        .where(
            VendorDocument.organization_id == org.organization_id,
            VendorDocument.id.in_(due),  # type: ignore[union-attr]
            VendorDocument.reminded_at.is_(None),  # type: ignore[union-attr]
        )
        .values(reminded_at=org.now())
        .returning(VendorDocument.id)
    )
    mine = sorted(row[0] for row in claimed.all())
    if not mine:
        return 0
    rows = await read_rows(org, _documents(org).where(VendorDocument.id.in_(mine)).order_by(VendorDocument.id))  # type: ignore[union-attr]
    vendors = {
        v.id: v
        for v in (
            await org.session.execute(scoped(org, Vendor).where(Vendor.id.in_({r.vendor_id for r in rows})))  # type: ignore[union-attr]
        ).scalars()
    }
    for row in rows:
        emails.email_vendor(
            org,
            vendors[row.vendor_id],
            "document_expiring",
            record_type="vendor_document",
            record_id=row.id,
            kind_name=in_sentence(row.kind),
            number_part=f" (no. {one_line(row.number)})" if row.number else "",
            expires=long_date(row.expires_on),
            link_block=vendor_links.document_link_block(org, row.vendor_id, row.id, row.expires_on),
        )
        org.touch("vendor_document", row.id)
    return len(rows)
