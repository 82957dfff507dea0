"""Payment links: a Stripe Checkout page for what an order has due, and the webhook that records its payment.

Optional: only with MARKET_MCP_STRIPE_API_KEY and MARKET_MCP_STRIPE_WEBHOOK_SECRET set (Settings.payment_links).
A link is asked for inside a write (approving an order, create_payment_link: `Wanted` on the OrgContext) and made
once that transaction has committed (`make`), so no transaction stays open across a call to Stripe. A short
transaction of its own then stores the link and puts it in the vendor's email: the approval email, while it is still
queued (else an email of its own). If Stripe fails, the approval stands and says so; create_payment_link retries.

Stripe's webhook (`record_checkout`) records a paid Checkout session on the payments ledger as record_order_payment
would, with its receipt email and audit entry (as "Stripe"). `stripe_payment`'s unique session id makes it exactly
once: a retried delivery, or two racing, insert the same id and all but the first record nothing.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from market_mcp.auth import OrgContext
from market_mcp.config import Settings
from market_mcp.db import Database
from market_mcp.db.tables import Email, Market, Order, Organization, Payment, PaymentLink, StripePayment, Vendor
from market_mcp.errors import Conflict, NotFound
from market_mcp.schemas.common import format_money, long_date
from market_mcp.schemas.payments import PaymentLinkResult
from market_mcp.services import audit, emails
from market_mcp.services.scope import get_or_404, scoped

if TYPE_CHECKING:
    import stripe

logger = logging.getLogger("market_mcp.payment_links")

NOT_CONFIGURED = (
    "Payment links are not configured: set MARKET_MCP_STRIPE_API_KEY and MARKET_MCP_STRIPE_WEBHOOK_SECRET (and point "
    "a Stripe webhook at this server's /webhooks/stripe), then restart the server. Meanwhile record_order_payment "
    "records money received."
)
# A link about to expire is not worth sending again: a new one is made instead.
STILL_OPEN_FOR = timedelta(hours=1)
# The Checkout events that mean the money has arrived (a delayed method, e.g. a bank debit, pays later).
PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
STRIPE = "Stripe"  # who the audit log says recorded a webhook's payment
_WHEN = TypeAdapter(datetime | None)  # a moment in a result, as every result writes it


@dataclass(frozen=True)
class Wanted:
    """A link to make for an order once the asking transaction has committed."""

    via: str  # the tool that asked: approve_order, create_order, create_payment_link
    order_id: int
    amount_cents: int
    market_name: str
    vendor_email: str
    idempotency_key: str  # Stripe's: a retry after a lost answer returns the same session
    email_id: int | None = None  # the approval email to put the link in, while it is still queued
    email_values: dict[str, Any] = field(default_factory=dict)  # that email's template values


@dataclass
class Made:
    """What became of a Wanted link: its page, or why there is none."""

    order_id: int
    url: str | None = None
    expires_at: datetime | None = None
    error: str | None = None
    emails_queued: int = 0


class Checkout:
    """Stripe, as payment links use it: Checkout sessions made with the async client (the event loop is never
    blocked), and webhook events verified against the signing secret."""

    def __init__(self, settings: Settings) -> None:
        import stripe  # only with links configured: a server without them starts faster

        assert settings.stripe_api_key is not None and settings.stripe_webhook_secret is not None
        self.webhook_secret = settings.stripe_webhook_secret.get_secret_value()
        self.return_url = settings.stripe_return_url
        self.client = stripe.StripeClient(
            settings.stripe_api_key.get_secret_value(),
            http_client=stripe.HTTPXClient(timeout=20),
            base_addresses={"api": settings.stripe_api_base} if settings.stripe_api_base else None,
            max_network_retries=2,
        )

    @classmethod
    def configured(cls, settings: Settings) -> Checkout | None:
        return cls(settings) if settings.payment_links else None

    async def open(self, organization_id: int, currency: str, wanted: Wanted) -> tuple[str, str, datetime]:
        """A Checkout session for what the order has due: (its id, its page, when it expires)."""
        metadata = {"organization_id": str(organization_id), "order_id": str(wanted.order_id)}
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": wanted.amount_cents,
                        "product_data": {"name": f"{wanted.market_name}: order {wanted.order_id}"},
                    },
                }
            ],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "client_reference_id": f"{organization_id}-{wanted.order_id}",
            "customer_email": wanted.vendor_email,
        }
        if self.return_url:
            params["success_url"] = self.return_url
            params["cancel_url"] = self.return_url
        session = await self.client.v1.checkout.sessions.create_async(
            params,  # type: ignore[arg-type]
            {"idempotency_key": wanted.idempotency_key},
        )
        if not session.url:
            raise self.error("Stripe made a Checkout session without a page to pay on.")
        return session.id, session.url, datetime.fromtimestamp(session.expires_at, UTC)

    @property
    def error(self) -> type[stripe.StripeError]:
        import stripe

        return stripe.StripeError

    def event(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        """The webhook's event, once its Stripe-Signature is verified (else stripe.SignatureVerificationError)."""
        self.client.construct_event(payload, signature, self.webhook_secret)
        return json.loads(payload)  # type: ignore[no-any-return]


