"""Payment links: with Stripe configured (against the local stand-in, tests/stripe_standin.py), approving an order or
create_payment_link makes a Checkout session for what is due and emails its page; Stripe's webhook records the
payment once. Without the settings nothing changes. Through the MCP client; the store read back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import Client
from sqlalchemy import select

from market_mcp.config import Settings
from market_mcp.db.tables import AuditEntry, PaymentLink, StripePayment
from market_mcp.db.types import utcnow
from market_mcp.server import build_server
from market_mcp.services import payment_links
from tests.factories import Caller, Tenant, emails_queued
from tests.stripe_standin import API_KEY, WEBHOOK_SECRET, StandIn, paid_event, stripe_standin
from tests.tools.test_orders import make_trusted, market_with_dates, order_of, outbox, rosa
from tests.tools.test_payments import ledger


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with stripe_standin() as running:
        yield running


@asynccontextmanager
async def linked(tenant: Tenant, standin: StandIn) -> AsyncIterator[Caller]:
    """A client of a server with payment links configured, Stripe being the stand-in."""
    settings = Settings(
        database_url=str(tenant.db.url),
        rate_limit=100_000,
        stripe_api_key=API_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=standin.url,
    )
    async with Client(build_server(settings, db=tenant.db, token=tenant.token)) as client:
        yield Caller(client)


async def pending_order(c: Caller, dates: int = 2, fee: str = "45") -> dict[str, Any]:
    s = await market_with_dates(c, fee=fee, dates=dates)
    return await order_of(c, await rosa(c, s.market_id), s.date_ids)


async def links(tenant: Tenant) -> list[tuple[Any, ...]]:
    async with tenant.db.transaction() as session:
        rows = (await session.execute(select(PaymentLink).order_by(PaymentLink.id))).scalars().all()
    return [(p.order_id, p.amount_cents, p.currency, p.session_id, p.url) for p in rows]


async def deliver(tenant: Tenant, payload: str) -> tuple[str, int]:
    """Stripe's delivery of a verified event, as the webhook hands it on."""
    return await payment_links.record_checkout(tenant.db, json.loads(payload), utcnow, email_delivery=False)


def session_of(standin: StandIn, number: int = 1) -> dict[str, Any]:
    return standin._sessions[standin.requests[number - 1].idempotency_key]  # type: ignore[index]


async def test_approving_an_order_makes_a_checkout_session_for_what_is_due_and_emails_its_page(
    alice: Tenant, standin: StandIn
) -> None:
    async with linked(alice, standin) as c:
        order = await pending_order(c)
        approved = await c.ok("approve_order", order_id=order["id"])
    url = "https://checkout.stripe.test/c/pay/cs_test_1"
    assert (approved["status"], approved["payment_url"], approved["emails"]) == (
        "payment_pending",
        url,
        emails_queued(1),
    )
    [asked] = standin.requests
    assert asked.path == "/v1/checkout/sessions"
    assert asked.authorization == f"Bearer {API_KEY}"
    assert asked.params["mode"] == "payment"
    assert asked.params["line_items"] == [
        {
            "quantity": "1",
            "price_data": {"currency": "aud", "unit_amount": "9000", "product_data": {"name": "Riverside: order 1"}},
        }
    ]
    assert asked.params["metadata"] == {"organization_id": str(alice.org_id), "order_id": str(order["id"])}
    assert asked.params["customer_email"] == "Rosa@Bakery.example.com"
    [email] = [e for e in await outbox(alice) if e["kind"] == "order_approved"]
    assert (
        f"Amount due: $90.00; please pay before market day.\n\nPay online: {url} (the link works until "
        in email["body"]
    )
    assert await links(alice) == [(order["id"], 9000, "AUD", "cs_test_1", url)]


async def test_a_trusted_vendors_order_approved_on_arrival_comes_with_its_link(alice: Tenant, standin: StandIn) -> None:
    async with linked(alice, standin) as c:
        s = await market_with_dates(c, dates=1)
        vendor = await rosa(c, s.market_id)
        await make_trusted(alice, vendor)
        order = await order_of(c, vendor, s.date_ids, idempotency_key="rosa-order")
        replayed = await order_of(c, vendor, s.date_ids, idempotency_key="rosa-order")
    assert (order["status"], order["payment_url"]) == (
        "payment_pending",
        "https://checkout.stripe.test/c/pay/cs_test_1",
    )
    assert replayed == order and len(standin.requests) == 1


