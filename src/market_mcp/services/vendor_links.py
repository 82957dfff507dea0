"""Vendor self-service links: a signed, single-use, expiring link in a vendor's email to a page of the HTTP server
(market_mcp.vendor_pages) where they answer: accept or decline a waitlist offer, confirm they will be there.

The token is random (secrets.token_urlsafe) and only its SHA-256 is stored, so the store never holds a working
link. What the vendor does is done as if the organiser had called the tool (the same service call, in one
transaction) and audited under the vendor's name ("vendor: Green Bean Coffee (link)"); the link row keeps what
happened in words, which get_dashboard_summary shows the next day.

Without a public URL (MARKET_MCP_PUBLIC_URL, or serve --public-url) no link is made and the emails say to reply.
Another kind of link (a document upload: action "document", already allowed by the table) is one more ACTIONS
entry, its question, its buttons and its `act`, and a create_link call where its email is queued. A page that
takes a file would also need its form to post multipart data (market_mcp.vendor_pages reads a small url-encoded
form today).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from market_mcp.auth import OrgContext
from market_mcp.db import Database
from market_mcp.db.tables import (
    ACTIVE_BOOKING_STATUSES,
    Booking,
    Market,
    MarketDate,
    Order,
    Organization,
    Vendor,
    VendorLink,
    WaitlistEntry,
)
from market_mcp.errors import MarketError
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


# ---------------------------------------------------------------- the page's side


@dataclass
class Page:
    """What a page shows: a heading, paragraphs, and (for a live link) the buttons of its one form."""

    status: int
    title: str
    paragraphs: list[str]
    buttons: list[tuple[str, str]]  # (value, label)
    organization_name: str = ""


@dataclass
class Action:
    question: Callable[[OrgContext, VendorLink, Vendor], Awaitable[tuple[str, list[str]]]]
    buttons: list[tuple[str, str]]
    act: Callable[[OrgContext, VendorLink, str], Awaitable[str]]


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


ACTIONS: dict[str, Action] = {
    "waitlist_offer": Action(_offer_question, [("accept", "Accept the space"), ("decline", "Decline")], _offer_act),
    "attendance": Action(_attendance_question, [("confirm", "I'll be there")], _attendance_act),
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
        except (_Gone, MarketError):
            return _moved_on(found.org)
        return Page(200, title, paragraphs, action.buttons, found.org.organization_name)


def _moved_on(org: OrgContext) -> Page:
    return Page(
        410,
        "This can no longer be done",
        [
            "Things have changed since this email was sent, so this link no longer applies.",
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
            if choice not in {value for value, _ in action.buttons}:
                return Page(400, "Please choose one of the buttons", [_contact(org.organization_name)], []), 0
            outcome = await action.act(org, link, choice)
            link.used_at = org.now()
            link.outcome = outcome[:300]
            session.add(link)
            org.touch("vendor_link", link.id)  # type: ignore[arg-type]
            done = Page(
                200,
                "Thank you",
                [f"Done: you {outcome}.", _after(link.action, choice, org)],
                [],
                org.organization_name,
            )
            return done, org.emails_queued
    except (_Gone, MarketError):
        async with db.transaction() as session:
            found = await _find(session, token, clock, for_update=False, email_delivery=False, base=None)
            if isinstance(found, Page):
                return found, 0
            return _moved_on(found.org), 0


def _after(action: str, choice: str, org: OrgContext) -> str:
    who = one_line(org.organization_name)
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
