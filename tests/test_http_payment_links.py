"""Payment links over `market-mcp serve --transport http`, Stripe being the local stand-in: approving an order yields
a payment URL, and Stripe's signed webhook (sent twice) records one payment. A real server process; the webhook
posted as Stripe posts it, signed with the library's own signing."""

from __future__ import annotations

import json

import httpx2
from sqlalchemy import select

from market_mcp.db.tables import Payment
from tests.factories import Tenant
from tests.stripe_standin import API_KEY, WEBHOOK_SECRET, paid_event, signed, stripe_standin
from tests.test_http import http_server, sdk_client
from tests.tools.test_orders import market_with_dates, order_of, outbox, rosa


def configured(base: str) -> dict[str, str]:
    return {
        "MARKET_MCP_STRIPE_API_KEY": API_KEY,
        "MARKET_MCP_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MARKET_MCP_STRIPE_API_BASE": base,
    }


async def payments(tenant: Tenant) -> list[tuple[int, str, int, str]]:
    async with tenant.db.transaction() as session:
        rows = (await session.execute(select(Payment).order_by(Payment.id))).scalars().all()
    return [(p.order_id, p.kind, p.amount_cents, p.method) for p in rows]


async def test_approving_yields_a_payment_url_and_the_webhook_sent_twice_records_one_payment(alice: Tenant) -> None:
    with stripe_standin() as standin, http_server(alice.db, "--stateless", **configured(standin.url)) as url:
        async with sdk_client(url, alice.token) as c:
            s = await market_with_dates(c, dates=2)
            order = await order_of(c, await rosa(c, s.market_id), s.date_ids)
            approved = await c.ok("approve_order", order_id=order["id"])
            link = "https://checkout.stripe.test/c/pay/cs_test_1"
            assert approved["payment_url"] == link
            [asked] = standin.requests
            assert asked.params["metadata"] == {"organization_id": str(alice.org_id), "order_id": str(order["id"])}
            [email] = [e for e in await outbox(alice) if e["kind"] == "order_approved"]
            assert f"Pay online: {link} " in email["body"]
            payload = paid_event(standin._sessions[asked.idempotency_key])  # type: ignore[index]
            answers = [
                httpx2.post(f"{url}/webhooks/stripe", content=payload, headers=signed(payload)) for _ in range(2)
            ]
            paid = await c.ok("get_order", order_id=order["id"])
    assert [(a.status_code, a.json()) for a in answers] == [
        (200, {"received": True, "result": "recorded"}),
        (200, {"received": True, "result": "already recorded"}),
    ]
    assert (paid["status"], paid["amount_due_cents"]) == ("complete", 0)
    assert await payments(alice) == [(order["id"], "payment", 9000, "online")]
    assert [e["kind"] for e in await outbox(alice)].count("payment_received") == 1


async def test_a_bad_signature_is_400_and_another_organisations_order_is_200_and_neither_records(
    alice: Tenant, bob: Tenant
) -> None:
    with stripe_standin() as standin, http_server(alice.db, "--stateless", **configured(standin.url)) as url:
        async with sdk_client(url, bob.token) as c:
            s = await market_with_dates(c, dates=1)
            bobs = await order_of(c, await rosa(c, s.market_id), s.date_ids)
            await c.ok("approve_order", order_id=bobs["id"])
        session = standin._sessions[standin.requests[0].idempotency_key]  # type: ignore[index]
        genuine = paid_event(session)
        forged = paid_event(session, metadata={"organization_id": str(alice.org_id), "order_id": str(bobs["id"])})
        unsigned = httpx2.post(f"{url}/webhooks/stripe", content=genuine, headers={"stripe-signature": "t=1,v1=00"})
        wrong_secret = httpx2.post(
            f"{url}/webhooks/stripe", content=genuine, headers=signed(genuine, secret="whsec_someone_else")
        )
        elsewhere = httpx2.post(f"{url}/webhooks/stripe", content=forged, headers=signed(forged))
    assert [unsigned.status_code, wrong_secret.status_code] == [400, 400]
    assert unsigned.json() == {"error": "The Stripe-Signature header does not verify."}
    assert (elsewhere.status_code, elsewhere.json()) == (200, {"received": True, "result": "ignored: unknown order"})
    assert await payments(alice) == [] and await payments(bob) == []


async def test_without_the_settings_there_is_no_webhook(alice: Tenant) -> None:
    payload = json.dumps({"id": "evt_1", "type": "checkout.session.completed"})
    with http_server(alice.db, "--stateless") as url:
        answer = httpx2.post(f"{url}/webhooks/stripe", content=payload, headers=signed(payload))
    assert answer.status_code == 404