async def test_without_the_settings_approving_is_as_before_and_no_link_is_asked_for(
    alice: Tenant, standin: StandIn
) -> None:
    async with alice.client() as c:
        order = await pending_order(c)
        approved = await c.ok("approve_order", order_id=order["id"])
        refusal = await c.refused("create_payment_link", 409, order_id=order["id"])
    assert "payment_url" not in approved and "payment_link_note" not in approved
    assert refusal == payment_links.NOT_CONFIGURED
    assert refusal.startswith(
        "Payment links are not configured: set MARKET_MCP_STRIPE_API_KEY and MARKET_MCP_STRIPE_WEBHOOK_SECRET"
    )
    [email] = [e for e in await outbox(alice) if e["kind"] == "order_approved"]
    assert "Pay online" not in email["body"]
    assert standin.requests == [] and await links(alice) == []


async def test_create_payment_link_sends_the_open_link_again_rather_than_make_another(
    alice: Tenant, standin: StandIn
) -> None:
    async with linked(alice, standin) as c:
        order = await pending_order(c)
        await c.ok("approve_order", order_id=order["id"])
        again = await c.ok("create_payment_link", order_id=order["id"])
    assert (again["payment_url"], again["reused"], again["amount_due_cents"], again["emails"]) == (
        "https://checkout.stripe.test/c/pay/cs_test_1",
        True,
        9000,
        emails_queued(1),
    )
    assert len(standin.requests) == 1 and len(await links(alice)) == 1
    [email] = [e for e in await outbox(alice) if e["kind"] == "payment_link"]
    assert email["subject"] == "Pay online: $90.00 for Riverside"
    assert "https://checkout.stripe.test/c/pay/cs_test_1" in email["body"]


async def test_after_a_part_payment_create_payment_link_makes_a_link_for_the_rest(
    alice: Tenant, standin: StandIn
) -> None:
    async with linked(alice, standin) as c:
        order = await pending_order(c)
        await c.ok("approve_order", order_id=order["id"])
        await c.ok("record_order_payment", order_id=order["id"], method="cash", amount=50)
        made = await c.ok("create_payment_link", order_id=order["id"], idempotency_key="link-rest")
        replayed = await c.ok("create_payment_link", order_id=order["id"], idempotency_key="link-rest")
        reused = await c.ok("create_payment_link", order_id=order["id"])
    assert (reused["reused"], reused["expires_at"]) == (True, made["expires_at"])
    assert (made["payment_url"], made["reused"], made["amount_due_cents"], made["emails"]) == (
        "https://checkout.stripe.test/c/pay/cs_test_2",
        False,
        4000,
        emails_queued(1),
    )
    assert replayed == made
    assert standin.requests[1].params["line_items"][0]["price_data"]["unit_amount"] == "4000"
    assert [link[1] for link in await links(alice)] == [9000, 4000]
    async with alice.db.transaction() as session:
        audited = (await session.execute(select(AuditEntry.tool, AuditEntry.outcome).order_by(AuditEntry.id))).all()
    assert audited[-2:] == [("create_payment_link", "ok"), ("create_payment_link", "ok")]


async def test_create_payment_link_refuses_a_paid_order_and_says_what_to_do(alice: Tenant, standin: StandIn) -> None:
    async with linked(alice, standin) as c:
        order = await pending_order(c)
        await c.ok("approve_order", order_id=order["id"])
        await c.ok("record_order_payment", order_id=order["id"], method="cash")
        refusal = await c.refused("create_payment_link", 409, order_id=order["id"])
    assert refusal.startswith(
        f"Order {order['id']} is complete, so it cannot be sent a payment link; only a payment_pending order can."
    )


async def test_when_stripe_refuses_the_approval_stands_and_says_how_to_retry(alice: Tenant, standin: StandIn) -> None:
    standin.failing = True
    async with linked(alice, standin) as c:
        order = await pending_order(c)
        approved = await c.ok("approve_order", order_id=order["id"])
        refusal = await c.refused("create_payment_link", 409, order_id=order["id"], idempotency_key="retry-me")
        standin.failing = False
        retried = await c.ok("create_payment_link", order_id=order["id"], idempotency_key="retry-me")
    assert retried["payment_url"] == "https://checkout.stripe.test/c/pay/cs_test_1"
    assert approved["status"] == "payment_pending" and "payment_url" not in approved
    assert approved["payment_link_note"] == (
        "Stripe could not make the payment link (Your account cannot take payments.). The order is approved and its "
        "email asks the vendor to pay; create_payment_link tries again."
    )
    assert refusal == (
        "Stripe could not make the payment link (Your account cannot take payments.); nothing was emailed. Try "
        "create_payment_link again in a minute."
    )
    [email] = [e for e in await outbox(alice) if e["kind"] == "order_approved"]
    assert "Pay online" not in email["body"]
    assert [e["kind"] for e in await outbox(alice)].count("payment_link") == 1  # the retry's


