"""Bookings: one vendor's stall on one market date — confirmed, cancelled, moved, restored, numbered.

Cancelling is set-based: one booking or a thousand go through the same few statements
(`cancel_many`): an UPDATE per outcome, one INSERT each for credits, their ledger rows and the
emails. What cancelling did with the money stays on the booking (`cancel_settlement`): a paid
booking may be credited back ("credit"); an unpaid order stops charging for it ("release").
restore_booking undoes exactly that.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import update

from market_mcp.auth import OrgContext
from market_mcp.db.tables import Booking, Credit, CreditTransaction, Market, MarketDate, Order, Vendor
from market_mcp.errors import Conflict, Invalid, NotFound
from market_mcp.schemas.bookings import BookingOut, BookingResult, BulkCancelResult, SkippedBooking, WaitlistOffer
from market_mcp.schemas.common import Page, format_money, long_date, preview_note
from market_mcp.schemas.text import one_line, quoted
from market_mcp.services import admission, capacity, credits, emails, orders, payments, ranges, site, waitlist
from market_mcp.services.scope import columns_of, count, get_or_404, read_rows, scoped, vendors_matching

ACTIVE = ("pending", "confirmed")
UNPAID = ("pending", "payment_pending")
Progress = Callable[[int, int, str], Awaitable[None]]


def _joined(org: OrgContext, *columns: Any) -> Any:
    return (
        scoped(org, Booking, Booking, Vendor.business_name, Market.id, Market.name, MarketDate.scheduled_at, *columns)
        .join(Vendor, Vendor.id == Booking.vendor_id)
        .join(MarketDate, MarketDate.id == Booking.market_date_id)
        .join(Market, Market.id == MarketDate.market_id)
    )


def _listed(org: OrgContext) -> Any:
    """`_joined` as Core columns, named as BookingOut's fields: a page's rows as tuples, not ORM objects."""
    return (
        scoped(
            org,
            Booking,
            *columns_of(Booking, "updated_at", "cancel_settlement"),
            Vendor.business_name,
            Market.id.label("market_id"),
            Market.name.label("market_name"),
            MarketDate.scheduled_at,
        )
        .join(Vendor, Vendor.id == Booking.vendor_id)
        .join(MarketDate, MarketDate.id == Booking.market_date_id)
        .join(Market, Market.id == MarketDate.market_id)
    )


def _out(org: OrgContext, row: Any) -> dict[str, Any]:
    booking, business_name, market_id, market_name, scheduled_at = row[:5]
    return booking.model_dump(exclude={"organization_id", "updated_at", "cancel_settlement"}) | dict(
        business_name=business_name,
        market_id=market_id,
        market_name=market_name,
        scheduled_at=scheduled_at,
        currency=org.currency,
    )


async def get_booking(org: OrgContext, booking_id: int, **extra: Any) -> BookingResult:
    await get_or_404(org, Booking, booking_id)
    row = (await org.session.execute(_joined(org).where(Booking.id == booking_id))).one()
    return BookingResult(**_out(org, row), **extra)


async def list_bookings(
    org: OrgContext,
    *,
    date_filter: str | None,
    market_id: int | None,
    market_date_id: int | None,
    vendor_id: int | None,
    status: str | None,
    query: str | None,
    from_date: date | None = None,
    to_date: date | None = None,
    limit: int,
    offset: int,
) -> Page[BookingOut]:
    filters: list[Any] = []
    order: list[Any] = [MarketDate.scheduled_at.desc(), Booking.id.desc()]  # type: ignore[attr-defined, union-attr]
    # The dates (upcoming or past, of a market, in a range) are chosen as a set of market date ids, so the planner
    # starts from them through the bookings' date index, not from every booking of the organisation.
    dates: list[Any] = ranges.on_days(MarketDate.scheduled_at, from_date, to_date)
    if date_filter == "upcoming":
        dates.append(MarketDate.scheduled_at >= org.today())
        order = [MarketDate.scheduled_at, Booking.id]
    elif date_filter == "past":
        dates.append(MarketDate.scheduled_at < org.today())
    if market_id is not None:
        dates.append(MarketDate.market_id == market_id)
    if dates:
        filters.append(Booking.market_date_id.in_(scoped(org, MarketDate, MarketDate.id).where(*dates)))  # type: ignore[attr-defined]
    if market_date_id is not None:
        filters.append(Booking.market_date_id == market_date_id)
    if vendor_id is not None:
        filters.append(Booking.vendor_id == vendor_id)
    if status:
        filters.append(Booking.status == status)
    if query and query.strip():
        filters.append(Booking.vendor_id.in_(vendors_matching(org, query, Vendor.business_name, Vendor.contact_name)))  # type: ignore[attr-defined]
    stmt = _listed(org).where(*filters)
    total = await count(org, stmt)
    page = await read_rows(org, stmt.order_by(*order).limit(limit).offset(offset))
    currency = org.currency
    return Page.of(
        [BookingOut(**row._asdict(), currency=currency) for row in page], total=total, limit=limit, offset=offset
    )


# ---------------------------------------------------------------- cancelling, one or many


@dataclass(frozen=True)
class Target:
    """A booking as cancelling sees it: its money, its vendor, its date."""

    id: int
    status: str
    amount_cents: int
    vendor_id: int
    order_id: int | None
    market_date_id: int
    order_status: str | None
    order_previous_status: str | None
    email: str
    business_name: str
    contact_name: str
    scheduled_at: date
    date_status: str
    market_id: int
    market_name: str
    auto_notify: bool

    @property
    def paid(self) -> bool:
        """Nothing is owed on it: no order, or a complete one (paid, or covered by credit)."""
        return self.order_id is None or "complete" in (self.order_status, self.order_previous_status)

    @property
    def unpaid(self) -> bool:
        """Its order still charges for it (archived orders count as what they were)."""
        status = self.order_previous_status if self.order_status == "archived" else self.order_status
        return status in UNPAID


async def _targets(org: OrgContext, ids: list[int], *, lock: bool) -> dict[int, Target]:
    stmt = (
        scoped(
            org,
            Booking,
            Booking.id,
            Booking.status,
            Booking.amount_cents,
            Booking.vendor_id,
            Booking.order_id,
            Booking.market_date_id,
            Order.status,
            Order.previous_status,
            Vendor.email,
            Vendor.business_name,
            Vendor.contact_name,
            MarketDate.scheduled_at,
            MarketDate.status,
            Market.id,
            Market.name,
            Market.waitlist_auto_notify,
        )
        .join(Vendor, Vendor.id == Booking.vendor_id)
        .join(MarketDate, MarketDate.id == Booking.market_date_id)
        .join(Market, Market.id == MarketDate.market_id)
        .outerjoin(Order, Order.id == Booking.order_id)
        .where(Booking.id.in_(ids))  # type: ignore[union-attr]
        .order_by(Booking.id)  # one lock order for every caller
    )
    if lock:
        stmt = stmt.with_for_update(of=Booking)  # type: ignore[arg-type]
    return {row[0]: Target(*row) for row in (await org.session.execute(stmt)).all()}


# A booking asked to do what only another status allows: what was probably meant, by (its status, the action).
NEW_ORDER = "a rejected booking stays rejected; take a new order with create_order"
INSTEAD = {
    ("pending", "cancelled"): "a pending booking is turned down with reject_booking",
    ("pending", "moved"): "turn it down with reject_booking and book the other date with create_order",
    ("pending", "restored"): "it holds its space already",
    ("confirmed", "rejected"): "a confirmed booking is cancelled with cancel_booking",
    ("confirmed", "restored"): "it holds its space already",
    ("cancelled", "confirmed"): "restore_booking brings a cancelled booking back",
    ("cancelled", "moved"): "book the other date with create_order",
    ("rejected", "confirmed"): NEW_ORDER,
    ("rejected", "moved"): NEW_ORDER,
    ("rejected", "restored"): NEW_ORDER,
}


def _not_in(booking_id: int, status: str, statuses: tuple[str, ...], action: str) -> str:
    """Booking 201 is not confirmed (it is pending), so it cannot be cancelled; … reject_booking."""
    refused = f"Booking {booking_id} is not {' or '.join(statuses)} (it is {status}), so it cannot be {action}"
    instead = INSTEAD.get((status, action))
    return f"{refused}; {instead}." if instead else f"{refused}."


def _why_not(t: Target, today: date, statuses: tuple[str, ...], action: str = "cancelled") -> str | None:
    """Why this booking cannot be cancelled (or moved) now, in DOMAIN.md's words; None if it can."""
    if t.status not in statuses:
        return _not_in(t.id, t.status, statuses, action)
    if t.date_status != "scheduled":
        return (
            f"Booking {t.id} is on market date {t.market_date_id} ({t.scheduled_at}), which is {t.date_status}, "
            f"so it cannot be {action}."
        )
    if t.scheduled_at < today:
        return (
            f"Booking {t.id} was for {t.scheduled_at}, which has passed, so it cannot be {action}; "
            "close_out_market_date records no-shows."
        )
    return None


