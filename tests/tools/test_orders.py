"""orders: create, approve, reject, archive, restore, modify, complete free, record payment, remind, list, get.

Set up through the tools where they exist (markets, dates, vendors, approved applications, credits); rows the
tools would refuse to make (a past or cancelled date, an open waitlist offer, a trusted vendor) are written
straight to the store. Money in the emails is checked as a person reads it: dollars, not cents.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import anyio
import pytest
from sqlalchemy import func, select, text, update

from market_mcp.db.tables import Booking, CreditTransaction, Email, MarketDate, Order, Vendor, WaitlistEntry
from tests.factories import Caller, Tenant, emails_queued, next_weekday, today

# ---------------------------------------------------------------- set-up through the tools


@dataclass
class Setup:
    market_id: int
    date_ids: list[int]
    days: list[date]


async def market_with_dates(
    c: Caller, name: str = "Riverside", *, fee: Any = "45", dates: int = 3, capacity: int = 40
) -> Setup:
    """A market trading on `dates` Saturdays in a row, starting at least a week from today."""
    market = await c.ok("create_market", name=name, default_fee=fee, capacity=capacity)
    first = next_weekday(6)
    season = await c.ok(
        "bulk_create_market_dates",
        market_id=market["id"],
        start_date=str(first),
        end_date=str(first + timedelta(weeks=dates - 1)),
        day_of_week=6,
    )
    created = season["created"]
    assert len(created) == dates
    return Setup(market["id"], [d["id"] for d in created], [date.fromisoformat(d["scheduled_at"]) for d in created])


async def approve_application(c: Caller, market_id: int, vendor_id: int) -> None:
    application = await c.ok("create_application", market_id=market_id, vendor_id=vendor_id)
    await c.ok(
        "update_application_status", application_id=application["id"], status="approved", send_notification=False
    )


async def approved_vendor(
    c: Caller, market_id: int, business_name: str = "Rosa's Bakery", *, email: str | None = None, contact: str = ""
) -> int:
    """A vendor with an approved application to the market (approved quietly: no email)."""
    vendor = await c.ok(
        "create_vendor",
        business_name=business_name,
        email=email or business_name.lower().replace("'", "").replace(" ", ".") + "@example.com",
        contact_name=contact,
    )
    await approve_application(c, market_id, vendor["id"])
    return vendor["id"]


async def rosa(c: Caller, market_id: int) -> int:
    return await approved_vendor(c, market_id, "Rosa's Bakery", email="Rosa@Bakery.example.com", contact="Rosa Diaz")


async def order_of(c: Caller, vendor_id: int, date_ids: list[int], **arguments: Any) -> dict[str, Any]:
    return await c.ok("create_order", vendor_id=vendor_id, market_date_ids=date_ids, **arguments)


async def credit(c: Caller, vendor_id: int, amount: Any, expires_in_days: int | None) -> int:
    expiry = {} if expires_in_days is None else {"expires_at": str(today() + timedelta(days=expires_in_days))}
    return (await c.ok("create_credit", vendor_id=vendor_id, credit_amount=amount, **expiry))["id"]


def date_line(day: date, amount: str) -> str:
    return f"- {day:%A} {day.day} {day:%B %Y}: {amount}"


def recent(moment: str | None) -> bool:
    assert moment is not None
    when = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return timedelta(0) <= datetime.now(UTC) - when < timedelta(minutes=1)


# ---------------------------------------------------------------- rows written or read straight from the store


async def set_market_date(tenant: Tenant, market_date_id: int, **values: Any) -> None:
    async with tenant.db.transaction(write=True) as session:
        await session.execute(update(MarketDate).where(MarketDate.id == market_date_id).values(**values))


async def set_paid_at(tenant: Tenant, order_id: int, paid_at: datetime) -> None:
    async with tenant.db.transaction(write=True) as session:
        await session.execute(update(Order).where(Order.id == order_id).values(paid_at=paid_at))


async def make_trusted(tenant: Tenant, vendor_id: int) -> None:
    async with tenant.db.transaction(write=True) as session:
        await session.execute(update(Vendor).where(Vendor.id == vendor_id).values(trusted=True))


async def add_offer(tenant: Tenant, *, market_date_id: int, vendor_id: int, expires_in: timedelta) -> None:
    """A waitlist entry offered the space (notified), its offer open until now + expires_in."""
    expires = datetime.now(UTC) + expires_in
    async with tenant.db.transaction(write=True) as session:
        session.add(
            WaitlistEntry(
                organization_id=tenant.org_id,
                market_date_id=market_date_id,
                vendor_id=vendor_id,
                position=1,
                status="notified",
                notified_at=expires - timedelta(hours=48),
                offer_expires_at=expires,
            )
        )


async def raw(tenant: Tenant, table: str) -> list[tuple[Any, ...]]:
    async with tenant.db.transaction() as session:
        return [tuple(row) for row in (await session.execute(text(f"SELECT * FROM {table} ORDER BY id"))).all()]


async def snapshot(tenant: Tenant) -> dict[str, list[tuple[Any, ...]]]:
    """Everything an order tool could change, as stored."""
    tables = ("vendor_order", "booking", "credit", "credit_transaction", "email", "vendor")
    return {table: await raw(tenant, table) for table in tables}


async def outbox(tenant: Tenant) -> list[dict[str, Any]]:
    async with tenant.db.transaction() as session:
        rows = (await session.execute(select(Email).order_by(Email.id))).scalars().all()
    return [
        dict(
            to=e.to,
            subject=e.subject,
            body=e.body,
            kind=e.kind,
            vendor_id=e.vendor_id,
            record_type=e.record_type,
            record_id=e.record_id,
            status=e.status,
        )
        for e in rows
    ]


async def booking_statuses(tenant: Tenant, order_id: int) -> list[str]:
    async with tenant.db.transaction() as session:
        rows = await session.execute(select(Booking.status).where(Booking.order_id == order_id).order_by(Booking.id))
        return list(rows.scalars())


async def confirmed_on(tenant: Tenant, market_date_id: int) -> int:
    async with tenant.db.transaction() as session:
        return (
            await session.execute(
                select(func.count())
                .select_from(Booking)
                .where(Booking.market_date_id == market_date_id, Booking.status == "confirmed")
            )
        ).scalar_one()


async def ledger(tenant: Tenant, credit_id: int) -> list[tuple[Any, ...]]:
    """(kind, amount_cents, balance_after_cents, order_id) of the credit's rows, oldest first."""
    async with tenant.db.transaction() as session:
        rows = await session.execute(
            select(
                CreditTransaction.kind,
                CreditTransaction.amount_cents,
                CreditTransaction.balance_after_cents,
                CreditTransaction.order_id,
            )
            .where(CreditTransaction.credit_id == credit_id)
            .order_by(CreditTransaction.id)
        )
        return [tuple(row) for row in rows.all()]