def _expires(org: OrgContext, at: datetime) -> str:
    local = at.astimezone(org.tz)
    return f"{long_date(local.date())}, {local:%H:%M}"


def _pay_block(org: OrgContext, url: str, expires_at: datetime) -> str:
    return emails.paragraph(f"Pay online: {url} (the link works until {_expires(org, expires_at)}).")


async def want_on_approval(org: OrgContext, order: Order, *, via: str, email: Email, values: dict[str, Any]) -> None:
    """An approval that leaves money due, with links configured: a link for it, put in its approval email."""
    await org.session.flush()  # the email's id
    org.links_wanted.append(
        Wanted(
            via=via,
            order_id=order.id,  # type: ignore[arg-type]
            amount_cents=order.amount_due_cents,
            market_name=values["market_name"],
            vendor_email=email.to,
            idempotency_key=f"market-mcp:{org.organization_id}:approved:{order.id}:{email.id}",
            email_id=email.id,
            email_values=values,
        )
    )


async def request(org: OrgContext, order: Order) -> PaymentLinkResult:
    """create_payment_link: the open link for what is due, emailed to the vendor again, or a new one wanted."""
    if not org.payment_links:
        raise Conflict(NOT_CONFIGURED)
    due = order.amount_due_cents
    now = org.now()
    link = (
        (
            await org.session.execute(
                scoped(org, PaymentLink)
                .where(
                    PaymentLink.order_id == order.id,
                    PaymentLink.amount_cents == due,
                    PaymentLink.expires_at > now + STILL_OPEN_FOR,
                )
                .order_by(PaymentLink.id.desc())  # type: ignore[union-attr]
            )
        )
        .scalars()
        .first()
    )
    result = PaymentLinkResult(order_id=order.id, amount_due_cents=due, currency=org.currency)  # type: ignore[arg-type]
    vendor = await get_or_404(org, Vendor, order.vendor_id)
    market = await get_or_404(org, Market, order.market_id)
    if link is not None:
        _email_link(org, vendor, order, link, market.name)
        org.touch("payment_link", link.id)  # type: ignore[arg-type]
        return result.model_copy(update=dict(payment_url=link.url, expires_at=link.expires_at, reused=True))
    org.links_wanted.append(
        Wanted(
            via="create_payment_link",
            order_id=order.id,  # type: ignore[arg-type]
            amount_cents=due,
            market_name=market.name,
            vendor_email=vendor.email,
            # A new one each call: the call's own idempotency_key is replayed before it gets here, and Stripe would
            # answer a key it refused once with that refusal again, for a day.
            idempotency_key=f"market-mcp:{org.organization_id}:link:{order.id}:{due}:{secrets.token_hex(8)}",
        )
    )
    return result


def _email_link(org: OrgContext, vendor: Vendor, order: Order, link: PaymentLink, market_name: str) -> None:
    emails.email_vendor(
        org,
        vendor,
        "payment_link",
        record_type="order",
        record_id=order.id,
        order_id=order.id,
        market_name=market_name,
        due=format_money(link.amount_cents, org.currency),
        url=link.url,
        expires=_expires(org, link.expires_at),
    )


