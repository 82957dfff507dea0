"""The payments ledger: part payments, overpayment, refunds (to the methods paid, or as credit), list_payments,
and what rejecting or cancelling paid work does with the money. Through the MCP client, as an organiser's
assistant calls them; the ledger and the outbox read back from the store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from market_mcp.db.tables import Credit, Payment
from tests.factories import Caller, Tenant, today
from tests.tools.test_orders import market_with_dates, order_of, outbox, rosa, snapshot


async def approved(c: Caller, dates: int = 2, fee: str = "45") -> tuple[int, dict[str, Any]]:
    """Rosa's approved order for `dates` dates at `fee` each: (vendor id, the order)."""
    s = await market_with_dates(c, fee=fee, dates=dates)
    vendor = await rosa(c, s.market_id)
    order = await order_of(c, vendor, s.date_ids)
    return vendor, await c.ok("approve_order", order_id=order["id"])


async def ledger(tenant: Tenant) -> list[tuple[Any, ...]]:
    async with tenant.db.transaction() as session:
        rows = (await session.execute(select(Payment).order_by(Payment.id))).scalars().all()
    return [(p.order_id, p.kind, p.amount_cents, p.method, p.reference, p.reason, p.received_on) for p in rows]


def money(order: dict[str, Any]) -> tuple[str, int, int, int, int]:
    return (
        order["status"],
        order["amount_paid_cents"],
        order["amount_refunded_cents"],
        order["amount_due_cents"],
        len(order["payments"]),
    )


async def test_part_of_the_fee_leaves_the_rest_due_and_the_rest_completes_the_order(alice: Tenant) -> None:
    async with alice.client() as c:
        _, order = await approved(c)
        first = await c.ok("record_order_payment", order_id=order["id"], method="cash", amount="50", reference="R-1")
        rest = await c.ok("record_order_payment", order_id=order["id"], method="card")
    assert money(first) == ("payment_pending", 5000, 0, 4000, 1)
    assert first["paid_at"] is None
    assert money(rest) == ("complete", 9000, 0, 0, 2)
    assert rest["paid_at"] is not None
    assert [(p["kind"], p["amount_cents"], p["method"]) for p in rest["payments"]] == [
        ("payment", 5000, "cash"),
        ("payment", 4000, "card"),
    ]
    assert await ledger(alice) == [
        (order["id"], "payment", 5000, "cash", "R-1", None, today()),
        (order["id"], "payment", 4000, "card", None, None, today()),
    ]
    receipts = [e["body"] for e in await outbox(alice) if e["kind"] == "payment_received"]
    assert "we've received $50.00 (cash)" in receipts[0]
    assert "$40.00 is still due on it, for:" in receipts[0]
    assert "we've received $40.00 (card)" in receipts[1]
    assert "Rosa's Bakery is all set for:" in receipts[1]


async def test_a_payment_received_earlier_keeps_its_day_and_a_future_day_is_refused(alice: Tenant) -> None:
    async with alice.client() as c:
        _, order = await approved(c)
        before = await snapshot(alice)
        tomorrow = today() + timedelta(days=1)
        message = await c.refused(
            "record_order_payment", 422, order_id=order["id"], method="cheque", received_on=str(tomorrow)
        )
        assert await snapshot(alice) == before
        last_week = today() - timedelta(days=7)
        paid = await c.ok("record_order_payment", order_id=order["id"], method="cheque", received_on=str(last_week))
    assert message == (f"received_on {tomorrow} is after today ({today()}); record a payment once it has arrived.")
    assert paid["payments"][0]["received_on"] == str(last_week)
    assert paid["status"] == "complete"