@dataclass
class Cancellation:
    """What cancel_many did (or, in a dry run, would do)."""

    cancelled: list[Target] = field(default_factory=list)
    skipped: list[SkippedBooking] = field(default_factory=list)
    credits: dict[int, int] = field(default_factory=dict)  # booking id -> cents credited
    credit_ids: dict[int, int] = field(default_factory=dict)  # booking id -> credit id
    offers: list[WaitlistOffer] = field(default_factory=list)

    def result(self, org: OrgContext, *, dry_run: bool) -> BulkCancelResult:
        ids = [t.id for t in self.cancelled]
        if dry_run:
            return BulkCancelResult(
                dry_run=True,
                currency=org.currency,
                note=preview_note("no booking was cancelled, no credit issued and no email queued"),
                would_cancel=ids,
                would_skip=self.skipped,
                would_credit_cents=sum(self.credits.values()),
                would_email=len(ids),
            )
        return BulkCancelResult(
            dry_run=False,
            currency=org.currency,
            cancelled=ids,
            skipped=self.skipped,
            credits_issued_cents=sum(self.credits.values()),
            waitlist_offers=self.offers,
        )


def _money_block(org: OrgContext, t: Target, credited: int) -> str:
    if credited:
        return emails.paragraph(
            f"We've added a credit of {format_money(credited, org.currency)} to your account; it will come off "
            "your next booking."
        )
    if t.unpaid:
        return emails.paragraph("You won't be charged for this date.")
    return ""