async def uses_in_order(tenant: Tenant) -> list[tuple[int, int]]:
    """(credit_id, amount_cents) of every `use` row, in the order they were written."""
    async with tenant.db.transaction() as session:
        rows = await session.execute(
            select(CreditTransaction.credit_id, CreditTransaction.amount_cents)
            .where(CreditTransaction.kind == "use")
            .order_by(CreditTransaction.id)
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def remaining_and_ledger_sum(tenant: Tenant, credit_id: int) -> tuple[int, int]:
    async with tenant.db.transaction() as session:
        remaining = await session.execute(text("SELECT remaining_cents FROM credit WHERE id = :i"), {"i": credit_id})
        total = await session.execute(
            select(func.sum(CreditTransaction.amount_cents)).where(CreditTransaction.credit_id == credit_id)
        )
        return remaining.scalar_one(), total.scalar_one()


def lines(order: dict[str, Any]) -> list[tuple[int, str, str, int]]:
    return [(b["market_date_id"], b["scheduled_at"], b["status"], b["amount_cents"]) for b in order["bookings"]]


# ================================================================ create_order


async def test_a_new_order_has_a_pending_booking_on_each_date_in_date_order_at_the_markets_fee(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, [s.date_ids[2], s.date_ids[0]])
    assert order == {
        "id": order["id"],
        "status": "pending",
        "vendor_id": vendor,
        "business_name": "Rosa's Bakery",
        "market_id": s.market_id,
        "market_name": "Riverside",
        "total_cents": 9000,
        "credit_applied_cents": 0,
        "amount_paid_cents": 0,
        "amount_refunded_cents": 0,
        "amount_due_cents": 9000,
        "currency": "AUD",
        "paid_at": None,
        "payment_due_on": None,
        "payment_method": None,
        "payment_reference": None,
        "rejection_reason": None,
        "invoice_number": None,  # invoiced once approved
        "approved_at": None,
        "archived_at": None,
        "created_at": order["created_at"],
        "first_date": str(s.days[0]),
        "last_date": str(s.days[2]),
        "date_count": 2,
        "bookings": [
            {
                "booking_id": order["bookings"][0]["booking_id"],
                "market_date_id": s.date_ids[0],
                "scheduled_at": str(s.days[0]),
                "status": "pending",
                "space_number": None,
                "amount_cents": 4500,
            },
            {
                "booking_id": order["bookings"][1]["booking_id"],
                "market_date_id": s.date_ids[2],
                "scheduled_at": str(s.days[2]),
                "status": "pending",
                "space_number": None,
                "amount_cents": 4500,
            },
        ],
        "credits_applied": [],
        "payments": [],
        "emails": emails_queued(0),
    }
    assert recent(order["created_at"])
    assert await outbox(alice) == []


async def test_amount_per_date_overrides_the_markets_fee_and_a_decimal_string_is_read_as_cents(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, fee=30)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids[:2], amount_per_date="45.50")
    assert (order["total_cents"], order["amount_due_cents"]) == (9100, 9100)
    assert [b["amount_cents"] for b in order["bookings"]] == [4550, 4550]