async def test_paying_more_than_is_due_completes_the_order_and_credits_the_difference(alice: Tenant) -> None:
    async with alice.client() as c:
        vendor, order = await approved(c)
        paid = await c.ok("record_order_payment", order_id=order["id"], method="bank_transfer", amount="100")
        balance = await c.ok("get_vendor", vendor_id=vendor)
    assert money(paid) == ("complete", 9000, 0, 0, 2)
    excess = paid["payments"][1]
    assert (excess["kind"], excess["amount_cents"], excess["method"]) == ("excess", 1000, "credit")
    assert excess["credit_id"] is not None
    assert "difference moved to credit" in excess["reason"]
    assert balance["credit_balance_cents"] == 1000
    async with alice.db.transaction() as session:
        credit = await session.get(Credit, excess["credit_id"])
    assert credit is not None and (credit.vendor_id, credit.remaining_cents) == (vendor, 1000)
    receipt = [e["body"] for e in await outbox(alice) if e["kind"] == "payment_received"][0]
    assert "That is $10.00 more than was due: it is credit in your account." in receipt


async def test_a_refund_is_previewed_then_given_back_in_cash_without_the_order_owing_it_again(alice: Tenant) -> None:
    async with alice.client() as c:
        _, order = await approved(c)
        await c.ok("record_order_payment", order_id=order["id"], method="cash")
        before = await snapshot(alice), await ledger(alice)
        preview = await c.ok(
            "refund_order_payment",
            order_id=order["id"],
            amount="20",
            reason="No power on the day",
            to="original",
            dry_run=True,
        )
        assert (await snapshot(alice), await ledger(alice)) == before
        done = await c.ok(
            "refund_order_payment", order_id=order["id"], amount="20", reason="No power on the day", to="original"
        )
        after = await c.ok("get_order", order_id=order["id"])
        log = await c.ok("list_audit_log", detail="full")
    assert preview["dry_run"] is True
    assert preview["note"].startswith("Preview only: nothing was refunded")
    assert (preview["would_refund_cents"], preview["would_refund"]) == (
        2000,
        [{"method": "cash", "amount_cents": 2000}],
    )
    assert not {"refunded_cents", "refunded", "refundable_cents"} & set(preview)
    assert done["dry_run"] is False and "note" not in done and "would_refund_cents" not in done
    assert (done["refunded_cents"], done["refundable_cents"]) == (2000, 7000)
    assert [(r["method"], r["amount_cents"]) for r in done["refunded"]] == [("cash", 2000)]
    assert done["emails"]["queued"] == 1
    assert money(after) == ("complete", 9000, 2000, 0, 2)
    assert (await ledger(alice))[-1] == (order["id"], "refund", 2000, "cash", None, "No power on the day", today())
    refund_email = (await outbox(alice))[-1]
    assert refund_email["kind"] == "payment_refunded"
    assert refund_email["subject"] == f"Refund: $20.00 on order {order['id']}"
    assert "We've refunded $20.00" in refund_email["body"] and "$20.00 by cash" in refund_email["body"]
    assert "Reason: No power on the day" in refund_email["body"]
    entry = log["items"][0]
    assert entry["tool"] == "refund_order_payment" and entry["outcome"] == "ok"
    assert f"order:{order['id']}" in entry["records"]


async def test_a_refund_to_the_original_methods_goes_back_by_the_latest_paid_first(alice: Tenant) -> None:
    async with alice.client() as c:
        _, order = await approved(c)
        await c.ok("record_order_payment", order_id=order["id"], method="cash", amount="30")
        await c.ok("record_order_payment", order_id=order["id"], method="card", amount="60")
        done = await c.ok(
            "refund_order_payment", order_id=order["id"], amount="75", reason="Market rained out", to="original"
        )
    assert [(r["method"], r["amount_cents"]) for r in done["refunded"]] == [("card", 6000), ("cash", 1500)]
    assert done["refundable_cents"] == 1500