async def release(org: OrgContext, amounts: dict[int, int], *, why: str) -> None:
    """Unpaid orders stop charging for bookings taken off them: totals fall by `amounts` (order id -> cents);
    credit an order no longer needs goes back to its credits; an order left owing nothing is complete."""
    if not amounts:
        return
    stmt = scoped(org, Order).where(Order.id.in_(amounts)).order_by(Order.id).with_for_update()  # type: ignore[union-attr]
    now = org.now()
    for order in (await org.session.execute(stmt)).scalars():
        total = order.total_cents - amounts[order.id]  # type: ignore[index]
        if order.credit_applied_cents > total:
            await orders.refund_credits(org, order, up_to=order.credit_applied_cents - total, note=why)
        order.total_cents = total
        await payments.settle(
            org, order, why=f"{why.capitalize()}: paid on order {order.id} beyond what it now charges."
        )
        if order.amount_due_cents == 0:  # nothing left to pay (an archived order keeps its archive)
            if order.amount_paid_cents and order.paid_at is None:  # what was paid covers what it charges now
                order.paid_at = now
            if order.status == "payment_pending":
                order.status = "complete"
            elif order.status == "archived" and order.previous_status == "payment_pending":
                order.previous_status = "complete"
        order.updated_at = now
        org.session.add(order)
    org.touch("order", *sorted(amounts))