async def test_an_order_from_a_vendor_without_an_approved_application_is_refused_and_writes_nothing(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await c.ok("create_vendor", business_name="Rosa's Bakery", email="rosa@example.com")
        application = await c.ok("create_application", market_id=s.market_id, vendor_id=vendor["id"])
        before = await snapshot(alice)
        message = await c.refused("create_order", 409, vendor_id=vendor["id"], market_date_ids=s.date_ids[:1])
    assert message == (
        f'"Rosa\'s Bakery" has no approved application to Riverside; their application {application["id"]} is pending: '
        f'approve it with update_application_status (application_id={application["id"]}, status="approved") first.'
    )
    assert await snapshot(alice) == before


async def test_an_order_for_dates_of_two_markets_is_refused_with_422(alice: Tenant) -> None:
    async with alice.client() as c:
        river = await market_with_dates(c, "Riverside", dates=1)
        hill = await market_with_dates(c, "Hilltop", dates=1)
        vendor = await rosa(c, river.market_id)
        await approve_application(c, hill.market_id, vendor)
        before = await snapshot(alice)
        message = await c.refused(
            "create_order", 422, vendor_id=vendor, market_date_ids=[river.date_ids[0], hill.date_ids[0]]
        )
    assert message == (
        "An order is for one market: every market_date_ids entry must be a date of the same market; take one order "
        "per market."
    )
    assert await snapshot(alice) == before


async def test_a_date_listed_twice_is_refused_with_422(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        before = await snapshot(alice)
        message = await c.refused(
            "create_order", 422, vendor_id=vendor, market_date_ids=[s.date_ids[0], s.date_ids[1], s.date_ids[0]]
        )
    assert message == "market_date_ids lists a date more than once; a vendor books one space per date per order."
    assert await snapshot(alice) == before


async def test_an_unknown_date_is_refused_with_404_naming_it(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        before = await snapshot(alice)
        message = await c.refused("create_order", 404, vendor_id=vendor, market_date_ids=[s.date_ids[0], 98765])
    assert message == "Market date 98765 not found."
    assert await snapshot(alice) == before


async def test_an_unknown_vendor_is_refused_with_404(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        before = await snapshot(alice)
        message = await c.refused("create_order", 404, vendor_id=98765, market_date_ids=s.date_ids[:1])
    assert message == "Vendor 98765 not found."
    assert await snapshot(alice) == before


async def test_another_organisations_date_is_not_found(alice: Tenant, bob: Tenant) -> None:
    async with bob.client() as b:
        theirs = await market_with_dates(b, dates=1)
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        message = await c.refused("create_order", 404, vendor_id=vendor, market_date_ids=theirs.date_ids)
    assert message == f"Market date {theirs.date_ids[0]} not found."


async def test_a_cancelled_date_cannot_be_ordered(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        await set_market_date(alice, s.date_ids[1], status="cancelled")
        before = await snapshot(alice)
        message = await c.refused("create_order", 409, vendor_id=vendor, market_date_ids=s.date_ids[:2])
    assert message == (
        f"Market date {s.date_ids[1]} ({s.days[1]}) is cancelled, so it cannot be booked; choose another date "
        f'(list_market_dates with market_id={s.market_id}, date_filter="upcoming").'
    )
    assert await snapshot(alice) == before


async def test_a_date_that_has_passed_cannot_be_ordered(alice: Tenant) -> None:
    yesterday = today() - timedelta(days=1)
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        await set_market_date(alice, s.date_ids[0], scheduled_at=yesterday)
        before = await snapshot(alice)
        message = await c.refused("create_order", 409, vendor_id=vendor, market_date_ids=s.date_ids[:1])
    assert message == (
        f"Market date {s.date_ids[0]} ({yesterday}) has passed, so it cannot be booked; choose another date "
        f'(list_market_dates with market_id={s.market_id}, date_filter="upcoming").'
    )
    assert await snapshot(alice) == before


async def test_a_full_date_is_refused_suggesting_add_to_waitlist(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1, capacity=1)
        first = await approved_vendor(c, s.market_id, "Green Grocer")
        taken = await order_of(c, first, s.date_ids)
        await c.ok("approve_order", order_id=taken["id"])
        vendor = await rosa(c, s.market_id)
        before = await snapshot(alice)
        message = await c.refused("create_order", 409, vendor_id=vendor, market_date_ids=s.date_ids)
    assert message == (
        f"Market date {s.date_ids[0]} ({s.days[0]}) is full: 1 of 1 spaces are taken. "
        "Offer the vendor a place on the waitlist with add_to_waitlist."
    )
    assert await snapshot(alice) == before


async def test_a_vendor_already_booked_on_a_date_cannot_order_it_again(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        first = await order_of(c, vendor, s.date_ids[1:2])
        before = await snapshot(alice)
        message = await c.refused("create_order", 409, vendor_id=vendor, market_date_ids=s.date_ids[:2])
    assert message == (
        f'"Rosa\'s Bakery" already has booking {first["bookings"][0]["booking_id"]} on market date {s.date_ids[1]}; '
        "leave that date out of market_date_ids."
    )
    assert await snapshot(alice) == before


async def test_a_trusted_vendors_order_is_approved_on_arrival_and_emails_them_once(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        await make_trusted(alice, vendor)
        order = await order_of(c, vendor, s.date_ids[:2])
    assert (order["status"], order["amount_due_cents"], order["emails"]["queued"]) == ("payment_pending", 9000, 1)
    assert [b["status"] for b in order["bookings"]] == ["confirmed", "confirmed"]
    assert recent(order["approved_at"])
    assert await outbox(alice) == [
        dict(
            to="Rosa@Bakery.example.com",
            subject="Your booking at Riverside is confirmed",
            body=(
                f"Hi Rosa,\n\nYour order {order['id']} for Rosa's Bakery is approved and your space is held for:\n"
                f"{date_line(s.days[0], '$45.00')}\n{date_line(s.days[1], '$45.00')}\n\n"
                "Total: $90.00. Amount due: $90.00; please pay before market day.\n\n"
                "See you at the market,\nAlice Markets"
            ),
            kind="order_approved",
            vendor_id=vendor,
            record_type="order",
            record_id=order["id"],
            status="queued",
        )
    ]


# ================================================================ approve_order


async def test_approving_confirms_the_bookings_and_leaves_the_fee_due_and_emails_the_vendor(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids[:2])
        approved = await c.ok("approve_order", order_id=order["id"])
    assert approved == order | {
        "status": "payment_pending",
        "approved_at": approved["approved_at"],
        "bookings": [b | {"status": "confirmed"} for b in order["bookings"]],
        "emails": emails_queued(1),
        "invoice_number": 1,
        "invoice_pdf": f"market-mcp://orders/{order['id']}/invoice.pdf",
    }
    assert recent(approved["approved_at"])
    assert await booking_statuses(alice, order["id"]) == ["confirmed", "confirmed"]
    assert await outbox(alice) == [
        dict(
            to="Rosa@Bakery.example.com",
            subject="Your booking at Riverside is confirmed",
            body=(
                f"Hi Rosa,\n\nYour order {order['id']} for Rosa's Bakery is approved and your space is held for:\n"
                f"{date_line(s.days[0], '$45.00')}\n{date_line(s.days[1], '$45.00')}\n\n"
                "Total: $90.00. Amount due: $90.00; please pay before market day.\n\n"
                "See you at the market,\nAlice Markets"
            ),
            kind="order_approved",
            vendor_id=vendor,
            record_type="order",
            record_id=order["id"],
            status="queued",
        )
    ]


async def test_credits_are_spent_earliest_expiry_first_and_never_expiring_last_through_use_rows(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, fee=35, dates=1)
        vendor = await rosa(c, s.market_id)
        never = await credit(c, vendor, 10, None)
        in_30 = await credit(c, vendor, 10, 30)
        in_10 = await credit(c, vendor, 10, 10)
        in_20 = await credit(c, vendor, 10, 20)
        order = await order_of(c, vendor, s.date_ids)
        approved = await c.ok("approve_order", order_id=order["id"])
    assert (approved["status"], approved["credit_applied_cents"], approved["amount_due_cents"]) == ("complete", 3500, 0)
    assert [(a["credit_id"], a["amount_cents"]) for a in approved["credits_applied"]] == [
        (in_10, 1000),
        (in_20, 1000),
        (in_30, 1000),
        (never, 500),
    ]
    assert await uses_in_order(alice) == [(in_10, -1000), (in_20, -1000), (in_30, -1000), (never, -500)]
    assert await ledger(alice, never) == [("grant", 1000, 1000, None), ("use", -500, 500, order["id"])]
    for credit_id in (never, in_30, in_10, in_20):
        remaining, total = await remaining_and_ledger_sum(alice, credit_id)
        assert remaining == total
    body = (await outbox(alice))[0]["body"]
    assert "Total: $35.00. Credit applied: $35.00. Nothing more is due." in body


async def test_credits_that_cover_part_of_the_order_leave_the_rest_due(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        first = await credit(c, vendor, "12.50", 5)
        second = await credit(c, vendor, 10, None)
        order = await order_of(c, vendor, s.date_ids[:2])
        approved = await c.ok("approve_order", order_id=order["id"])
    assert (approved["status"], approved["credit_applied_cents"], approved["amount_due_cents"]) == (
        "payment_pending",
        2250,
        6750,
    )
    assert await ledger(alice, first) == [("grant", 1250, 1250, None), ("use", -1250, 0, order["id"])]
    assert await ledger(alice, second) == [("grant", 1000, 1000, None), ("use", -1000, 0, order["id"])]
    email = (await outbox(alice))[0]
    assert "Total: $90.00. Credit applied: $22.50. Amount due: $67.50; please pay before market day." in email["body"]


async def test_an_expired_credit_is_not_spent(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        vendor = await rosa(c, s.market_id)
        lapsed = await credit(c, vendor, 20, 5)
        async with alice.db.transaction(write=True) as session:
            await session.execute(
                text("UPDATE credit SET expires_at = :t WHERE id = :i"),
                {"t": (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None), "i": lapsed},
            )
        order = await order_of(c, vendor, s.date_ids)
        approved = await c.ok("approve_order", order_id=order["id"])
    assert (approved["credit_applied_cents"], approved["amount_due_cents"], approved["credits_applied"]) == (
        0,
        4500,
        [],
    )
    assert await uses_in_order(alice) == []


async def test_apply_credits_false_spends_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        kept = await credit(c, vendor, 20, None)
        order = await order_of(c, vendor, s.date_ids[:1])
        approved = await c.ok("approve_order", order_id=order["id"], apply_credits=False)
    assert (approved["status"], approved["credit_applied_cents"], approved["amount_due_cents"]) == (
        "payment_pending",
        0,
        4500,
    )
    assert approved["credits_applied"] == []
    assert await ledger(alice, kept) == [("grant", 2000, 2000, None)]


async def test_trust_future_orders_approves_the_vendors_next_order_on_arrival(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        first = await order_of(c, vendor, s.date_ids[:1])
        await c.ok("approve_order", order_id=first["id"], trust_future_orders=True)
        trusted = (await c.ok("get_vendor", vendor_id=vendor))["trusted"]
        second = await order_of(c, vendor, s.date_ids[1:2])
    assert trusted is True
    assert (second["status"], second["emails"]["queued"], lines(second)) == (
        "payment_pending",
        1,
        [(s.date_ids[1], str(s.days[1]), "confirmed", 4500)],
    )
    assert [(e["kind"], e["record_id"]) for e in await outbox(alice)] == [
        ("order_approved", first["id"]),
        ("order_approved", second["id"]),
    ]


async def test_without_trust_future_orders_the_next_order_waits_for_approval(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        first = await order_of(c, vendor, s.date_ids[:1])
        await c.ok("approve_order", order_id=first["id"])
        second = await order_of(c, vendor, s.date_ids[1:2])
    assert (second["status"], second["emails"]["queued"]) == ("pending", 0)


async def test_the_second_approval_for_the_last_space_is_refused_naming_the_date_and_writes_nothing(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=2)
        await c.ok("update_market_date", market_date_id=s.date_ids[1], capacity=1)
        green = await approved_vendor(c, s.market_id, "Green Grocer")
        vendor = await rosa(c, s.market_id)
        await credit(c, vendor, 20, None)
        first = await order_of(c, green, s.date_ids[1:])
        second = await order_of(c, vendor, s.date_ids)  # one date with room, one about to be full
        await c.ok("approve_order", order_id=first["id"])
        before = await snapshot(alice)
        message = await c.refused("approve_order", 409, order_id=second["id"])
        after = await c.ok("get_order", order_id=second["id"])
    assert message == (
        f"Market date {s.date_ids[1]} ({s.days[1]}) is full: 1 of 1 spaces are taken. "
        "Offer the vendor a place on the waitlist with add_to_waitlist."
    )
    assert await snapshot(alice) == before
    assert (after["status"], [b["status"] for b in after["bookings"]]) == ("pending", ["pending", "pending"])
    assert await confirmed_on(alice, s.date_ids[1]) == 1


async def test_an_open_waitlist_offer_holds_a_space_against_approval(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1, capacity=2)
        green = await approved_vendor(c, s.market_id, "Green Grocer")
        offered = await approved_vendor(c, s.market_id, "Honey Hive")
        vendor = await rosa(c, s.market_id)
        first = await order_of(c, green, s.date_ids)
        second = await order_of(c, vendor, s.date_ids)
        await c.ok("approve_order", order_id=first["id"])
        await add_offer(alice, market_date_id=s.date_ids[0], vendor_id=offered, expires_in=timedelta(hours=24))
        before = await snapshot(alice)
        message = await c.refused("approve_order", 409, order_id=second["id"])
    assert message == (
        f"Market date {s.date_ids[0]} ({s.days[0]}) is full: 2 of 2 spaces are taken. "
        "Offer the vendor a place on the waitlist with add_to_waitlist."
    )
    assert await snapshot(alice) == before


async def test_an_offer_whose_window_has_passed_holds_no_space(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1, capacity=1)
        offered = await approved_vendor(c, s.market_id, "Honey Hive")
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids)
        await add_offer(alice, market_date_id=s.date_ids[0], vendor_id=offered, expires_in=-timedelta(hours=1))
        approved = await c.ok("approve_order", order_id=order["id"])
    assert approved["bookings"][0]["status"] == "confirmed"


async def test_approving_an_order_twice_is_refused_the_second_time_and_writes_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        await credit(c, vendor, 10, None)
        order = await order_of(c, vendor, s.date_ids[:1])
        await c.ok("approve_order", order_id=order["id"])
        before = await snapshot(alice)
        message = await c.refused("approve_order", 409, order_id=order["id"])
    assert message == (
        f"Order {order['id']} is payment_pending, so it cannot be approved; only a pending order can. It is approved "
        "and waiting for payment: record_order_payment marks it paid, send_order_reminder reminds the vendor."
    )
    assert await snapshot(alice) == before


async def test_an_order_whose_date_has_passed_since_it_was_taken_cannot_be_approved(alice: Tenant) -> None:
    """DOMAIN.md: a date that has passed cannot be booked (409); approving is what confirms the booking."""
    yesterday = today() - timedelta(days=1)
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids[:1])
        await set_market_date(alice, s.date_ids[0], scheduled_at=yesterday)
        before = await snapshot(alice)
        message = await c.refused("approve_order", 409, order_id=order["id"])
    assert message == (
        f"Market date {s.date_ids[0]} ({yesterday}) has passed, so it cannot be booked; choose another date "
        f'(list_market_dates with market_id={s.market_id}, date_filter="upcoming").'
    )
    assert await snapshot(alice) == before


async def test_approving_an_unknown_order_is_not_found(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("approve_order", 404, order_id=98765)
    assert message == "Order 98765 not found."


async def test_simultaneous_approvals_for_the_last_spaces_confirm_exactly_the_capacity(alice: Tenant) -> None:
    capacity, contenders = 3, 8
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1, capacity=10)
        await c.ok("update_market_date", market_date_id=s.date_ids[0], capacity=capacity)
        orders = []
        for n in range(contenders):
            vendor = await approved_vendor(c, s.market_id, f"Stall {n}")
            orders.append((await order_of(c, vendor, s.date_ids))["id"])

    results: dict[int, Any] = {}
    most_confirmed = 0
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(alice.client()) for _ in range(contenders)]
        go = anyio.Event()
        finished = anyio.Event()

        async def approve(caller: Caller, order_id: int) -> None:
            await go.wait()
            results[order_id] = await caller.call("approve_order", order_id=order_id)

        async def watch() -> None:
            nonlocal most_confirmed
            while not finished.is_set():
                most_confirmed = max(most_confirmed, await confirmed_on(alice, s.date_ids[0]))
                await anyio.sleep(0.005)

        async with anyio.create_task_group() as watchers:
            watchers.start_soon(watch)
            with anyio.fail_after(20):
                async with anyio.create_task_group() as tg:
                    for caller, order_id in zip(clients, orders, strict=True):
                        tg.start_soon(approve, caller, order_id)
                    go.set()
            finished.set()

    approved = [o for o, r in results.items() if not r.is_error]
    refused = [r.structured_content for r in results.values() if r.is_error]
    assert len(results) == contenders
    assert len(approved) == capacity
    assert refused == [
        {
            "error": f"Market date {s.date_ids[0]} ({s.days[0]}) is full: {capacity} of {capacity} spaces are taken. "
            "Offer the vendor a place on the waitlist with add_to_waitlist.",
            "code": 409,
        }
    ] * (contenders - capacity)
    assert await confirmed_on(alice, s.date_ids[0]) == capacity
    assert most_confirmed <= capacity
    for order_id in orders:
        assert await booking_statuses(alice, order_id) == (["confirmed"] if order_id in approved else ["pending"])
    assert sorted(e["record_id"] for e in await outbox(alice)) == sorted(approved)


# ================================================================ reject_order


async def test_rejecting_a_pending_order_rejects_its_bookings_and_emails_the_reason(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids[:2])
        rejected = await c.ok("reject_order", order_id=order["id"], reason="We are full of bakers this season.")
    assert (
        rejected["status"],
        rejected["rejection_reason"],
        rejected["amount_due_cents"],
        rejected["emails"]["queued"],
    ) == (
        "rejected",
        "We are full of bakers this season.",
        0,
        1,
    )
    assert await booking_statuses(alice, order["id"]) == ["rejected", "rejected"]
    assert await outbox(alice) == [
        dict(
            to="Rosa@Bakery.example.com",
            subject="Your booking at Riverside",
            body=(
                f"Hi Rosa,\n\nWe're sorry, but we can't accept order {order['id']} for Rosa's Bakery:\n"
                f"{date_line(s.days[0], '$45.00')}\n{date_line(s.days[1], '$45.00')}\n\n"
                "We are full of bakers this season.\n\n"
                "Kind regards,\nAlice Markets"
            ),
            kind="order_rejected",
            vendor_id=vendor,
            record_type="order",
            record_id=order["id"],
            status="queued",
        )
    ]


async def test_rejecting_a_payment_pending_order_gives_back_the_credit_it_used_as_refund_rows(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        soon = await credit(c, vendor, 15, 10)
        later = await credit(c, vendor, 10, None)
        order = await order_of(c, vendor, s.date_ids[:2])
        await c.ok("approve_order", order_id=order["id"])
        rejected = await c.ok("reject_order", order_id=order["id"], reason="Duplicate order.")
    assert (rejected["status"], rejected["credit_applied_cents"], rejected["amount_due_cents"]) == ("rejected", 0, 0)
    assert await booking_statuses(alice, order["id"]) == ["rejected", "rejected"]
    assert await ledger(alice, soon) == [
        ("grant", 1500, 1500, None),
        ("use", -1500, 0, order["id"]),
        ("refund", 1500, 1500, order["id"]),
    ]
    assert await ledger(alice, later) == [
        ("grant", 1000, 1000, None),
        ("use", -1000, 0, order["id"]),
        ("refund", 1000, 1000, order["id"]),
    ]
    assert await remaining_and_ledger_sum(alice, soon) == (1500, 1500)
    assert await remaining_and_ledger_sum(alice, later) == (1000, 1000)
    rejection = (await outbox(alice))[-1]
    assert (rejection["kind"], rejection["to"]) == ("order_rejected", "Rosa@Bakery.example.com")
    assert rejection["body"] == (
        f"Hi Rosa,\n\nWe're sorry, but we can't accept order {order['id']} for Rosa's Bakery:\n"
        f"{date_line(s.days[0], '$45.00')}\n{date_line(s.days[1], '$45.00')}\n\n"
        "Duplicate order.\n\n"
        "The $25.00 of credit this order used is back in your account.\n\n"
        "Kind regards,\nAlice Markets"
    )


async def test_after_a_rejection_the_credits_applied_agree_with_credit_applied_cents(alice: Tenant) -> None:
    """The order's line of credits must sum to what it says it applied: after the refund, nothing."""
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        await credit(c, vendor, 15, None)
        order = await order_of(c, vendor, s.date_ids[:1])
        await c.ok("approve_order", order_id=order["id"])
        await c.ok("reject_order", order_id=order["id"])
        read = await c.ok("get_order", order_id=order["id"])
    assert read["credit_applied_cents"] == 0
    assert sum(a["amount_cents"] for a in read["credits_applied"]) == read["credit_applied_cents"]


async def test_rejecting_frees_the_space_for_another_vendor(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1, capacity=1)
        green = await approved_vendor(c, s.market_id, "Green Grocer")
        vendor = await rosa(c, s.market_id)
        first = await order_of(c, green, s.date_ids)
        second = await order_of(c, vendor, s.date_ids)
        await c.ok("approve_order", order_id=first["id"])
        await c.ok("reject_order", order_id=first["id"])
        approved = await c.ok("approve_order", order_id=second["id"])
    assert approved["bookings"][0]["status"] == "confirmed"


async def test_a_complete_rejected_or_archived_order_cannot_be_rejected(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, fee=0)
        vendor = await rosa(c, s.market_id)
        complete = await order_of(c, vendor, s.date_ids[:1])
        await c.ok("approve_order", order_id=complete["id"])
        rejected = await order_of(c, vendor, s.date_ids[1:2])
        await c.ok("reject_order", order_id=rejected["id"])
        archived = await order_of(c, vendor, s.date_ids[2:3])
        await c.ok("archive_order", order_id=archived["id"])
        before = await snapshot(alice)
        messages = [await c.refused("reject_order", 409, order_id=o["id"]) for o in (complete, rejected, archived)]
    instead = {
        "complete": "It is approved and paid; to take back a date, cancel its booking with cancel_booking "
        "(credit_vendor credits the vendor) or move it with rebook_booking.",
        "rejected": "A rejected order stays rejected; take a new order with create_order.",
        "archived": "Restore it with restore_order first.",
    }
    assert messages == [
        f"Order {o['id']} is {status}, so it cannot be rejected; only a pending or payment_pending order can. "
        + instead[status]
        for o, status in ((complete, "complete"), (rejected, "rejected"), (archived, "archived"))
    ]
    assert await snapshot(alice) == before


# ================================================================ archive_order / restore_order


async def test_an_archived_order_is_left_out_of_list_orders_unless_asked_for(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        kept = await order_of(c, vendor, s.date_ids[:1])
        hidden = await order_of(c, vendor, s.date_ids[1:2])
        archived = await c.ok("archive_order", order_id=hidden["id"])
        default = await c.ok("list_orders")
        everything = await c.ok("list_orders", include_archived=True)
        only_archived = await c.ok("list_orders", status="archived")
    assert (archived["status"], "emails" in archived) == ("archived", False)
    assert recent(archived["archived_at"])
    assert ([o["id"] for o in default["items"]], default["total"]) == ([kept["id"]], 1)
    assert ([o["id"] for o in everything["items"]], everything["total"]) == ([hidden["id"], kept["id"]], 2)
    assert [o["id"] for o in only_archived["items"]] == [hidden["id"]]
    assert await booking_statuses(alice, hidden["id"]) == ["pending"]
    assert await outbox(alice) == []


async def test_restore_returns_an_archived_order_to_the_status_it_had(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids[:1])
        await c.ok("approve_order", order_id=order["id"])
        await c.ok("archive_order", order_id=order["id"])
        restored = await c.ok("restore_order", order_id=order["id"])
        listed = await c.ok("list_orders")
    assert (restored["status"], restored["archived_at"], restored["amount_due_cents"]) == (
        "payment_pending",
        None,
        4500,
    )
    assert [o["id"] for o in listed["items"]] == [order["id"]]


async def test_archiving_twice_is_refused_and_writes_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids[:1])
        await c.ok("archive_order", order_id=order["id"])
        before = await snapshot(alice)
        message = await c.refused("archive_order", 409, order_id=order["id"])
    assert message == f"Order {order['id']} is already archived; restore_order brings it back."
    assert await snapshot(alice) == before


async def test_restoring_an_order_that_is_not_archived_is_refused(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids[:1])
        before = await snapshot(alice)
        message = await c.refused("restore_order", 409, order_id=order["id"])
    assert message == (
        f"Order {order['id']} is pending, not archived, so there is nothing to restore (restore_order brings back an "
        "archived order; restore_booking brings back a cancelled booking)."
    )
    assert await snapshot(alice) == before


# ================================================================ modify_order


async def test_modify_moves_a_payment_pending_order_back_to_pending(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids[:1])
        await c.ok("approve_order", order_id=order["id"])
        emails_before = await outbox(alice)
        modified = await c.ok("modify_order", order_id=order["id"])
    assert (modified["status"], "emails" in modified) == ("pending", False)
    assert await outbox(alice) == emails_before


async def test_modify_of_an_order_that_is_not_payment_pending_is_refused(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids[:1])
        before = await snapshot(alice)
        message = await c.refused("modify_order", 409, order_id=order["id"])
    assert message == (
        f"Order {order['id']} is pending, so it cannot be moved back to pending; only a payment_pending order can. "
        "It is waiting for approval: approve_order approves it, reject_order turns it down."
    )
    assert await snapshot(alice) == before


# ================================================================ complete_zero_amount_order


async def test_a_free_order_is_completed_without_payment_and_its_bookings_confirmed(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids[:2], amount_per_date=0)
        completed = await c.ok("complete_zero_amount_order", order_id=order["id"])
    assert (order["status"], order["total_cents"]) == ("pending", 0)
    assert (completed["status"], completed["amount_due_cents"], completed["emails"]["queued"]) == ("complete", 0, 1)
    assert [b["status"] for b in completed["bookings"]] == ["confirmed", "confirmed"]
    assert await outbox(alice) == [
        dict(
            to="Rosa@Bakery.example.com",
            subject="Your booking at Riverside is confirmed",
            body=(
                f"Hi Rosa,\n\nYour order {order['id']} for Rosa's Bakery is approved and your space is held for:\n"
                f"{date_line(s.days[0], '$0.00')}\n{date_line(s.days[1], '$0.00')}\n\n"
                "Total: $0.00. Nothing more is due.\n\n"
                "See you at the market,\nAlice Markets"
            ),
            kind="order_approved",
            vendor_id=vendor,
            record_type="order",
            record_id=order["id"],
            status="queued",
        )
    ]


async def test_an_order_with_something_to_pay_cannot_be_completed_for_free(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids[:1])
        before = await snapshot(alice)
        message = await c.refused("complete_zero_amount_order", 409, order_id=order["id"])
    assert message == f"Order {order['id']} totals $45.00, not zero; approve it with approve_order instead."
    assert await snapshot(alice) == before


# ================================================================ record_order_payment


async def test_recording_payment_completes_the_order_and_emails_a_receipt(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        await credit(c, vendor, 20, None)
        order = await order_of(c, vendor, s.date_ids[:2])
        await c.ok("approve_order", order_id=order["id"])
        paid = await c.ok("record_order_payment", order_id=order["id"], method="bank_transfer", reference="TX-991")
    assert (
        paid["status"],
        paid["payment_method"],
        paid["payment_reference"],
        paid["amount_due_cents"],
        paid["credit_applied_cents"],
        paid["emails"]["queued"],
    ) == ("complete", "bank_transfer", "TX-991", 0, 2000, 1)
    assert recent(paid["paid_at"])
    receipt = (await outbox(alice))[-1]
    assert receipt == dict(
        to="Rosa@Bakery.example.com",
        subject=f"Payment received: order {order['id']}",
        body=(
            f"Hi Rosa,\n\nThank you: we've received $70.00 (bank transfer) for order {order['id']}. "
            "Rosa's Bakery is all set for:\n"
            f"{date_line(s.days[0], '$45.00')}\n{date_line(s.days[1], '$45.00')}\n\n"
            "Your receipt RCT-0001 is attached.\n\n"
            "See you at the market,\nAlice Markets"
        ),
        kind="payment_received",
        vendor_id=vendor,
        record_type="order",
        record_id=order["id"],
        status="queued",
    )
    assert len(await outbox(alice)) == 2


async def test_payment_can_only_be_recorded_on_a_payment_pending_order(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids[:1])
        before = await snapshot(alice)
        message = await c.refused("record_order_payment", 409, order_id=order["id"], method="cash")
    assert message == (
        f"Order {order['id']} is pending, so it cannot be marked paid; only a payment_pending order can. "
        "It is waiting for approval: approve_order approves it, reject_order turns it down."
    )
    assert await snapshot(alice) == before


async def test_a_payment_method_not_in_the_list_is_refused_naming_method(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids[:1])
        await c.ok("approve_order", order_id=order["id"])
        before = await snapshot(alice)
        message = await c.refused("record_order_payment", 422, order_id=order["id"], method="paypal")
    assert message == (
        "Invalid arguments: method must be one of card, cash, bank_transfer, cheque or online; got 'paypal'."
    )
    assert await snapshot(alice) == before


# ================================================================ send_order_reminder


async def test_a_reminder_emails_the_vendor_the_amount_still_due(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        await credit(c, vendor, "4.50", None)
        order = await order_of(c, vendor, s.date_ids[:1])
        await c.ok("approve_order", order_id=order["id"])
        reminded = await c.ok("send_order_reminder", order_id=order["id"])
    assert (reminded["status"], reminded["amount_due_cents"], reminded["emails"]["queued"]) == (
        "payment_pending",
        4050,
        1,
    )
    emails = await outbox(alice)
    assert len(emails) == 2
    assert emails[-1] == dict(
        to="Rosa@Bakery.example.com",
        subject="Reminder: $40.50 due for Riverside",
        body=(
            f"Hi Rosa,\n\nA friendly reminder that $40.50 is still due on order {order['id']} for Rosa's Bakery:\n"
            f"{date_line(s.days[0], '$45.00')}\n\n"
            "Your spaces are only guaranteed once the order is paid.\n\n"
            "Thank you,\nAlice Markets"
        ),
        kind="order_reminder",
        vendor_id=vendor,
        record_type="order",
        record_id=order["id"],
        status="queued",
    )


async def test_a_reminder_for_an_order_that_is_not_payment_pending_is_refused(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids[:1])
        before = await snapshot(alice)
        message = await c.refused("send_order_reminder", 409, order_id=order["id"])
    assert message == (
        f"Order {order['id']} is pending, so it cannot be reminded about payment; only a payment_pending order "
        "can. It is waiting for approval: approve_order approves it, reject_order turns it down."
    )
    assert await snapshot(alice) == before


# ================================================================ list_orders / get_order


async def test_list_orders_filters_by_status_vendor_market_and_query_newest_first(alice: Tenant) -> None:
    async with alice.client() as c:
        river = await market_with_dates(c, "Riverside")
        hill = await market_with_dates(c, "Hilltop")
        vendor = await rosa(c, river.market_id)
        await approve_application(c, hill.market_id, vendor)
        green = await approved_vendor(c, river.market_id, "Green Grocer", contact="Sam Green")
        a = await order_of(c, vendor, river.date_ids[:1])
        b = await order_of(c, green, river.date_ids[1:2])
        h = await order_of(c, vendor, hill.date_ids[:1])
        await c.ok("approve_order", order_id=b["id"])

        async def ids(**filters: Any) -> list[int]:
            page = await c.ok("list_orders", **filters)
            assert page["total"] == len(page["items"])
            return [o["id"] for o in page["items"]]

        assert await ids() == [h["id"], b["id"], a["id"]]
        assert await ids(status="pending") == [h["id"], a["id"]]
        assert await ids(status="payment_pending") == [b["id"]]
        assert await ids(vendor_id=vendor) == [h["id"], a["id"]]
        assert await ids(market_id=river.market_id) == [b["id"], a["id"]]
        assert await ids(market_id=hill.market_id, vendor_id=green) == []
        assert await ids(query="ROSA@bakery") == [h["id"], a["id"]]
        assert await ids(query="sam gr") == [b["id"]]
        assert await ids(query="grocer", status="pending") == []


async def test_list_orders_items_carry_the_money_and_names(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids[:2])
        page = await c.ok("list_orders")
        in_full = await c.ok("list_orders", detail="full")
    expected = {k: v for k, v in order.items() if k not in ("bookings", "credits_applied", "payments", "emails")}
    compact = {
        k: expected[k]
        for k in (
            "id",
            "status",
            "vendor_id",
            "business_name",
            "market_id",
            "market_name",
            "total_cents",
            "amount_due_cents",
            "currency",
            "first_date",
            "last_date",
            "date_count",
        )
    }
    assert page == {
        "items": [compact],
        "total": 1,
        "limit": 20,
        "offset": 0,
        "next_offset": None,
        "page": "All 1 shown.",
    }
    assert in_full == {**page, "items": [expected]}
    assert (expected["first_date"], expected["last_date"], expected["date_count"]) == (
        str(s.days[0]),
        str(s.days[1]),
        2,
    )


@dataclass
class FourOrders:
    """Orders on three Saturdays: A confirmed on the first; B pending on the second and third; C confirmed on the
    first and third with its first booking cancelled; D rejected on the second."""

    s: Setup
    a: int
    b: int
    c: int
    d: int


async def four_orders(c: Caller) -> FourOrders:
    s = await market_with_dates(c, dates=3)
    rosa_id = await rosa(c, s.market_id)
    green, bob, dee = [await approved_vendor(c, s.market_id, name) for name in ("Green Grocer", "Bob's Honey", "Dee")]
    a = await order_of(c, rosa_id, s.date_ids[:1])
    await c.ok("approve_order", order_id=a["id"])
    b = await order_of(c, green, s.date_ids[1:])
    order_c = await order_of(c, bob, [s.date_ids[0], s.date_ids[2]])
    approved = await c.ok("approve_order", order_id=order_c["id"])
    await c.ok("cancel_booking", booking_id=approved["bookings"][0]["booking_id"], reason="Away that week.")
    d = await order_of(c, dee, s.date_ids[1:2])
    await c.ok("reject_order", order_id=d["id"], reason="Too many honey stalls.")
    return FourOrders(s, a["id"], b["id"], order_c["id"], d["id"])


async def test_from_date_and_to_date_keep_orders_with_a_booking_still_on_for_a_date_in_the_range(alice: Tenant) -> None:
    async with alice.client() as c:
        o = await four_orders(c)
        days = [str(day) for day in o.s.days]

        async def ids(**arguments: Any) -> list[int]:
            page = await c.ok("list_orders", **arguments)
            assert page["total"] == len(page["items"])
            return [order["id"] for order in page["items"]]

        # C's booking on the first Saturday is cancelled and D's on the second rejected: neither trades then.
        assert await ids(from_date=days[0], to_date=days[0]) == [o.a]
        assert await ids(from_date=days[1], to_date=days[1]) == [o.b]
        assert await ids(from_date=days[2]) == [o.c, o.b]
        assert await ids(to_date=days[0]) == [o.a]
        assert await ids(from_date=days[0], to_date=days[2]) == [o.c, o.b, o.a]
        assert await ids(from_date=days[0], to_date=days[2], status="payment_pending") == [o.c, o.a]
        assert await ids() == [o.d, o.c, o.b, o.a]  # without a range, every order, trading or not
        day_before = str(o.s.days[0] - timedelta(days=1))
        assert await ids(from_date=day_before, to_date=day_before) == []


async def test_an_order_shows_the_first_and_last_of_its_trading_days_still_booked_and_how_many(alice: Tenant) -> None:
    async with alice.client() as c:
        o = await four_orders(c)
        listed = {order["id"]: order for order in (await c.ok("list_orders"))["items"]}
        got = {order_id: await c.ok("get_order", order_id=order_id) for order_id in (o.a, o.b, o.c, o.d)}
    days = [str(day) for day in o.s.days]
    expected = {
        o.a: (days[0], days[0], 1),
        o.b: (days[1], days[2], 2),
        o.c: (days[2], days[2], 1),  # its cancelled booking on the first Saturday is not a trading day
        o.d: (None, None, 0),  # rejected: nothing still booked
    }
    for orders in (listed, got):
        assert {i: (order["first_date"], order["last_date"], order["date_count"]) for i, order in orders.items()} == (
            expected
        )


@pytest.mark.parametrize(
    ("day", "before", "first", "last", "after"),
    [
        # 10 March is in AEDT: the local day runs from 13:00 UTC on the 9th to 13:00 UTC on the 10th.
        ("2025-03-10", "2025-03-09T12:59:59", "2025-03-09T13:00:00", "2025-03-10T12:59:59", "2025-03-10T13:00:00"),
        # 10 July is in AEST: from 14:00 UTC on the 9th to 14:00 UTC on the 10th.
        ("2025-07-10", "2025-07-09T13:59:59", "2025-07-09T14:00:00", "2025-07-10T13:59:59", "2025-07-10T14:00:00"),
    ],
)
async def test_paid_from_and_paid_to_are_days_of_payment_in_the_organisations_timezone(
    alice: Tenant, day: str, before: str, first: str, last: str, after: str
) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=5)
        vendor = await rosa(c, s.market_id)
        orders = [(await order_of(c, vendor, [date_id]))["id"] for date_id in s.date_ids]
        for order_id, paid_at in zip(orders, (before, first, last, after), strict=False):
            await c.ok("approve_order", order_id=order_id)
            await c.ok("record_order_payment", order_id=order_id, method="cash")
            await set_paid_at(alice, order_id, datetime.fromisoformat(paid_at).replace(tzinfo=UTC))
        unpaid = orders[4]

        async def ids(**arguments: Any) -> list[int]:
            page = await c.ok("list_orders", **arguments)
            assert page["total"] == len(page["items"])
            return [order["id"] for order in page["items"]]

        that_day = await ids(paid_from=day, paid_to=day)
        from_that_day = await ids(paid_from=day)
        until_that_day = await ids(paid_to=day)
        everything = await ids()
    paid_before, paid_first, paid_last, paid_after = orders[:4]
    assert that_day == [paid_last, paid_first]
    assert from_that_day == [paid_after, paid_last, paid_first]
    assert until_that_day == [paid_last, paid_first, paid_before]
    assert everything == [unpaid, paid_after, paid_last, paid_first, paid_before]  # unpaid: no paid day to match


async def test_get_order_lists_its_lines_in_date_order_and_the_credits_applied(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        used = await credit(c, vendor, 10, 30)
        order = await order_of(c, vendor, [s.date_ids[1], s.date_ids[2], s.date_ids[0]], amount_per_date=20)
        await c.ok("approve_order", order_id=order["id"])
        read = await c.ok("get_order", order_id=order["id"])
    assert lines(read) == [(d, str(day), "confirmed", 2000) for d, day in zip(s.date_ids, s.days, strict=True)]
    assert [(a["credit_id"], a["amount_cents"]) for a in read["credits_applied"]] == [(used, 1000)]
    assert recent(read["credits_applied"][0]["created_at"])
    assert (read["total_cents"], read["credit_applied_cents"], read["amount_due_cents"], "emails" in read) == (
        6000,
        1000,
        5000,
        False,  # a read queues nothing and says nothing of email
    )


async def test_another_organisations_order_is_not_found(alice: Tenant, bob: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        order = await order_of(c, vendor, s.date_ids[:1])
    async with bob.client() as b:
        message = await b.refused("get_order", 404, order_id=order["id"])
        listed = await b.ok("list_orders", include_archived=True)
    assert message == f"Order {order['id']} not found."
    assert listed["items"] == []