async def test_50_then_the_rest_of_90_and_20_refunded_in_cash_whatever_it_was_paid_by(alice: Tenant) -> None:
    async with alice.client() as c:
        _, order = await approved(c)
        await c.ok("record_order_payment", order_id=order["id"], method="bank_transfer", amount="50")
        await c.ok("record_order_payment", order_id=order["id"], method="card")
        done = await c.ok(
            "refund_order_payment", order_id=order["id"], amount="20", reason="No power all morning", to="cash"
        )
        after = await c.ok("get_order", order_id=order["id"])
        cash = await c.ok("list_payments", order_id=order["id"], method="cash")
    assert [(r["method"], r["amount_cents"]) for r in done["refunded"]] == [("cash", 2000)]
    assert money(after) == ("complete", 9000, 2000, 0, 3)
    assert [(p["kind"], p["amount_cents"], p["reason"]) for p in cash["items"]] == [
        ("refund", 2000, "No power all morning")
    ]
    (email,) = [e for e in await outbox(alice) if e["kind"] == "payment_refunded"]
    assert "We've refunded $20.00 on order" in email["body"] and ": $20.00 by cash." in email["body"]
    assert "Reason: No power all morning" in email["body"]


async def test_a_refund_as_credit_opens_a_credit_for_the_vendor(alice: Tenant) -> None:
    async with alice.client() as c:
        vendor, order = await approved(c)
        await c.ok("record_order_payment", order_id=order["id"], method="card")
        done = await c.ok(
            "refund_order_payment", order_id=order["id"], amount="45", reason="Date cancelled", to="credit"
        )
        balance = await c.ok("get_vendor", vendor_id=vendor)
    assert done["credit_id"] is not None
    assert [(r["method"], r["amount_cents"]) for r in done["refunded"]] == [("credit", 4500)]
    assert balance["credit_balance_cents"] == 4500
    assert "as credit to your account" in (await outbox(alice))[-1]["body"]


async def test_a_refund_never_gives_back_more_than_was_paid(alice: Tenant) -> None:
    async with alice.client() as c:
        _, order = await approved(c)
        nothing = await c.refused(
            "refund_order_payment", 409, order_id=order["id"], amount="5", reason="x", to="original"
        )
        await c.ok("record_order_payment", order_id=order["id"], method="cash", amount="50")
        await c.ok("refund_order_payment", order_id=order["id"], amount="20", reason="x", to="original")
        before = await snapshot(alice), await ledger(alice)
        too_much = await c.refused(
            "refund_order_payment", 409, order_id=order["id"], amount="30.01", reason="x", to="original"
        )
        assert (await snapshot(alice), await ledger(alice)) == before
    assert nothing == (
        f"Nothing has been paid on order {order['id']} that is not already given back, so there is nothing to "
        "refund; record_order_payment records money received."
    )
    assert too_much == (
        f"Order {order['id']} can be refunded at most $30.00 (paid $50.00, refunded $20.00 already); call again "
        "with an amount up to that."
    )


async def test_rejecting_a_part_paid_order_moves_what_was_paid_to_credit_and_says_so(alice: Tenant) -> None:
    async with alice.client() as c:
        vendor, order = await approved(c)
        await c.ok("record_order_payment", order_id=order["id"], method="cash", amount="50")
        rejected = await c.ok("reject_order", order_id=order["id"], reason="Stall double-booked")
        balance = await c.ok("get_vendor", vendor_id=vendor)
    assert (rejected["status"], rejected["amount_paid_cents"], rejected["amount_due_cents"]) == ("rejected", 0, 0)
    assert [(p["kind"], p["amount_cents"], p["method"]) for p in rejected["payments"]] == [
        ("payment", 5000, "cash"),
        ("excess", 5000, "credit"),
    ]
    assert balance["credit_balance_cents"] == 5000
    email = (await outbox(alice))[-1]
    assert email["kind"] == "order_rejected"
    assert "The $50.00 you paid on it is back in your account as credit." in email["body"]


