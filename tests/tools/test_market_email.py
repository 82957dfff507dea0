"""send_market_email and list_emails: mail to a market's vendors, and the outbox that holds it.

A market's active vendors are those with an approved application to it; with market_date_id, only the vendors
with a pending or confirmed booking on that date. Rows the tools would not make (bookings in every status, a
hundred-odd vendors, emails in every delivery status) are written straight to the store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from mcp import Client
from sqlalchemy import select

from market_mcp.config import Settings
from market_mcp.db.tables import Application, Booking, Email, Vendor
from market_mcp.server import build_server
from tests.factories import Caller, Tenant, emails_queued, next_weekday

SUBJECT = "Car park closed on Saturday"
MESSAGE = "Please unload on Water Street this week; the car park is being resurfaced."

# ---------------------------------------------------------------- set-up through the tools


async def new_market(c: Caller, name: str = "Riverside") -> int:
    return (await c.ok("create_market", name=name))["id"]


async def new_date(c: Caller, market_id: int, weeks_ahead: int = 1) -> int:
    return (
        await c.ok(
            "create_market_date", market_id=market_id, scheduled_at=str(next_weekday(6, weeks_ahead=weeks_ahead))
        )
    )["id"]


async def new_vendor(c: Caller, business_name: str, email: str, contact_name: str = "") -> int:
    vendor = await c.ok("create_vendor", business_name=business_name, email=email, contact_name=contact_name)
    return vendor["id"]


async def apply(c: Caller, market_id: int, vendor_id: int, status: str | None) -> None:
    """An application in `status` (None: left pending), decided quietly (no email)."""
    application = await c.ok("create_application", market_id=market_id, vendor_id=vendor_id)
    if status is not None:
        await c.ok(
            "update_application_status", application_id=application["id"], status=status, send_notification=False
        )


async def send(c: Caller, market_id: int, **arguments: Any) -> dict[str, Any]:
    return await c.ok("send_market_email", market_id=market_id, subject=SUBJECT, message=MESSAGE, **arguments)


# ---------------------------------------------------------------- rows written or read straight from the store


async def add_booking(tenant: Tenant, *, market_date_id: int, vendor_id: int, status: str) -> None:
    async with tenant.db.transaction(write=True) as session:
        session.add(
            Booking(organization_id=tenant.org_id, vendor_id=vendor_id, market_date_id=market_date_id, status=status)
        )


async def add_approved_vendors(tenant: Tenant, market_id: int, count: int) -> list[int]:
    """`count` vendors named Vendor 000, Vendor 001, … each with an approved application to the market."""
    async with tenant.db.transaction(write=True) as session:
        vendors = [
            Vendor(organization_id=tenant.org_id, business_name=f"Vendor {n:03}", email=f"vendor{n:03}@example.com")
            for n in range(count)
        ]
        session.add_all(vendors)
        await session.flush()
        session.add_all(
            Application(organization_id=tenant.org_id, vendor_id=v.id, market_id=market_id, status="approved")  # type: ignore[arg-type]
            for v in vendors
        )
        return [v.id for v in vendors]  # type: ignore[misc]


async def add_email(
    tenant: Tenant, *, vendor_id: int | None, kind: str, status: str, to: str, created_at: datetime | None = None
) -> int:
    async with tenant.db.transaction(write=True) as session:
        email = Email(
            **({"created_at": created_at} if created_at else {}),
            organization_id=tenant.org_id,
            vendor_id=vendor_id,
            to=to,
            subject=f"{kind} for {to}",
            body="Hi,\n\nA message.",
            kind=kind,
            record_type="vendor" if vendor_id else None,
            record_id=vendor_id,
            status=status,
            attempts=0 if status == "queued" else 1,
            sent_at=datetime.now(UTC) if status == "sent" else None,
            error="550 mailbox unavailable" if status == "failed" else None,
        )
        session.add(email)
        await session.flush()
        return email.id  # type: ignore[return-value]


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


def greeting(first_name: str, market: str = "Riverside") -> str:
    return f"Hi {first_name},\n\n{MESSAGE}\n\nAlice Markets, for {market}"


# ================================================================ send_market_email


async def market_with_vendors(c: Caller) -> tuple[int, dict[str, int]]:
    """Riverside with two approved vendors, plus vendors who must not hear from it."""
    market = await new_market(c)
    other = await new_market(c, "Hilltop")
    v = {
        "rosa": await new_vendor(c, "rosa's Bakery", "rosa@example.com", "Rosa Diaz"),
        "green": await new_vendor(c, "Green Grocer", "green@example.com"),
        "pending": await new_vendor(c, "Pending Pies", "pies@example.com", "Pat Pie"),
        "rejected": await new_vendor(c, "Rejected Rugs", "rugs@example.com", "Rae Rug"),
        "elsewhere": await new_vendor(c, "Hilltop Honey", "honey@example.com", "Hal Honey"),
    }
    await apply(c, market, v["rosa"], "approved")
    await apply(c, market, v["green"], "approved")
    await apply(c, market, v["pending"], None)
    await apply(c, market, v["rejected"], "rejected")
    await apply(c, other, v["elsewhere"], "approved")
    return market, v


async def test_a_dry_run_lists_the_markets_approved_vendors_by_business_name_and_queues_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        market, v = await market_with_vendors(c)
        result = await send(c, market, dry_run=True)
    assert result == {
        "dry_run": True,
        "market_id": market,
        "market_date_id": None,
        "subject": SUBJECT,
        "truncated": False,
        "note": "Preview only: no email was queued. Call again with dry_run false to do it.",
        "would_email": 2,
        "would_email_to": [
            {"vendor_id": v["green"], "business_name": "Green Grocer", "email": "green@example.com"},
            {"vendor_id": v["rosa"], "business_name": "rosa's Bakery", "email": "rosa@example.com"},
        ],
        "would_send": {"to": "green@example.com", "subject": SUBJECT, "body": greeting("Green Grocer")},
    }
    assert await outbox(alice) == []


async def test_a_real_send_queues_one_message_per_recipient_greeting_them_and_naming_the_market(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        market, v = await market_with_vendors(c)
        result = await send(c, market)
    assert (result["dry_run"], result["recipient_count"], result["emails"]["queued"]) == (False, 2, 2)
    assert await outbox(alice) == [
        dict(
            to="green@example.com",
            subject=SUBJECT,
            body=greeting("Green Grocer"),  # no contact name: greeted by the business
            kind="market_message",
            vendor_id=v["green"],
            record_type="market",
            record_id=market,
            status="queued",
        ),
        dict(
            to="rosa@example.com",
            subject=SUBJECT,
            body=greeting("Rosa"),
            kind="market_message",
            vendor_id=v["rosa"],
            record_type="market",
            record_id=market,
            status="queued",
        ),
    ]


@pytest.mark.parametrize("opening", ["Hi all,", "Hello everyone!", "Dear stallholders,", "G'day team,"])
async def test_a_message_that_greets_is_sent_with_that_greeting_alone(alice: Tenant, opening: str) -> None:
    async with alice.client() as c:
        market, _ = await market_with_vendors(c)
        await c.ok("send_market_email", market_id=market, subject=SUBJECT, message=f"{opening} {MESSAGE}")
    bodies = {e["body"] for e in await outbox(alice)}
    assert bodies == {f"{opening} {MESSAGE}\n\nAlice Markets, for Riverside"}


async def test_a_send_to_a_market_without_active_vendors_queues_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await new_market(c)
        result = await send(c, market)
    assert (result["recipient_count"], result["recipients"], result["emails"]["queued"]) == (0, [], 0)
    assert await outbox(alice) == []


async def test_with_a_market_date_only_vendors_with_a_pending_or_confirmed_booking_on_it_are_emailed(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        market, v = await market_with_vendors(c)
        day = await new_date(c, market)
        other_day = await new_date(c, market, weeks_ahead=2)
        cancelled = await new_vendor(c, "Cancelled Candles", "candles@example.com", "Cy Candle")
        rejected = await new_vendor(c, "Rejected Rolls", "rolls@example.com", "Ro Roll")
        await add_booking(alice, market_date_id=day, vendor_id=v["rosa"], status="confirmed")
        await add_booking(alice, market_date_id=day, vendor_id=v["pending"], status="pending")
        await add_booking(alice, market_date_id=day, vendor_id=cancelled, status="cancelled")
        await add_booking(alice, market_date_id=day, vendor_id=rejected, status="rejected")
        await add_booking(alice, market_date_id=other_day, vendor_id=v["green"], status="confirmed")
        dry = await send(c, market, market_date_id=day, dry_run=True)
        result = await send(c, market, market_date_id=day)
    recipients = [
        {"vendor_id": v["pending"], "business_name": "Pending Pies", "email": "pies@example.com"},
        {"vendor_id": v["rosa"], "business_name": "rosa's Bakery", "email": "rosa@example.com"},
    ]
    said = {"market_id": market, "market_date_id": day, "subject": SUBJECT, "truncated": False}
    assert dry == said | {
        "dry_run": True,
        "note": "Preview only: no email was queued. Call again with dry_run false to do it.",
        "would_email": 2,
        "would_email_to": recipients,
        "would_send": {"to": "pies@example.com", "subject": SUBJECT, "body": greeting("Pat")},
    }
    assert result == said | {
        "dry_run": False,
        "recipient_count": 2,
        "recipients": recipients,
        "emails": emails_queued(2),
    }
    assert await outbox(alice) == [
        dict(
            to="pies@example.com",
            subject=SUBJECT,
            body=greeting("Pat"),
            kind="market_message",
            vendor_id=v["pending"],
            record_type="market_date",
            record_id=day,
            status="queued",
        ),
        dict(
            to="rosa@example.com",
            subject=SUBJECT,
            body=greeting("Rosa"),
            kind="market_message",
            vendor_id=v["rosa"],
            record_type="market_date",
            record_id=day,
            status="queued",
        ),
    ]


async def test_a_date_of_another_market_is_refused_with_422_and_queues_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        market, _ = await market_with_vendors(c)
        other = await new_market(c, "Harbour")
        their_day = await new_date(c, other)
        message = await c.refused(
            "send_market_email", 422, market_id=market, subject=SUBJECT, message=MESSAGE, market_date_id=their_day
        )
    assert message == (
        f"Market date {their_day} is a date of market {other}, not of market {market} "
        f"(list_market_dates with market_id={market} gives its dates)."
    )
    assert await outbox(alice) == []


async def test_an_unknown_market_is_not_found(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("send_market_email", 404, market_id=98765, subject=SUBJECT, message=MESSAGE)
    assert message == "Market 98765 not found."


async def test_an_unknown_market_date_is_not_found(alice: Tenant) -> None:
    async with alice.client() as c:
        market, _ = await market_with_vendors(c)
        message = await c.refused(
            "send_market_email", 404, market_id=market, subject=SUBJECT, message=MESSAGE, market_date_id=98765
        )
    assert message == "Market date 98765 not found."
    assert await outbox(alice) == []


async def test_another_organisations_market_is_not_found_and_its_vendors_hear_nothing(
    alice: Tenant, bob: Tenant
) -> None:
    async with bob.client() as b:
        theirs, _ = await market_with_vendors(b)
    async with alice.client() as c:
        message = await c.refused("send_market_email", 404, market_id=theirs, subject=SUBJECT, message=MESSAGE)
    assert message == f"Market {theirs} not found."
    assert await outbox(bob) == []


async def test_the_recipients_list_stops_at_100_with_truncated_and_the_exact_count(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await new_market(c)
        vendors = await add_approved_vendors(alice, market, 105)
        dry = await send(c, market, dry_run=True)
        sent = await send(c, market)
    assert (dry["would_email"], dry["truncated"], "emails" in dry) == (105, True, False)
    assert dry["would_email_to"] == [
        {"vendor_id": vendors[n], "business_name": f"Vendor {n:03}", "email": f"vendor{n:03}@example.com"}
        for n in range(100)
    ]
    assert (sent["recipient_count"], sent["truncated"], sent["emails"]["queued"], len(sent["recipients"])) == (
        105,
        True,
        105,
        100,
    )
    assert sorted(e["vendor_id"] for e in await outbox(alice)) == sorted(vendors)


async def test_exactly_100_recipients_are_all_listed_and_not_truncated(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await new_market(c)
        await add_approved_vendors(alice, market, 100)
        dry = await send(c, market, dry_run=True)
    assert (dry["would_email"], len(dry["would_email_to"]), dry["truncated"]) == (100, 100, False)


# ================================================================ list_emails


@pytest.fixture
def no_smtp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MARKET_MCP_SMTP_URL", raising=False)


async def test_list_emails_is_newest_first_and_says_delivery_is_not_configured(alice: Tenant, no_smtp: None) -> None:
    async with alice.client() as c:
        market, v = await market_with_vendors(c)
        first = await add_email(alice, vendor_id=v["rosa"], kind="vendor_message", status="sent", to="rosa@example.com")
        second = await add_email(alice, vendor_id=None, kind="vendor_message", status="failed", to="x@example.com")
        await send(c, market)
        page = await c.ok("list_emails")
        in_full = await c.ok("list_emails", detail="full")
    assert (page["delivery"], page["delivery_note"]) == (
        "not_configured",
        "Email delivery is not set up (MARKET_MCP_SMTP_URL is unset): queued emails stay in the outbox and nobody "
        "receives them until it is set.",
    )
    assert (page["total"], page["limit"], page["offset"], page["next_offset"], page["page"]) == (
        4,
        20,
        0,
        None,
        "All 4 shown.",
    )
    ids = [e["id"] for e in page["items"]]
    assert ids == sorted(ids, reverse=True) and ids[2:] == [second, first]
    assert [(e["to"], e["kind"], e["status"]) for e in page["items"]] == [
        ("rosa@example.com", "market_message", "queued"),
        ("green@example.com", "market_message", "queued"),
        ("x@example.com", "vendor_message", "failed"),
        ("rosa@example.com", "vendor_message", "sent"),
    ]
    failed = page["items"][2]
    assert failed == {
        "id": second,
        "to": "x@example.com",
        "subject": "vendor_message for x@example.com",
        "kind": "vendor_message",
        "status": "failed",
        "vendor_id": None,
        "sent_at": None,
        "error": "550 mailbox unavailable",
        "created_at": failed["created_at"],
    }
    assert in_full["items"][2] == {
        **failed,
        "body": "Hi,\n\nA message.",
        "record_type": None,
        "record_id": None,
        "attempts": 1,
        "attachment": None,
    }


async def test_list_emails_filters_by_status_vendor_and_kind(alice: Tenant, no_smtp: None) -> None:
    async with alice.client() as c:
        market, v = await market_with_vendors(c)
        sent = await add_email(alice, vendor_id=v["rosa"], kind="vendor_message", status="sent", to="rosa@example.com")
        failed = await add_email(
            alice, vendor_id=v["green"], kind="order_reminder", status="failed", to="g@example.com"
        )
        await send(c, market)

        async def ids(**filters: Any) -> list[int]:
            page = await c.ok("list_emails", **filters)
            assert page["total"] == len(page["items"])
            return [e["id"] for e in page["items"]]

        everything = await ids()
        queued = everything[:2]  # the two market messages, newest (rosa's) first
        assert await ids(status="queued") == queued
        assert await ids(status="sent") == [sent]
        assert await ids(status="failed") == [failed]
        assert await ids(vendor_id=v["rosa"]) == [queued[0], sent]
        assert await ids(kind="market_message") == queued
        assert await ids(kind="order_reminder", vendor_id=v["green"]) == [failed]
        assert await ids(kind="order_reminder", vendor_id=v["rosa"]) == []


@pytest.mark.parametrize(
    ("day", "before", "first", "last", "after"),
    [
        # 10 March is in AEDT: the local day runs from 13:00 UTC on the 9th to 13:00 UTC on the 10th.
        ("2025-03-10", "2025-03-09T12:59:59", "2025-03-09T13:00:00", "2025-03-10T12:59:59", "2025-03-10T13:00:00"),
        # 10 July is in AEST: from 14:00 UTC on the 9th to 14:00 UTC on the 10th.
        ("2025-07-10", "2025-07-09T13:59:59", "2025-07-09T14:00:00", "2025-07-10T13:59:59", "2025-07-10T14:00:00"),
    ],
)
async def test_from_date_and_to_date_are_days_an_email_was_queued_in_the_organisations_timezone(
    alice: Tenant, no_smtp: None, day: str, before: str, first: str, last: str, after: str
) -> None:
    ids = {
        name: await add_email(
            alice,
            vendor_id=None,
            kind="vendor_message",
            status="sent",
            to=f"{name}@example.com",
            created_at=datetime.fromisoformat(moment).replace(tzinfo=UTC),
        )
        for name, moment in (("before", before), ("first", first), ("last", last), ("after", after))
    }
    async with alice.client() as c:
        that_day = await c.ok("list_emails", from_date=day, to_date=day)
        from_that_day = await c.ok("list_emails", from_date=day)
        until_that_day = await c.ok("list_emails", to_date=day)
    assert ([e["id"] for e in that_day["items"]], that_day["total"]) == ([ids["last"], ids["first"]], 2)
    assert [e["id"] for e in from_that_day["items"]] == [ids["after"], ids["last"], ids["first"]]
    assert [e["id"] for e in until_that_day["items"]] == [ids["last"], ids["first"], ids["before"]]


async def test_list_emails_says_how_mail_goes_out_when_smtp_is_configured(alice: Tenant) -> None:
    server = build_server(
        Settings(database_url=str(alice.db.url), rate_limit=100_000, smtp_url="smtp://mail.example.com:2525"),
        db=alice.db,
        token=alice.token,
    )
    async with Client(server) as client:
        page = await Caller(client).ok("list_emails")
    assert (page["delivery"], page["delivery_note"]) == (
        "sending",
        "Queued emails go out over SMTP within a minute; list_emails shows whether each one was sent.",
    )


async def test_a_caller_cannot_pass_delivery_to_list_emails(alice: Tenant, no_smtp: None) -> None:
    async with alice.client() as c:
        message = await c.refused("list_emails", 422, delivery="Delivered by carrier pigeon.")
    assert message == (
        "Invalid arguments: delivery is not an argument of list_emails; it takes detail, from_date, kind, limit, offset, "
        "status, to_date, vendor_id."
    )


async def test_list_emails_shows_only_the_callers_organisation(alice: Tenant, bob: Tenant, no_smtp: None) -> None:
    await add_email(bob, vendor_id=None, kind="vendor_message", status="queued", to="bob@example.com")
    mine = await add_email(alice, vendor_id=None, kind="vendor_message", status="queued", to="alice@example.com")
    async with alice.client() as c:
        page = await c.ok("list_emails")
    assert ([e["id"] for e in page["items"]], page["total"]) == ([mine], 1)


async def test_a_limit_over_200_is_refused_naming_limit(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("list_emails", 422, limit=201)
    assert message == "Invalid arguments: limit must be at most 200; got 201."
