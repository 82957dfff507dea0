"""The outbox and the words in it.

Emails are rows written in the transaction that caused them; delivery comes after commit.
Every message the system sends is a template here, so the voice of the market is in one place.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import insert

from market_mcp.auth import OrgContext
from market_mcp.db.tables import Email, Vendor
from market_mcp.db.types import utcnow
from market_mcp.errors import Invalid
from market_mcp.schemas.emails import EmailDelivery, EmailOut, EmailPage, EmailsQueued
from market_mcp.schemas.text import SECRET_IN_TEXT, one_line
from market_mcp.services import ranges
from market_mcp.services.scope import count, scoped

# kind -> (subject, body). Fields in braces come from the caller; *_block fields are optional paragraphs.
TEMPLATES: dict[str, tuple[str, str]] = {
    "application_approved": (
        "You're in: {market_name}",
        "Hi {contact_name},\n\n"
        "Good news: {business_name} has been approved to trade at {market_name}.{message_block}"
        "{credit_block}\n\n"
        "Next step: choose your dates and pay your stall fee of {fee} a market day. We'll confirm your space "
        "as soon as your booking is paid.\n\n"
        "See you at the market,\n{organization_name}",
    ),
    "application_rejected": (
        "Your application to {market_name}",
        "Hi {contact_name},\n\n"
        "Thank you for applying to trade at {market_name}. We're sorry, but we can't offer {business_name} "
        "a place this time.{message_block}\n\n"
        "We get many more applications than we have spaces, and we hope you'll apply again next season.\n\n"
        "Kind regards,\n{organization_name}",
    ),
    "application_waitlisted": (
        "You're on the waitlist for {market_name}",
        "Hi {contact_name},\n\n"
        "Thank you for applying to trade at {market_name}. Our spaces for your category are full right now, "
        "so we've put {business_name} on our waitlist.{message_block}\n\n"
        "We'll be in touch as soon as a space opens up.\n\n"
        "Kind regards,\n{organization_name}",
    ),
    "application_reminder": (
        "Reminder: book your dates at {market_name}",
        "Hi {contact_name},\n\n"
        "A friendly reminder that {business_name} is approved to trade at {market_name}, but we haven't "
        "received a booking yet. {next_date_sentence}The stall fee is {fee} a market day.{credit_block}\n\n"
        "Spaces are confirmed in the order bookings are paid, so don't leave it too long.\n\n"
        "See you soon,\n{organization_name}",
    ),
    "order_approved": (
        "Your booking at {market_name} is confirmed",
        "Hi {contact_name},\n\n"
        "Your order {order_id} for {business_name} is approved and your space is held for:\n{date_lines}\n\n"
        "Total: {total}.{credit_line} {due_sentence}{pay_block}{link_block}\n\n"
        "See you at the market,\n{organization_name}",
    ),
    "order_rejected": (
        "Your booking at {market_name}",
        "Hi {contact_name},\n\n"
        "We're sorry, but we can't accept order {order_id} for {business_name}:\n{date_lines}{message_block}"
        "{credit_block}\n\n"
        "Kind regards,\n{organization_name}",
    ),
    "order_reminder": (
        "Reminder: {due} due for {market_name}",
        "Hi {contact_name},\n\n"
        "A friendly reminder that {due} is still due on order {order_id} for {business_name}:\n{date_lines}\n\n"
        "{pay_by_sentence}{link_block}\n\n"
        "Thank you,\n{organization_name}",
    ),
    "payment_released": (
        "Released: your unpaid booking at {market_name}",
        "Hi {contact_name},\n\n"
        "Order {order_id} for {business_name} wasn't paid by {deadline}, so we've released its spaces:\n"
        "{date_lines}\n\n{money_sentence}\n\n"
        "If you'd still like to trade, reply to this email and we'll see what's available.\n\n"
        "Kind regards,\n{organization_name}",
    ),
    "payment_link": (
        "Pay online: {due} for {market_name}",
        "Hi {contact_name},\n\n"
        "You can pay the {due} due on order {order_id} for {business_name} online:\n{url}\n\n"
        "The link works until {expires}.\n\n"
        "Thank you,\n{organization_name}",
    ),
    "payment_received": (
        "Payment received: order {order_id}",
        "Hi {contact_name},\n\n"
        "Thank you: we've received {paid} ({method}) for order {order_id}. {left_sentence}\n{date_lines}\n\n"
        "Your receipt {receipt} is attached.\n\n"
        "See you at the market,\n{organization_name}",
    ),
    "payment_refunded": (
        "Refund: {refunded} on order {order_id}",
        "Hi {contact_name},\n\n"
        "We've refunded {refunded} on order {order_id} for {business_name} at {market_name}: {how}.\n\n"
        "Reason: {reason}\n\n"
        "Kind regards,\n{organization_name}",
    ),
    "booking_confirmed": (
        "Confirmed: {market_name} on {day}",
        "Hi {contact_name},\n\n"
        "{business_name}'s space at {market_name} on {day} is confirmed.{space_sentence}{message_block}\n\n"
        "See you at the market,\n{organization_name}",
    ),
    "booking_rejected": (
        "Your booking at {market_name} on {day}",
        "Hi {contact_name},\n\n"
        "We're sorry, but we can't confirm {business_name}'s booking at {market_name} on {day}.{message_block}"
        "{money_block}\n\n"
        "Kind regards,\n{organization_name}",
    ),
    "booking_cancelled": (
        "Cancelled: {market_name} on {day}",
        "Hi {contact_name},\n\n"
        "{business_name}'s booking at {market_name} on {day} has been cancelled.{message_block}{money_block}\n\n"
        "If you have any questions, just reply to this email.\n\n"
        "Kind regards,\n{organization_name}",
    ),
    "booking_rebooked": (
        "Moved: your {market_name} booking is now {new_day}",
        "Hi {contact_name},\n\n"
        "We've moved {business_name}'s booking at {market_name} from {old_day} to {new_day}.{money_block}\n\n"
        "See you at the market,\n{organization_name}",
    ),
    "waitlist_offer": (
        "A space has opened up: {market_name} on {day}",
        "Hi {contact_name},\n\n"
        "Good news: a space has opened up for {business_name} at {market_name} on {day}, and it's yours if you "
        "want it. We're holding it for you until {expires}; after that we'll offer it to the next vendor on "
        "the waitlist.\n\n"
        "{link_block}\n\n"
        "Kind regards,\n{organization_name}",
    ),
    "market_date_cancelled": (
        "{market_name} on {day} is cancelled",
        "Hi {contact_name},\n\n"
        "We're sorry to tell you that {market_name} on {day} will not go ahead, so {business_name}'s booking "
        "for that day is cancelled.{message_block}{money_block}\n\n"
        "Thank you for understanding, and we hope to see you at the next market.\n\n"
        "Kind regards,\n{organization_name}",
    ),
    "document_expiring": (
        "Your {kind_name} expires on {expires}",
        "Hi {contact_name},\n\n"
        "Our records show that {business_name}'s {kind_name}{number_part} expires on {expires}. We need a "
        "current one on file for you to keep trading at our markets after that day.\n\n"
        "{link_block}\n\n"
        "Thank you,\n{organization_name}",
    ),
    # The organiser's own words: {greeting} is ours unless their message opens with one (see `greeting`).
    "vendor_message": ("{subject}", "{greeting}{message}\n\n{organization_name}"),
    "market_message": ("{subject}", "{greeting}{message}\n\n{organization_name}, for {market_name}"),
}

EMAIL_KINDS = (
    "application_approved",
    "application_rejected",
    "application_waitlisted",
    "application_reminder",
    "order_approved",
    "order_rejected",
    "order_reminder",
    "payment_link",
    "payment_received",
    "payment_refunded",
    "payment_released",
    "booking_confirmed",
    "booking_rejected",
    "booking_cancelled",
    "booking_rebooked",
    "waitlist_offer",
    "market_date_cancelled",
    "market_message",
    "vendor_message",
    "document_expiring",
)


NOT_DELIVERED = (
    "Email delivery is not set up (MARKET_MCP_SMTP_URL is unset): queued emails stay in the outbox and nobody "
    "receives them until it is set."
)
DELIVERED = "Queued emails go out over SMTP within a minute; list_emails shows whether each one was sent."


def delivery(org: OrgContext) -> EmailDelivery:
    """Whether the outbox is delivered at all, in words a model can repeat to the organiser."""
    if org.email_delivery:
        return EmailDelivery(delivery="sending", note=DELIVERED)
    return EmailDelivery(delivery="not_configured", note=NOT_DELIVERED)


def queued(org: OrgContext) -> EmailsQueued:
    """What this call put in the outbox, and whether anyone will receive it: never "sent"."""
    n, state = org.emails_queued, delivery(org)
    if n == 0:
        note = "No email was queued."
    else:
        note = f"{n} email{'s' if n != 1 else ''} queued, not yet sent. {state.note}"
    return EmailsQueued(queued=n, delivery=state.delivery, note=note)


def first_name(contact_name: str, business_name: str) -> str:
    """How an email greets a vendor: their first name, or the business when no contact is known."""
    return one_line(contact_name.split()[0] if contact_name.strip() else business_name)


_OWN_GREETING = re.compile(
    r"(hi|hello|hey|hiya|dear|greetings|g'?day|good (morning|afternoon|evening|day)|kia ora|to all)\b", re.IGNORECASE
)


def greeting(message: str, contact_name: str, business_name: str) -> str:
    """The line an organiser's message is sent under: "Hi Hannah," unless the message already greets
    ("Hi all, …"), so no vendor reads two greetings."""
    if _OWN_GREETING.match(message.lstrip()):
        return ""
    return f"Hi {first_name(contact_name, business_name)},\n\n"


def paragraph(text: str | None) -> str:
    """An optional paragraph for a template's *_block field: empty, or the text after a blank line."""
    return f"\n\n{text.strip()}" if text and text.strip() else ""