async def cancel_many(
    org: OrgContext,
    booking_ids: list[int],
    *,
    reason: str | None,
    credit_source: str | None,
    dry_run: bool = False,
    statuses: tuple[str, ...] = ("confirmed",),
    email_kind: str | None = "booking_cancelled",
    offer_waitlist: bool = True,
    progress: Progress | None = None,
) -> Cancellation:
    """Cancel these bookings in a handful of statements, whatever their number.

    Ids that are not the caller's are skipped as not found (404); bookings in a state that cannot be
    cancelled are skipped with the reason (409). Paid bookings are credited when `credit_source` is
    given; unpaid orders stop charging for theirs. Each vendor is emailed (unless email_kind is None: the caller
    writes its own); freed spaces are offered to the waitlist where the market auto-notifies.
    """
    ids = list(dict.fromkeys(booking_ids))
    targets = await _targets(org, ids, lock=not dry_run)
    today = org.today()
    done = Cancellation()
    for booking_id in ids:
        t = targets.get(booking_id)
        why = f"Booking {booking_id} not found." if t is None else _why_not(t, today, statuses)
        if why is None:
            done.cancelled.append(t)  # type: ignore[arg-type]
        else:
            done.skipped.append(SkippedBooking(booking_id=booking_id, reason=why, code=404 if t is None else 409))
    if credit_source:
        done.credits = {t.id: t.amount_cents for t in done.cancelled if t.paid and t.amount_cents > 0}
    if dry_run or not done.cancelled:
        return done

    steps = 4

    async def report(step: int, message: str) -> None:
        if progress is not None:
            await progress(step, steps, message)

    await report(1, f"Checked {len(ids)} bookings: {len(done.cancelled)} to cancel")
    now = org.now()
    released = [t for t in done.cancelled if t.unpaid]
    groups = {
        "credit": [t.id for t in done.cancelled if t.id in done.credits],
        "release": [t.id for t in released],
    }
    settled = {*groups["credit"], *groups["release"]}
    groups[""] = [t.id for t in done.cancelled if t.id not in settled]
    for settlement, group in groups.items():
        if group:
            await org.session.execute(
                update(Booking)
                .where(
                    Booking.organization_id == org.organization_id,
                    Booking.id.in_(group),  # type: ignore[union-attr]
                    Booking.status.in_(statuses),  # type: ignore[attr-defined]
                )
                .values(
                    status="cancelled",
                    cancelled_at=now,
                    updated_at=now,
                    cancel_reason=reason,
                    cancel_settlement=settlement or None,
                )
            )
    org.touch("booking", *(t.id for t in done.cancelled))
    await report(2, f"Cancelled {len(done.cancelled)} bookings")

    credited = [t for t in done.cancelled if t.id in done.credits]
    credit_ids = await credits.grant_many(
        org,
        [
            dict(
                vendor_id=t.vendor_id,
                amount_cents=done.credits[t.id],
                source=credit_source,
                notes=f"Booking {t.id} at {t.market_name} on {t.scheduled_at} cancelled",
                booking_id=t.id,
            )
            for t in credited
        ],
    )
    done.credit_ids = {t.id: credit_id for t, credit_id in zip(credited, credit_ids, strict=True)}
    amounts: dict[int, int] = defaultdict(int)
    for t in released:
        amounts[t.order_id] += t.amount_cents  # type: ignore[index]
    await release(org, dict(amounts), why="booking cancelled")
    await report(3, f"Credited {len(credited)} vendors")

    rows = []
    message_block = emails.paragraph(reason)
    for t in done.cancelled if email_kind else ():  # None: the caller writes its own
        subject, body = emails.render(
            email_kind,
            contact_name=emails.first_name(t.contact_name, t.business_name),
            business_name=t.business_name,
            market_name=t.market_name,
            day=long_date(t.scheduled_at),
            message_block=message_block,
            money_block=_money_block(org, t, done.credits.get(t.id, 0)),
            organization_name=org.organization_name,
        )
        rows.append(
            dict(
                vendor_id=t.vendor_id,
                to=t.email,
                subject=subject,
                body=body,
                kind=email_kind,
                record_type="booking",
                record_id=t.id,
            )
        )
    await emails.queue_many(org, rows)
    await report(4, f"Queued {len(rows)} emails")

    if offer_waitlist:
        freed: dict[int, int] = defaultdict(int)
        for t in done.cancelled:
            if t.auto_notify and t.status == "confirmed":
                freed[t.market_date_id] += 1
        for market_date_id, spaces in sorted(freed.items()):
            done.offers += await waitlist.offer_freed_spaces(org, market_date_id, spaces)
    await org.session.flush()
    return done


async def bulk_cancel_bookings(
    org: OrgContext,
    booking_ids: list[int],
    *,
    reason: str | None,
    credit_vendor: bool,
    dry_run: bool,
    progress: Progress | None = None,
) -> BulkCancelResult:
    done = await cancel_many(
        org,
        booking_ids,
        reason=reason,
        credit_source="cancellation" if credit_vendor else None,
        dry_run=dry_run,
        progress=progress,
    )
    return done.result(org, dry_run=dry_run)


