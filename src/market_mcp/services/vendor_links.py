"""Vendor self-service links: a signed, single-use, expiring link in a vendor's email to a page of the HTTP server
(market_mcp.vendor_pages) where they answer: accept or decline a waitlist offer, confirm they will be there.

The token is random (secrets.token_urlsafe) and only its SHA-256 is stored, so the store never holds a working
link. What the vendor does is done as if the organiser had called the tool (the same service call, in one
transaction) and audited under the vendor's name ("vendor: Green Bean Coffee (link)"); the link row keeps what
happened in words, which get_dashboard_summary shows the next day.

Without a public URL (MARKET_MCP_PUBLIC_URL, or serve --public-url) no link is made and the emails say to reply.
A link of another kind is one more ACTIONS entry, its question, its buttons and its `act`, and a create_link call
where its email is queued. The "document" link (in a compliance document's expiry reminder) is a form instead of
buttons: its `inputs` (a file, the expiry date, the certificate number) post as multipart data, and its `submit`
records the new document as record_vendor_document does; a refused file or date shows the form again with the
reason, and the link stays usable.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from market_mcp.auth import OrgContext
from market_mcp.db import Database
from market_mcp.db.tables import (
    ACTIVE_BOOKING_STATUSES,
    Booking,
    DocumentKind,
    Market,
    MarketDate,
    Order,
    Organization,
    Vendor,
    VendorDocument,
    VendorLink,
    WaitlistEntry,
)
from market_mcp.errors import Invalid, MarketError
from market_mcp.schemas.common import long_date
from market_mcp.schemas.text import one_line
from market_mcp.services import audit
from market_mcp.services.scope import get_or_404, scoped

LINK_LIFETIME = timedelta(days=14)  # a link that is not an offer's (an offer's expires with the offer)
TOKEN_BYTES = 24
RECENT = timedelta(days=1)  # the dashboard shows what vendors did since this time yesterday
REPLY_TO_TAKE = "Reply to this email to take it."


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def page_url(base: str, token: str) -> str:
    return f"{base}/v/{token}"


def create_link(org: OrgContext, vendor_id: int, action: str, record_id: int, expires_at: datetime) -> str | None:
    """A new link's URL (the row is added to the caller's transaction), or None without a public URL: what an
    email's {link_block} says. `action` is one of ACTIONS (a page's question, buttons and what they do)."""
    if not org.public_url:
        return None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    org.session.add(
        VendorLink(
            organization_id=org.organization_id,
            vendor_id=vendor_id,
            action=action,
            record_id=record_id,
            token_hash=token_hash(token),
            expires_at=expires_at,
            created_at=org.now(),
        )
    )
    return page_url(org.public_url, token)


def offer_link_block(org: OrgContext, entry: WaitlistEntry) -> str:
    """The waitlist offer email's paragraph: the link to accept or decline (expiring with the offer), or, with no
    public URL, "reply to this email" as before."""
    assert entry.id is not None and entry.offer_expires_at is not None
    url = create_link(org, entry.vendor_id, "waitlist_offer", entry.id, entry.offer_expires_at)
    if url is None:
        return REPLY_TO_TAKE
    return f"Take it (or let it go to the next vendor) here:\n{url}\n\nOr reply to this email."


def attendance_link_block(org: OrgContext, order: Order) -> str:
    """A payment email's paragraph: a link to confirm they'll be there (payment stays the payment link's), or
    nothing without a public URL."""
    assert order.id is not None
    url = create_link(org, order.vendor_id, "attendance", order.id, org.now() + LINK_LIFETIME)
    if url is None:
        return ""
    return f"\n\nLet us know you'll be there:\n{url}"


REPLY_WITH_CERTIFICATE = "Please reply with the new certificate (a PDF or a clear photo is fine)."


def document_link_block(org: OrgContext, vendor_id: int, document_id: int, expires_on: date) -> str:
    """The expiry reminder's paragraph: a link to upload the new certificate (open for 14 days, or until the
    old one expires if later), or, with no public URL, "reply with it" as before."""
    until = max(org.now() + LINK_LIFETIME, datetime.combine(expires_on + timedelta(days=1), time(), org.tz))
    url = create_link(org, vendor_id, "document", document_id, until)
    if url is None:
        return REPLY_WITH_CERTIFICATE
    return (
        f"Upload the new certificate (a PDF or a clear photo is fine) here:\n{url}\n\nOr reply to this email with it."
    )


# ---------------------------------------------------------------- the page's side


@dataclass
class Input:
    """One labelled field of a page's form (a form with a file input posts multipart data)."""

    name: str
    label: str
    type: str  # "file", "date" or "text"
    required: bool
    hint: str = ""
    max_length: int | None = None
    accept: str = ""  # a file input's suggested types
    value: str = ""  # what the vendor typed, shown again with a refusal