# Names put into the middle of our sentences: a vendor's or organiser's one-line text, kept to one line there
# even when a row written before the input check holds a line break (the body is read back by list_emails).
ONE_LINE_VALUES = frozenset(("contact_name", "business_name", "market_name", "organization_name"))


# {link_block}: a vendor self-service link (services/vendor_links.py), or without one what the email said before.
LINK_BLOCK_DEFAULTS = {
    "waitlist_offer": "Reply to this email to take it.",
    "order_approved": "",
    "order_reminder": "",
    "document_expiring": "Please reply with the new certificate (a PDF or a clear photo is fine).",
}


def render(kind: str, **values: Any) -> tuple[str, str]:
    subject, body = TEMPLATES[kind]
    if kind in LINK_BLOCK_DEFAULTS:
        values.setdefault("link_block", LINK_BLOCK_DEFAULTS[kind])
    values = {k: one_line(v) if k in ONE_LINE_VALUES and isinstance(v, str) else v for k, v in values.items()}
    return one_line(subject.format_map(values)), body.format_map(values)


TOKEN_IN_EMAIL = (
    "This email would carry what looks like an API token (in its subject, its message or a name it gives); "
    "remove it. Tokens are never emailed."
)


def without_secrets(subject: str, body: str) -> None:
    """Refuse (422) an email that would carry one of this server's secrets to a vendor: the arguments are checked
    on the way in, and this is the last look, at what would really be sent."""
    if "mk_" in subject + body and SECRET_IN_TEXT.search(subject + body):
        raise Invalid(TOKEN_IN_EMAIL)