async def test_a_paid_checkout_delivered_twice_records_one_payment_and_completes_the_order(
    alice: Tenant, standin: StandIn
) -> None:
    async with linked(alice, standin) as c:
        order = await pending_order(c)
        await c.ok("approve_order", order_id=order["id"])
    payload = paid_event(session_of(standin))
    assert await deliver(alice, payload) == ("recorded", 1)
    assert await deliver(alice, payload) == ("already recorded", 0)
    async with alice.client() as c:
        paid = await c.ok("get_order", order_id=order["id"])
    assert (paid["status"], paid["amount_due_cents"], paid["amount_paid_cents"]) == ("complete", 0, 9000)
    [row] = await ledger(alice)
    assert row[:5] == (order["id"], "payment", 9000, "online", "pi_cs_test_1")
    assert [e["kind"] for e in await outbox(alice)].count("payment_received") == 1
    async with alice.db.transaction() as session:
        audited = (
            await session.execute(
                select(AuditEntry.tool, AuditEntry.token_name, AuditEntry.token_id).order_by(AuditEntry.id.desc())
            )
        ).first()
    assert tuple(audited) == ("stripe_payment", "Stripe", None)  # type: ignore[arg-type]


async def test_two_deliveries_racing_record_one_payment(alice: Tenant, standin: StandIn) -> None:
    async with linked(alice, standin) as c:
        order = await pending_order(c)
        await c.ok("approve_order", order_id=order["id"])
    payloads = [paid_event(session_of(standin), event_id=f"evt_{n}") for n in range(2)]
    payloads.append(
        paid_event(session_of(standin), event_id="evt_late", kind="checkout.session.async_payment_succeeded")
    )
    said: list[tuple[str, int]] = []

    async def one(payload: str) -> None:
        said.append(await deliver(alice, payload))

    async with anyio.create_task_group() as tasks:
        for payload in payloads:
            tasks.start_soon(one, payload)
    assert sorted(said) == [("already recorded", 0), ("already recorded", 0), ("recorded", 1)]
    assert len(await ledger(alice)) == 1
    async with alice.db.transaction() as session:
        assert len((await session.execute(select(StripePayment))).all()) == 1


async def test_a_delivery_that_finds_its_session_taken_at_the_insert_records_nothing(
    alice: Tenant, bob: Tenant, standin: StandIn
) -> None:
    """What the loser of two racing deliveries meets: no row when it looked, the unique session id when it
    inserts (here taken under another organisation, which the look does not see)."""
    async with linked(alice, standin) as c:
        order = await pending_order(c)
        await c.ok("approve_order", order_id=order["id"])
    async with alice.db.transaction(write=True) as session:
        session.add(StripePayment(organization_id=bob.org_id, session_id="cs_test_1", event_id="evt_0"))
    assert await deliver(alice, paid_event(session_of(standin))) == ("already recorded", 0)
    assert await ledger(alice) == []
    async with alice.client() as c:
        assert (await c.ok("get_order", order_id=order["id"]))["status"] == "payment_pending"


async def test_a_checkout_naming_another_organisations_order_records_nothing(
    alice: Tenant, bob: Tenant, standin: StandIn
) -> None:
    async with linked(bob, standin) as c:
        bobs = await pending_order(c)
        await c.ok("approve_order", order_id=bobs["id"])
    async with linked(alice, standin) as c:
        await pending_order(c, fee="20")  # alice's own order, with an id of its own
    forged = paid_event(
        session_of(standin), metadata={"organization_id": str(alice.org_id), "order_id": str(bobs["id"])}
    )
    assert await deliver(alice, forged) == ("ignored: unknown order", 0)
    assert await ledger(alice) == []


async def test_events_that_are_not_a_paid_checkout_are_ignored(alice: Tenant, standin: StandIn) -> None:
    async with linked(alice, standin) as c:
        order = await pending_order(c)
        await c.ok("approve_order", order_id=order["id"])
    session = session_of(standin)
    unpaid = paid_event(session, payment_status="unpaid")
    other = paid_event(session, kind="customer.created")
    assert await deliver(alice, unpaid) == ("ignored checkout.session.completed: not paid yet", 0)
    assert await deliver(alice, other) == ("ignored customer.created", 0)
    assert await ledger(alice) == []