@dataclass
class Page:
    """What a page shows: a heading, paragraphs, and (for a live link) the buttons of its one form, with its
    inputs if it asks for some (and the reason a submission was refused, shown above them)."""

    status: int
    title: str
    paragraphs: list[str]
    buttons: list[tuple[str, str]]  # (value, label)
    organization_name: str = ""
    inputs: list[Input] = field(default_factory=list)
    error: str = ""


@dataclass
class Submitted:
    """A form's fields and its one file (name and bytes) as the vendor sent them."""

    fields: dict[str, str]
    filename: str = ""
    content: bytes = b""


@dataclass
class Action:
    question: Callable[[OrgContext, VendorLink, Vendor], Awaitable[tuple[str, list[str]]]]
    buttons: list[tuple[str, str]]
    act: Callable[[OrgContext, VendorLink, str], Awaitable[str]]
    # A form's page: its inputs, and what submitting them does (refusing with Invalid shows the form again).
    inputs: Callable[[OrgContext, VendorLink], Awaitable[list[Input]]] | None = None
    submit: Callable[[OrgContext, VendorLink, Submitted], Awaitable[str]] | None = None


async def _offer_question(org: OrgContext, link: VendorLink, vendor: Vendor) -> tuple[str, list[str]]:
    entry, md, market = await _offer_of(org, link)
    until = link.expires_at.astimezone(org.tz)
    return (
        f"A space at {one_line(market.name)} on {long_date(md.scheduled_at)}",
        [
            f"A space has opened up for {one_line(vendor.business_name)} at {one_line(market.name)} on "
            f"{long_date(md.scheduled_at)}. {one_line(org.organization_name)} is holding it for you until "
            f"{until:%A %d %B at %H:%M}.",
            "Accept to book the space (the stall fee is then due), or decline to let it go to the next vendor.",
        ],
    )


async def _offer_of(org: OrgContext, link: VendorLink) -> tuple[WaitlistEntry, MarketDate, Market]:
    entry = await get_or_404(org, WaitlistEntry, link.record_id)
    if entry.status != "notified" or entry.offer_expires_at is None or entry.offer_expires_at <= org.now():
        raise _Gone("The offer is no longer open.")
    md = await get_or_404(org, MarketDate, entry.market_date_id)
    market = await get_or_404(org, Market, md.market_id)
    return entry, md, market


async def _offer_act(org: OrgContext, link: VendorLink, choice: str) -> str:
    from market_mcp.services import waitlist

    _, md, _ = await _offer_of(org, link)
    day = f"{md.scheduled_at:%a %-d %b}"
    if choice == "accept":
        await waitlist.accept_waitlist_offer(org, link.record_id)
        audit.record(org, "accept_waitlist_offer", {"entry_id": link.record_id, "via": "vendor link"}, "ok")
        return f"accepted the waitlist offer for {day}"
    await waitlist.remove_from_waitlist(org, link.record_id, reason="Declined by the vendor through their link.")
    audit.record(org, "remove_from_waitlist", {"entry_id": link.record_id, "via": "vendor link"}, "ok")
    return f"declined the waitlist offer for {day}"


async def _bookings_of(org: OrgContext, order_id: int) -> list[tuple[int, Any, str]]:
    rows = await org.session.execute(
        scoped(org, Booking, Booking.id, MarketDate.scheduled_at, Market.name)
        .join(MarketDate, MarketDate.id == Booking.market_date_id)
        .join(Market, Market.id == MarketDate.market_id)
        .where(Booking.order_id == order_id, Booking.status.in_(ACTIVE_BOOKING_STATUSES))  # type: ignore[attr-defined]
        .order_by(MarketDate.scheduled_at)
    )
    return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def _attendance_question(org: OrgContext, link: VendorLink, vendor: Vendor) -> tuple[str, list[str]]:
    booked = await _bookings_of(org, link.record_id)
    if not booked:
        raise _Gone("This booking no longer has any dates held.")
    market_name = one_line(booked[0][2])
    days = ", ".join(long_date(day) for _, day, _ in booked)
    return (
        f"Your booking at {market_name}",
        [
            f"{one_line(vendor.business_name)} is booked at {market_name} on {days}.",
            f"Let {one_line(org.organization_name)} know you'll be there. (Payment is made separately, through "
            "the payment link in your email or as the market asks.)",
        ],
    )