def queue_email(
    org: OrgContext,
    *,
    to: str,
    subject: str,
    body: str,
    kind: str,
    vendor_id: int | None = None,
    record_type: str | None = None,
    record_id: int | None = None,
    attachment: str | None = None,
) -> Email:
    """Queue one email in the caller's transaction: it is sent only if the change that caused it commits.
    attachment: a document to render and attach at delivery ("receipt:<payment id>", services.invoices)."""
    if kind not in EMAIL_KINDS:
        raise ValueError(f"unknown email kind {kind!r}")
    without_secrets(subject, body)
    email = Email(
        organization_id=org.organization_id,
        vendor_id=vendor_id,
        to=to,
        subject=subject[:300],
        body=body,
        kind=kind,
        record_type=record_type,
        record_id=record_id,
        attachment=attachment,
    )
    org.session.add(email)
    org.emails_queued += 1
    return email


def render_for(org: OrgContext, vendor: Vendor, kind: str, **values: Any) -> tuple[str, str]:
    """The `kind` template as `vendor` reads it: greeting, business and organisation filled in."""
    return render(
        kind,
        contact_name=first_name(vendor.contact_name, vendor.business_name),
        business_name=vendor.business_name,
        organization_name=org.organization_name,
        **values,
    )


def email_vendor(
    org: OrgContext,
    vendor: Vendor,
    kind: str,
    *,
    record_type: str,
    record_id: int | None,
    attachment: str | None = None,
    **values: Any,
) -> Email:
    """Queue the `kind` template to a vendor: greeting, business and organisation filled in, `values` the rest."""
    subject, body = render_for(org, vendor, kind, **values)
    return queue_email(
        org,
        to=vendor.email,
        subject=subject,
        body=body,
        kind=kind,
        vendor_id=vendor.id,
        record_type=record_type,
        record_id=record_id,
        attachment=attachment,
    )


async def list_emails(
    org: OrgContext,
    *,
    status: str | None,
    vendor_id: int | None,
    kind: str | None,
    from_date: date | None = None,
    to_date: date | None = None,
    limit: int,
    offset: int,
) -> EmailPage:
    """The outbox, newest first, and whether queued mail goes out at all."""
    stmt = scoped(org, Email).where(*ranges.at_moments(org, Email.created_at, from_date, to_date))
    if status:
        stmt = stmt.where(Email.status == status)
    if vendor_id is not None:
        stmt = stmt.where(Email.vendor_id == vendor_id)
    if kind:
        stmt = stmt.where(Email.kind == kind)
    total = await count(org, stmt)
    rows = await org.session.execute(stmt.order_by(Email.id.desc()).limit(limit).offset(offset))  # type: ignore[union-attr]
    items = [EmailOut.model_validate(e, from_attributes=True) for e in rows.scalars()]
    said = delivery(org)
    return EmailPage.of(items, total=total, limit=limit, offset=offset, delivery=said.delivery, delivery_note=said.note)


async def queue_many(org: OrgContext, rows: list[dict[str, Any]]) -> None:
    """Queue many emails in one statement (mass mail is set-based, not a loop of round trips)."""
    for row in rows:
        without_secrets(row["subject"], row["body"])
    if rows:
        now = utcnow()
        base = dict(organization_id=org.organization_id, status="queued", attempts=0, created_at=now)
        await org.session.execute(insert(Email.__table__), [base | row for row in rows])  # Core: no ORM per row
        org.emails_queued += len(rows)