async def test_cancelling_a_date_of_a_part_paid_order_credits_what_was_paid_beyond_the_new_total(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        vendor, order = await approved(c)
        await c.ok("record_order_payment", order_id=order["id"], method="cash", amount="60")
        booking = order["bookings"][1]["booking_id"]
        await c.ok("cancel_booking", booking_id=booking, reason="Vendor unwell")
        after = await c.ok("get_order", order_id=order["id"])
        balance = await c.ok("get_vendor", vendor_id=vendor)
    # The order now charges $45 and $60 was paid: it is complete, and the $15 beyond it is credit.
    assert money(after) == ("complete", 4500, 0, 0, 2)
    assert after["paid_at"] is not None  # paid in full now
    assert [(p["kind"], p["amount_cents"]) for p in after["payments"]] == [("payment", 6000), ("excess", 1500)]
    assert balance["credit_balance_cents"] == 1500


async def test_list_payments_filters_the_ledger_and_sees_only_the_callers_organisation(
    alice: Tenant, bob: Tenant
) -> None:
    async with alice.client() as c:
        vendor, order = await approved(c)
        await c.ok("record_order_payment", order_id=order["id"], method="cash", amount="50")
        await c.ok("record_order_payment", order_id=order["id"], method="card")
        await c.ok("refund_order_payment", order_id=order["id"], amount="10", reason="x", to="original")
        everything = await c.ok("list_payments")
        cash = await c.ok("list_payments", method="cash")
        refunds = await c.ok("list_payments", kind="refund")
        of_vendor = await c.ok("list_payments", vendor_id=vendor, from_date=str(today()), to_date=str(today()))
        yesterday = await c.ok("list_payments", to_date=str(today() - timedelta(days=1)))
    async with bob.client() as c:
        theirs = await c.ok("list_payments", order_id=order["id"])
        refused = await c.refused(
            "refund_order_payment", 404, order_id=order["id"], amount="1", reason="x", to="original"
        )
    assert [(p["kind"], p["amount_cents"], p["method"]) for p in everything["items"]] == [
        ("refund", 1000, "card"),
        ("payment", 4000, "card"),
        ("payment", 5000, "cash"),
    ]
    first = everything["items"][-1]
    assert (first["order_id"], first["business_name"], first["market_name"], first["currency"]) == (
        order["id"],
        "Rosa's Bakery",
        "Riverside",
        "AUD",
    )
    assert [p["amount_cents"] for p in cash["items"]] == [5000]
    assert [p["amount_cents"] for p in refunds["items"]] == [1000]
    assert of_vendor["total"] == 3
    assert yesterday["total"] == 0
    assert theirs["total"] == 0
    assert refused == f"Order {order['id']} not found."


async def test_a_refund_repeated_with_its_idempotency_key_is_given_once(alice: Tenant) -> None:
    async with alice.client() as c:
        _, order = await approved(c)
        await c.ok("record_order_payment", order_id=order["id"], method="cash")
        arguments = dict(order_id=order["id"], amount="20", reason="x", to="original", idempotency_key="refund-1")
        first = await c.ok("refund_order_payment", **arguments)
        again = await c.ok("refund_order_payment", **arguments)
    assert first == again
    assert [row[1] for row in await ledger(alice)] == ["payment", "refund"]


async def test_fetching_an_order_reads_its_payments_ledger(alice: Tenant) -> None:
    async with alice.client() as c:
        _, order = await approved(c)
        await c.ok("record_order_payment", order_id=order["id"], method="bank_transfer", amount="50", reference="EFT 9")
        await c.ok("refund_order_payment", order_id=order["id"], amount="5", reason="Short stall", to="credit")
        fetched = await c.ok("fetch", id=f"order:{order['id']}")
    lines = fetched["text"].splitlines()
    assert "Total: $90.00; credit applied: $0.00; paid: $50.00; refunded: $5.00; amount due: $40.00" in lines
    credit_id = await newest_credit(alice)
    assert lines[-3:] == [
        "Payments ledger:",
        f"- {today()}: payment of $50.00 by bank transfer, reference EFT 9",
        f"- {today()}: refund of $5.00 by credit (credit {credit_id}), reason: Short stall",
    ]


async def newest_credit(tenant: Tenant) -> int:
    async with tenant.db.transaction() as session:
        return (await session.execute(select(Credit.id).order_by(Credit.id.desc()))).scalars().first()  # type: ignore[return-value]