async def _attendance_act(org: OrgContext, link: VendorLink, choice: str) -> str:
    booked = await _bookings_of(org, link.record_id)
    if not booked:
        raise _Gone("This booking no longer has any dates held.")
    org.touch("order", link.record_id)
    org.touch("booking", *(booking_id for booking_id, _, _ in booked))
    audit.record(org, "confirm_attendance", {"order_id": link.record_id, "via": "vendor link"}, "ok")
    days = ", ".join(f"{day:%a %-d %b}" for _, day, _ in booked)
    return f"confirmed they'll be there on {days}"


async def _document_of(org: OrgContext, link: VendorLink) -> tuple[VendorDocument, DocumentKind]:
    document = await get_or_404(org, VendorDocument, link.record_id)
    if not document.is_current:
        raise _Gone("A newer document of this kind is already on record.")
    kind = await get_or_404(org, DocumentKind, document.kind_id)
    return document, kind


async def _document_question(org: OrgContext, link: VendorLink, vendor: Vendor) -> tuple[str, list[str]]:
    from market_mcp.services.compliance import MAX_FILE_BYTES, in_sentence

    document, kind = await _document_of(org, link)
    what = in_sentence(kind.name)
    number = f" (no. {one_line(document.number)})" if document.number else ""
    held = f"{one_line(org.organization_name)} has {one_line(vendor.business_name)}'s {what}{number} on record"
    held += f", expiring on {long_date(document.expires_on)}." if document.expires_on else "."
    return (
        f"Your new {what}",
        [
            held,
            f"Please upload the new one: a PDF or a clear photo, at most {MAX_FILE_BYTES // 1024 // 1024} MB.",
        ],
    )


async def _document_inputs(org: OrgContext, link: VendorLink) -> list[Input]:
    document, _ = await _document_of(org, link)
    return [
        Input("file", "The new certificate", "file", True, "A PDF or a photo.", accept="application/pdf,image/*"),
        Input(  # a kind whose current document expires: the new one's expiry is needed for the next reminder
            "expires_on",
            "Expiry date",
            "date",
            document.expires_on is not None,
            "As printed on the certificate." if document.expires_on else "Leave empty if it does not expire.",
        ),
        Input("number", "Certificate or policy number (optional)", "text", False, max_length=100),
    ]


def _expiry(submitted: Submitted, required: bool) -> date | None:
    said = submitted.fields.get("expires_on", "").strip()
    if not said:
        if required:
            raise Invalid("Please enter the new certificate's expiry date.")
        return None
    try:
        return date.fromisoformat(said)
    except ValueError:
        raise Invalid(f"{said[:20]!r} is not a date: please enter the expiry date, e.g. 2027-12-01.") from None


def _plain(message: str) -> str:
    """The service's refusal, in a vendor's words (its argument names are the organiser's tool's)."""
    return (
        message.replace("file_base64", "the file")
        .replace("expires_on ", "The expiry date ")
        .replace("Check the date, or record the vendor's current certificate.", "Please check the date.")
        .replace("or record the document without the file", "please")
    )


async def _document_submit(org: OrgContext, link: VendorLink, submitted: Submitted) -> str:
    import base64

    from market_mcp.services.compliance import MAX_FILE_BYTES, in_sentence, record_vendor_document

    document, kind = await _document_of(org, link)
    if not submitted.content:
        raise Invalid("Please choose the file of the new certificate (a PDF or a photo).")
    if len(submitted.content) > MAX_FILE_BYTES:
        raise Invalid(
            f"The file is {len(submitted.content) / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB. Please send a smaller scan or photo."
        )
    expires_on = _expiry(submitted, document.expires_on is not None)
    number = one_line(submitted.fields.get("number", "")).strip()
    if len(number) > 100:
        raise Invalid("The certificate number is longer than 100 characters; please check it.")
    filename = one_line(submitted.filename.replace("\\", "/").rsplit("/", 1)[-1]).strip()[-200:] or "certificate"
    try:
        recorded = await record_vendor_document(
            org,
            link.vendor_id,
            kind=kind.name,
            number=number,
            issuer="",
            expires_on=expires_on,
            file_base64=base64.b64encode(submitted.content).decode("ascii"),
            filename=filename,
        )
    except Invalid as refused:
        raise Invalid(_plain(refused.message)) from None
    arguments = {
        "vendor_id": link.vendor_id,
        "kind": kind.name,
        "number": number,
        "expires_on": str(expires_on) if expires_on else None,
        "filename": filename,
        "file_bytes": len(submitted.content),
        "via": "vendor link",
    }
    audit.record(org, "record_vendor_document", arguments, "ok")
    until = f"expires {recorded.expires_on}" if recorded.expires_on else "no expiry"
    return f"uploaded a new {in_sentence(kind.name)} ({until})"