async def cancel_booking(org: OrgContext, booking_id: int, *, reason: str | None, credit_vendor: bool) -> BookingResult:
    done = await cancel_many(org, [booking_id], reason=reason, credit_source="cancellation" if credit_vendor else None)
    if done.skipped:
        (skip,) = done.skipped
        raise (NotFound if skip.code == 404 else Conflict)(skip.reason)
    return await get_booking(
        org,
        booking_id,
        credit_issued_cents=sum(done.credits.values()),
        credit_id=done.credit_ids.get(booking_id),
        waitlist_offers=done.offers,
    )


# ---------------------------------------------------------------- one booking at a time


async def _email(org: OrgContext, kind: str, booking_id: int, **values: Any) -> None:
    b = await get_booking(org, booking_id)
    vendor = await get_or_404(org, Vendor, b.vendor_id)
    emails.email_vendor(
        org,
        vendor,
        kind,
        record_type="booking",
        record_id=booking_id,
        market_name=b.market_name,
        day=long_date(b.scheduled_at),
        **values,
    )


def _space_sentence(space_number: str | None) -> str:
    return f" Your space is {space_number}." if space_number else ""


async def _active_on_date(org: OrgContext, booking: Booking) -> Booking | None:
    """Another pending or confirmed booking of the same vendor on the same date."""
    stmt = scoped(org, Booking).where(
        Booking.vendor_id == booking.vendor_id,
        Booking.market_date_id == booking.market_date_id,
        Booking.status.in_(ACTIVE),  # type: ignore[attr-defined]
        Booking.id != booking.id,
    )
    return (await org.session.execute(stmt)).scalars().first()