async def make(
    db: Database,
    checkout: Checkout,
    wanted: list[Wanted],
    context: Callable[[Any], OrgContext],
    *,
    organization_id: int,
    currency: str,
) -> list[Made]:
    """Make the wanted links, after the transaction that asked for them has committed: Stripe first, outside any
    transaction, then one short transaction per link (`context` makes its OrgContext from the session)."""
    made = []
    for want in wanted:
        try:
            session_id, url, expires_at = await checkout.open(organization_id, currency, want)
        except checkout.error as exc:
            logger.warning("Stripe could not make a payment link for order %s: %s", want.order_id, exc)
            why = getattr(exc, "user_message", None) or type(exc).__name__
            made.append(Made(order_id=want.order_id, error=f"Stripe could not make the payment link ({why})"))
            async with db.transaction(write=True) as session:
                audit.record(
                    context(session), "create_payment_link", {"order_id": want.order_id, "via": want.via}, "409"
                )
            continue
        try:
            made.append(await _store(db, context, want, session_id, url, expires_at))
        except Exception:  # the call's own change has committed: its result must not say nothing changed
            incident = secrets.token_hex(4)
            logger.exception(
                "incident %s: payment link %s for order %s not stored", incident, session_id, want.order_id
            )
            made.append(
                Made(order_id=want.order_id, error=f"The payment link could not be saved (incident {incident})")
            )
    return made


def outcome(tool: str, result: dict[str, Any], made: list[Made]) -> dict[str, Any] | Conflict:
    """The call's result with the link it asked for (one order a call), or, when Stripe failed, what to do."""
    link = made[0]
    if link.url is not None:
        more: dict[str, Any] = {"payment_url": link.url}
        if tool == "create_payment_link":
            more["expires_at"] = _WHEN.dump_python(link.expires_at, mode="json")
        return result | more
    if tool == "create_payment_link":
        return Conflict(f"{link.error}; nothing was emailed. Try create_payment_link again in a minute.")
    return result | {
        "payment_link_note": f"{link.error}. The order is approved and its email asks the vendor to pay; "
        "create_payment_link tries again."
    }


async def _store(
    db: Database, context: Callable[[Any], OrgContext], want: Wanted, session_id: str, url: str, expires_at: datetime
) -> Made:
    try:
        async with db.transaction(write=True) as session:
            org = context(session)
            order = await get_or_404(org, Order, want.order_id)
            link = PaymentLink(
                organization_id=org.organization_id,
                order_id=want.order_id,
                amount_cents=want.amount_cents,
                currency=org.currency,
                session_id=session_id,
                url=url,
                expires_at=expires_at,
            )
            session.add(link)
            await session.flush()
            org.touch("payment_link", link.id)  # type: ignore[arg-type]
            vendor = await get_or_404(org, Vendor, order.vendor_id)
            if not await _into_approval_email(org, vendor, want, url, expires_at):
                _email_link(org, vendor, order, link, want.market_name)
            audit.record(org, "create_payment_link", {"order_id": want.order_id, "via": want.via}, "ok")
    except IntegrityError:  # the same Stripe session stored by a concurrent retry: that one emailed it
        return Made(order_id=want.order_id, url=url, expires_at=expires_at)
    return Made(order_id=want.order_id, url=url, expires_at=expires_at, emails_queued=org.emails_queued)


async def _into_approval_email(org: OrgContext, vendor: Vendor, want: Wanted, url: str, expires_at: datetime) -> bool:
    """Put the link in the order's approval email, if it is still in the outbox: whether it was."""
    if want.email_id is None:
        return False
    email = await get_or_404(org, Email, want.email_id, for_update=True)
    if email.status != "queued":
        return False
    email.subject, email.body = emails.render_for(
        org, vendor, "order_approved", **(want.email_values | {"pay_block": _pay_block(org, url, expires_at)})
    )
    org.session.add(email)
    return True