async def _form_only(org: OrgContext, link: VendorLink, choice: str) -> str:
    """A form's link is answered by its `submit` (answer() refuses buttons alone before calling this)."""
    raise Invalid("Please fill in the form on the page.")


ACTIONS: dict[str, Action] = {
    "waitlist_offer": Action(_offer_question, [("accept", "Accept the space"), ("decline", "Decline")], _offer_act),
    "attendance": Action(_attendance_question, [("confirm", "I'll be there")], _attendance_act),
    "document": Action(
        _document_question,
        [("upload", "Send the new certificate")],
        _form_only,
        inputs=_document_inputs,
        submit=_document_submit,
    ),
}


class _Gone(Exception):
    """The record behind a link has moved on (an offer taken back, a booking cancelled)."""


def _contact(name: str) -> str:
    return f"If you have a question, please contact {one_line(name)} by replying to their email."


def unknown(organization_name: str = "") -> Page:
    said = _contact(organization_name) if organization_name else "If you have a question, reply to the email."
    return Page(404, "This link doesn't work", ["We don't know this link: check it was copied in full.", said], [])


@dataclass
class Found:
    link: VendorLink
    vendor: Vendor
    org: OrgContext


async def _find(
    session: Any, token: str, clock: Callable[[], datetime], *, for_update: bool, email_delivery: bool, base: str | None
) -> Found | Page:
    if not token or len(token) > 200:
        return unknown()
    stmt = select(VendorLink).where(VendorLink.token_hash == token_hash(token))
    link = (await session.execute(stmt.with_for_update() if for_update else stmt)).scalar_one_or_none()
    if link is None:
        return unknown()
    found = await session.get(Organization, link.organization_id)
    vendor = await session.get(Vendor, link.vendor_id)
    if found is None or vendor is None:
        return unknown()
    org = OrgContext(
        session=session,
        organization_id=found.id,
        organization_name=found.name,
        organization_slug=found.slug,
        currency=found.currency,
        timezone=found.timezone,
        token_id=None,  # type: ignore[arg-type]  # no token: the vendor, holding their link
        token_name=f"vendor: {one_line(vendor.business_name)[:80]} (link)",
        scope="write",
        clock=clock,
        email_delivery=email_delivery,
        public_url=base,
    )
    if link.used_at is not None:
        return Page(
            410,
            "This link has already been used",
            [
                f"You answered on {link.used_at.astimezone(org.tz):%A %d %B at %H:%M}: you {link.outcome}.",
                _contact(found.name),
            ],
            [],
            found.name,
        )
    if link.expires_at <= org.now():
        return Page(
            410,
            "This link has expired",
            [f"It worked until {link.expires_at.astimezone(org.tz):%A %d %B at %H:%M}.", _contact(found.name)],
            [],
            found.name,
        )
    return Found(link, vendor, org)


async def show(db: Database, token: str, clock: Callable[[], datetime]) -> Page:
    """GET: what the link asks, with its buttons (nothing changes: mail scanners open links too)."""
    async with db.transaction() as session:
        found = await _find(session, token, clock, for_update=False, email_delivery=False, base=None)
        if isinstance(found, Page):
            return found
        action = ACTIONS.get(found.link.action)
        if action is None:  # a kind of link this version does not serve
            return unknown(found.org.organization_name)
        try:
            title, paragraphs = await action.question(found.org, found.link, found.vendor)
            inputs = await action.inputs(found.org, found.link) if action.inputs else []
        except (_Gone, MarketError):
            return _moved_on(found.org)
        return Page(200, title, paragraphs, action.buttons, found.org.organization_name, inputs)


def _moved_on(org: OrgContext) -> Page:
    return Page(
        410,
        "This can no longer be done",
        [
            "Things have changed since this email was sent, or the organiser needs to check something first "
            "(a document, a full category), so this can't be done through the link.",
            _contact(org.organization_name),
        ],
        [],
        org.organization_name,
    )