async def _space_holder(org: OrgContext, booking: Booking, space_number: str) -> tuple[Booking, str] | None:
    stmt = (
        scoped(org, Booking, Booking, Vendor.business_name)
        .join(Vendor, Vendor.id == Booking.vendor_id)
        .where(
            Booking.market_date_id == booking.market_date_id,
            Booking.space_number == space_number,
            Booking.status.in_(ACTIVE),  # type: ignore[attr-defined]
            Booking.id != booking.id,
        )
    )
    row = (await org.session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def confirm_booking(org: OrgContext, booking_id: int, *, override_reason: str | None = None) -> BookingResult:
    booking = await get_or_404(org, Booking, booking_id, for_update=True)
    if booking.status != "pending":
        raise Conflict(_not_in(booking_id, booking.status, ("pending",), "confirmed"))
    await capacity.check_room(org, {booking.market_date_id: 1})
    md = await get_or_404(org, MarketDate, booking.market_date_id)
    vendor, market = await get_or_404(org, Vendor, booking.vendor_id), await get_or_404(org, Market, md.market_id)
    await admission.check_booking(org, vendor, market, [md], override_reason=override_reason)
    booking.status = "confirmed"
    booking.updated_at = org.now()
    org.session.add(booking)
    await org.session.flush()
    org.touch("booking", booking_id)
    await _email(
        org, "booking_confirmed", booking_id, space_sentence=_space_sentence(booking.space_number), message_block=""
    )
    return await get_booking(org, booking_id)


async def reject_booking(org: OrgContext, booking_id: int, *, reason: str | None) -> BookingResult:
    booking = await get_or_404(org, Booking, booking_id, for_update=True)
    if booking.status != "pending":
        raise Conflict(_not_in(booking_id, booking.status, ("pending",), "rejected"))
    order = await get_or_404(org, Order, booking.order_id) if booking.order_id else None
    unpaid = order is not None and order.status in ("pending", "payment_pending")
    booking.status = "rejected"
    booking.cancel_reason = reason
    booking.cancel_settlement = "release" if unpaid else None
    booking.updated_at = org.now()
    org.session.add(booking)
    await org.session.flush()
    if unpaid:
        await release(org, {order.id: booking.amount_cents}, why="booking rejected")  # type: ignore[union-attr, dict-item]
    org.touch("booking", booking_id)
    money = emails.paragraph("You won't be charged for this date.") if unpaid else ""
    await _email(org, "booking_rejected", booking_id, message_block=emails.paragraph(reason), money_block=money)
    return await get_booking(org, booking_id)


async def update_space_number(org: OrgContext, booking_id: int, *, space_number: str | None) -> BookingResult:
    booking = await get_or_404(org, Booking, booking_id, for_update=True)
    if booking.status not in ACTIVE:
        restore = " (restore_booking brings a cancelled booking back)" if booking.status == "cancelled" else ""
        raise Conflict(
            f"Booking {booking_id} is {booking.status}, so it holds no space; only a pending or confirmed booking can "
            f"be given one{restore}."
        )
    if space_number is not None:
        space_number = await site.check_space(org, booking, space_number)  # a stall on the plan, where there is one
        holder = await _space_holder(org, booking, space_number)
        if holder is not None:
            other, business_name = holder
            raise Conflict(
                f"Space {one_line(space_number)} on market date {booking.market_date_id} is already taken by booking "
                f"{other.id} ({quoted(business_name)}). Choose another space, or give booking {other.id} another one with "
                "update_space_number first."
            )
    booking.space_number = space_number
    booking.updated_at = org.now()
    org.session.add(booking)
    await org.session.flush()  # the unique index on (date, space) is the last word if two calls race
    org.touch("booking", booking_id)
    return await get_booking(org, booking_id)


async def restore_booking(org: OrgContext, booking_id: int) -> BookingResult:
    booking = await get_or_404(org, Booking, booking_id, for_update=True)
    if booking.status != "cancelled":
        raise Conflict(_not_in(booking_id, booking.status, ("cancelled",), "restored"))
    if booking.rebooked_to_id is not None:
        raise Conflict(
            f"Booking {booking_id} was moved to booking {booking.rebooked_to_id} by rebook_booking, so it cannot be "
            f"restored; to put the vendor back on market date {booking.market_date_id}, move booking "
            f"{booking.rebooked_to_id} back with rebook_booking."
        )
    order = await get_or_404(org, Order, booking.order_id, for_update=True) if booking.order_id else None
    if order is not None and order.status in ("rejected", "archived"):
        hint = (
            " Restore the order with restore_order first."
            if order.status == "archived"
            else " Take a new order with create_order instead."
        )
        raise Conflict(f"Booking {booking_id}'s order {order.id} is {order.status}, so it cannot be restored.{hint}")
    other = await _active_on_date(org, booking)
    if other is not None:
        raise Conflict(
            f"The vendor already has booking {other.id} on market date {booking.market_date_id}, so booking "
            f"{booking_id} cannot be restored; booking {other.id} holds their space."
        )
    await capacity.check_room(org, {booking.market_date_id: 1})
    if booking.space_number is not None:
        holder = await _space_holder(org, booking, booking.space_number)
        if holder is not None:
            raise Conflict(
                f"Space {booking.space_number} has been given to booking {holder[0].id} ({holder[1]}), so booking "
                f"{booking_id} cannot be restored to it. Give booking {holder[0].id} another space with "
                "update_space_number first."
            )
    amount = format_money(booking.amount_cents, org.currency)
    money = ""
    if booking.cancel_settlement == "credit":
        await _take_back_credit(org, booking)
        money = f"The {amount} credit we gave you when it was cancelled has been taken back."
    elif booking.cancel_settlement == "release" and order is not None:
        order.total_cents += booking.amount_cents
        order.amount_due_cents += booking.amount_cents
        if order.status == "complete":
            order.status = "payment_pending"
        order.updated_at = org.now()
        org.session.add(order)
        org.touch("order", order.id)  # type: ignore[arg-type]
        money = f"{amount} is due for it on order {order.id}."
    booking.status = "confirmed"
    booking.cancelled_at = None
    booking.cancel_reason = None
    booking.cancel_settlement = None
    booking.updated_at = org.now()
    org.session.add(booking)
    await org.session.flush()
    org.touch("booking", booking_id)
    await _email(
        org,
        "booking_confirmed",
        booking_id,
        space_sentence=_space_sentence(booking.space_number),
        message_block=emails.paragraph(f"Your booking is back on. {money}".strip()),
    )
    return await get_booking(org, booking_id)


async def _take_back_credit(org: OrgContext, booking: Booking) -> None:
    """Reverse the credit a cancellation gave, if it is still there to take."""
    grant = (
        await org.session.execute(
            scoped(org, CreditTransaction)
            .where(CreditTransaction.booking_id == booking.id, CreditTransaction.kind == "grant")
            .order_by(CreditTransaction.id.desc())  # type: ignore[union-attr]
            .limit(1)
        )
    ).scalar_one_or_none()
    if grant is None:
        return
    credit = await get_or_404(org, Credit, grant.credit_id, for_update=True)
    if credit.deleted_at is not None or credit.remaining_cents < grant.amount_cents:
        raise Conflict(
            f"The {format_money(grant.amount_cents, org.currency)} credit given when booking {booking.id} was "
            f"cancelled (credit {credit.id}) has been used or removed, so restoring the booking would give the space "
            "away. Take a new order with create_order instead."
        )
    credits.post(
        org, credit, "adjust", -grant.amount_cents, booking_id=booking.id, note=f"booking {booking.id} restored"
    )
    org.touch("credit", credit.id)  # type: ignore[arg-type]


async def rebook_booking(
    org: OrgContext, booking_id: int, *, target_market_date_id: int, fee_cents: int
) -> BookingResult:
    t = (await _targets(org, [booking_id], lock=True)).get(booking_id)
    if t is None:
        raise NotFound(f"Booking {booking_id} not found.")
    why = _why_not(t, org.today(), ("confirmed",), action="moved")
    if why:
        raise Conflict(why)
    target = await get_or_404(org, MarketDate, target_market_date_id)
    if target.id == t.market_date_id:
        raise Invalid(f"Booking {booking_id} is already on market date {target.id}; choose another date.")
    if not t.paid:
        raise Conflict(
            f"Booking {booking_id}'s order {t.order_id} is not paid yet ({t.order_status}), so there is no payment to "
            "move. Record the payment with record_order_payment first, or cancel the booking instead."
        )
    if fee_cents > t.amount_cents:
        raise Invalid(
            f"fee {format_money(fee_cents, org.currency)} is more than booking {booking_id}'s "
            f"{format_money(t.amount_cents, org.currency)}."
        )
    remainder = t.amount_cents - fee_cents
    now = org.now()
    old = await get_or_404(org, Booking, booking_id)
    old.status = "cancelled"
    old.cancelled_at = old.updated_at = now
    old.cancel_reason = f"moved to {target.scheduled_at}"
    old.cancel_settlement = "credit" if remainder else None
    org.session.add(old)
    await org.session.flush()
    credit_ids = await credits.grant_many(
        org,
        [
            dict(
                vendor_id=t.vendor_id,
                amount_cents=remainder,
                source="rebook",
                notes=f"Booking {booking_id} on {t.scheduled_at} moved to {target.scheduled_at}",
                booking_id=booking_id,
            )
        ]
        if remainder
        else [],
    )
    # The new date costs what the old one did; the carried-over credit pays for it, so the vendor owes the fee.
    order, new_id = await orders.book_one(
        org,
        t.vendor_id,
        target.id,  # type: ignore[arg-type]
        amount_cents=t.amount_cents,
        email=False,
        can_override=False,
    )
    old.rebooked_to_id = new_id
    org.session.add(old)
    await org.session.flush()
    org.touch("booking", booking_id, new_id)
    if order.amount_due_cents:
        money = (
            f"The rebooking fee of {format_money(order.amount_due_cents, org.currency)} is due on order {order.id}; "
            "please pay before market day."
        )
    else:
        money = "Your payment carries over to the new date, so there's nothing more to pay."
    vendor = await get_or_404(org, Vendor, t.vendor_id)
    emails.email_vendor(
        org,
        vendor,
        "booking_rebooked",
        record_type="booking",
        record_id=new_id,
        market_name=t.market_name,
        old_day=long_date(t.scheduled_at),
        new_day=long_date(target.scheduled_at),
        money_block=emails.paragraph(money),
    )
    offers: list[WaitlistOffer] = []
    if t.auto_notify:
        offers = await waitlist.offer_freed_spaces(org, t.market_date_id, 1)
    return await get_booking(
        org,
        new_id,
        credit_issued_cents=remainder,
        credit_id=credit_ids[0] if credit_ids else None,
        rebooked_from_id=booking_id,
        waitlist_offers=offers,
    )