# ---------------------------------------------------------------- the webhook


def _id(value: Any) -> int | None:
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 < number < 2**31 else None


async def record_checkout(
    db: Database, event: dict[str, Any], clock: Callable[[], datetime], *, email_delivery: bool
) -> tuple[str, int]:
    """A verified Stripe event: a paid Checkout session is recorded on the ledger, once. (What happened, in words
    for the log; the emails queued.)"""
    kind = event.get("type")
    if kind not in PAID_EVENTS:
        return f"ignored {kind}", 0
    checkout = (event.get("data") or {}).get("object") or {}
    if checkout.get("payment_status") != "paid":
        return f"ignored {kind}: not paid yet", 0
    metadata = checkout.get("metadata") or {}
    organization_id, order_id = _id(metadata.get("organization_id")), _id(metadata.get("order_id"))
    session_id, amount = str(checkout.get("id") or ""), checkout.get("amount_total")
    if organization_id is None or order_id is None or not session_id or not isinstance(amount, int) or amount <= 0:
        logger.warning("Stripe event %s: not a payment link's session (%s); nothing recorded", event.get("id"), kind)
        return "ignored: not a payment link's session", 0
    try:
        async with db.transaction(write=True) as session:
            found = await session.get(Organization, organization_id)
            if found is None:
                logger.warning("Stripe event %s names unknown organisation %s", event.get("id"), organization_id)
                return "ignored: unknown organisation", 0
            org = OrgContext(
                session=session,
                organization_id=organization_id,
                organization_name=found.name,
                organization_slug=found.slug,
                currency=found.currency,
                timezone=found.timezone,
                token_id=None,  # type: ignore[arg-type]  # no token: Stripe, verified by its signature
                token_name=STRIPE,
                scope="write",
                clock=clock,
                email_delivery=email_delivery,
            )
            return await _record(org, event, checkout, order_id, session_id, amount)
    except NotFound:
        logger.warning(
            "Stripe event %s: order %s is not organisation %s's; nothing recorded",
            event.get("id"),
            order_id,
            organization_id,
        )
        return "ignored: unknown order", 0
    except IntegrityError:  # a concurrent delivery of the same session recorded it first
        return "already recorded", 0


async def _record(
    org: OrgContext, event: dict[str, Any], checkout: dict[str, Any], order_id: int, session_id: str, amount: int
) -> tuple[str, int]:
    from market_mcp.services import orders  # orders asks for links on approval

    order = await get_or_404(org, Order, order_id, for_update=True)
    seen = await org.session.execute(
        scoped(org, StripePayment, StripePayment.id).where(StripePayment.session_id == session_id)
    )
    if seen.first() is not None:
        return "already recorded", 0
    if str(checkout.get("currency", "")).upper() != org.currency:
        logger.error(
            "Stripe session %s paid in %s, not %s: not recorded", session_id, checkout.get("currency"), org.currency
        )
        return "ignored: another currency", 0
    mark = StripePayment(organization_id=org.organization_id, session_id=session_id, event_id=str(event.get("id")))
    org.session.add(mark)
    await org.session.flush()  # the unique session id: a second delivery stops here
    arguments = {"order_id": order_id, "amount": amount, "session_id": session_id, "event_id": event.get("id")}
    if order.status != "payment_pending":
        logger.warning("Stripe session %s paid order %s, which is %s: not recorded", session_id, order_id, order.status)
        audit.record(org, "stripe_payment", arguments, "409")
        return f"not recorded: order is {order.status}", 0
    reference = checkout.get("payment_intent") if isinstance(checkout.get("payment_intent"), str) else session_id
    await orders.record_order_payment(org, order_id, method="online", reference=reference, amount_cents=amount)
    mark.payment_id = (
        await org.session.execute(
            scoped(org, Payment, func.max(Payment.id)).where(Payment.order_id == order_id, Payment.kind == "payment")
        )
    ).scalar_one()
    org.session.add(mark)
    audit.record(org, "stripe_payment", arguments, "ok")
    return "recorded", org.emails_queued