async def answer(
    db: Database, token: str, choice: str, clock: Callable[[], datetime], *, email_delivery: bool, base: str | None
) -> tuple[Page, int]:
    """POST: do what the vendor chose, as the organiser's tool would, in one transaction with its audit entry and
    the link marked used. (The result page; the emails queued.)"""
    try:
        async with db.transaction(write=True) as session:
            found = await _find(session, token, clock, for_update=True, email_delivery=email_delivery, base=base)
            if isinstance(found, Page):
                return found, 0
            link, org = found.link, found.org
            action = ACTIONS.get(link.action)
            if action is None:
                return unknown(org.organization_name), 0
            if action.submit is not None or choice not in {value for value, _ in action.buttons}:
                return Page(400, "Please choose one of the buttons", [_contact(org.organization_name)], []), 0
            outcome = await action.act(org, link, choice)
            return _done(org, link, outcome, choice), org.emails_queued
    except (_Gone, MarketError):
        async with db.transaction() as session:
            found = await _find(session, token, clock, for_update=False, email_delivery=False, base=None)
            if isinstance(found, Page):
                return found, 0
            return _moved_on(found.org), 0


def _done(org: OrgContext, link: VendorLink, outcome: str, choice: str) -> Page:
    """Mark the link used (with what the vendor did, for the dashboard): the thank-you page."""
    link.used_at = org.now()
    link.outcome = outcome[:300]
    org.session.add(link)
    org.touch("vendor_link", link.id)  # type: ignore[arg-type]
    return Page(
        200, "Thank you", [f"Done: you {outcome}.", _after(link.action, choice, org)], [], org.organization_name
    )


async def submit(
    db: Database,
    token: str,
    submitted: Submitted,
    clock: Callable[[], datetime],
    *,
    email_delivery: bool,
    base: str | None,
) -> tuple[Page, int]:
    """POST of a form's page (the document upload): do it as the organiser's tool would, in one transaction with
    its audit entry and the link marked used. A refusal (Invalid) changes nothing and shows the form again with
    the reason, so the vendor can fix it with the same link."""
    try:
        async with db.transaction(write=True) as session:
            found = await _find(session, token, clock, for_update=True, email_delivery=email_delivery, base=base)
            if isinstance(found, Page):
                return found, 0
            link, org = found.link, found.org
            action = ACTIONS.get(link.action)
            if action is None:
                return unknown(org.organization_name), 0
            if action.submit is None:
                return Page(400, "Please choose one of the buttons", [_contact(org.organization_name)], []), 0
            outcome = await action.submit(org, link, submitted)
            return _done(org, link, outcome, ""), org.emails_queued
    except Invalid as refused:
        page = await show(db, token, clock)
        if page.inputs:
            page.status, page.error = 422, refused.message
            for item in page.inputs:
                if item.type != "file":
                    item.value = submitted.fields.get(item.name, "")[:200]
        return page, 0
    except (_Gone, MarketError):
        async with db.transaction() as session:
            found = await _find(session, token, clock, for_update=False, email_delivery=False, base=None)
            if isinstance(found, Page):
                return found, 0
            return _moved_on(found.org), 0


def _after(action: str, choice: str, org: OrgContext) -> str:
    who = one_line(org.organization_name)
    if action == "document":
        return f"{who} has the new certificate on file. Thank you for keeping it up to date."
    if action == "waitlist_offer" and choice == "accept":
        return f"The space is booked for you; {who} will email you about the stall fee."
    if action == "waitlist_offer":
        return f"The space goes to the next vendor on the waitlist. {who} will be in touch about future dates."
    return f"{who} has been told. See you at the market."


# ---------------------------------------------------------------- the organiser's dashboard


async def recent_actions(org: OrgContext, *, most: int = 10) -> list[str]:
    """What vendors did through their links since this time yesterday, newest first, one sentence each."""
    rows = await org.session.execute(
        scoped(org, VendorLink, Vendor.business_name, VendorLink.outcome)
        .join(Vendor, Vendor.id == VendorLink.vendor_id)
        .where(VendorLink.used_at >= org.now() - RECENT)  # type: ignore[operator]
        .order_by(VendorLink.used_at.desc(), VendorLink.id.desc())  # type: ignore[union-attr]
        .limit(most)
    )
    return [f"{one_line(name)} {outcome} (via their link)." for name, outcome in rows.all()]
