"""Invoices and receipts: numbered per organisation with no repeats and no gaps, rendered as PDFs a treasurer can
file (read back here with pypdf), readable as resources only by their own organisation, and the receipt sent
with the payment-received email."""

from __future__ import annotations

import base64
import io
from typing import Any

import anyio
import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, INVALID_REQUEST, BlobResourceContents
from pypdf import PdfReader
from sqlalchemy import select

from market_mcp.auth import OrgContext
from market_mcp.db import Database
from market_mcp.db.tables import Email, Organization, Payment
from market_mcp.services import numbering, organizations
from market_mcp.services.invoices import rate_words, tax_included
from tests.factories import Caller, Tenant, today
from tests.tools.test_orders import market_with_dates, order_of, rosa
from tests.tools.test_payments import approved

PDF = "application/pdf"


async def invoice_details(tenant: Tenant, **details: str) -> None:
    async with tenant.db.transaction(write=True) as session:
        await organizations.set_invoice_details(session, tenant.slug, **details)


async def pdf_at(c: Caller, uri: str) -> str:
    """The text of the PDF at `uri`, after checking it comes as one application/pdf blob."""
    result = await c.client.read_resource(uri)
    [content] = result.contents
    assert isinstance(content, BlobResourceContents)
    assert (str(content.uri), content.mime_type) == (uri, PDF)
    data = base64.b64decode(content.blob)
    assert data.startswith(b"%PDF-") and len(data) < 20_000
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def refusal(c: Caller, uri: str) -> MCPError:
    with pytest.raises(MCPError) as refused:
        await c.client.read_resource(uri)
    return refused.value


def test_tax_in_a_tax_inclusive_amount_is_rate_over_100_plus_rate_to_the_cent() -> None:
    assert [tax_included(cents, 1000) for cents in (9000, 5000, 4000, 1, 0)] == [818, 455, 364, 0, 0]
    assert tax_included(10_000, 2000) == 1667  # 20% VAT: 100.00 / 6
    assert tax_included(1075, 750) == 75  # 7.5%
    assert [rate_words(p) for p in (1000, 750, 810, 2000)] == ["10%", "7.5%", "8.1%", "20%"]


async def test_an_approved_orders_invoice_is_a_tax_invoice_a_treasurer_can_file(alice: Tenant) -> None:
    await invoice_details(
        alice, legal_name="Alice Markets Pty Ltd", tax_number="51 824 753 556", tax_rate="10", tax_label="GST"
    )
    async with alice.client() as c:
        _, order = await approved(c)  # Rosa's, two dates at $45
        paid = await c.ok("record_order_payment", order_id=order["id"], method="cash", amount="50", reference="R-1")
        text = await pdf_at(c, paid["invoice_pdf"])
    assert (order["invoice_number"], order["invoice_pdf"]) == (1, f"market-mcp://orders/{order['id']}/invoice.pdf")
    for line in (
        "Tax invoice",
        "INV-0001",
        "Alice Markets Pty Ltd",
        "Trading as Alice Markets",
        "ABN: 51 824 753 556",
        "Rosa's Bakery",
        "Rosa Diaz",
        f"Order {order['id']}",
        "Total (including GST) $90.00",
        "GST included at 10% $8.18",
        "Amount paid -$50.00",
        "Amount due $40.00",
        "received, cash, ref R-1 (receipt RCT-0001) $50.00",
        "Please pay $40.00 before market day, quoting INV-0001.",
    ):
        assert line in text, (line, text)
    assert text.count("Stall at Riverside, Saturday") == 2


async def test_without_invoice_details_it_is_an_invoice_under_the_organisations_name_with_no_tax(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        _, order = await approved(c)
        text = await pdf_at(c, order["invoice_pdf"])
    assert text.splitlines()[0] == "Invoice INV-0001"
    assert "Alice Markets" in text and "Total $90.00" in text and "Amount due $90.00" in text
    assert "GST" not in text and "ABN" not in text and "Tax invoice" not in text


async def test_invoice_numbers_follow_on_in_each_organisation_and_an_order_keeps_its_own(
    alice: Tenant, bob: Tenant
) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=3)
        vendor = await rosa(c, s.market_id)
        pending = [await order_of(c, vendor, [day]) for day in s.date_ids]
        assert [p["invoice_number"] for p in pending] == [None, None, None]
        assert "invoice_pdf" not in pending[0]
        numbers = [(await c.ok("approve_order", order_id=p["id"]))["invoice_number"] for p in reversed(pending)]
        await c.ok("modify_order", order_id=pending[0]["id"])  # back to pending, and approved again
        again = await c.ok("approve_order", order_id=pending[0]["id"])
    async with bob.client() as c:
        _, theirs = await approved(c)
    assert numbers == [1, 2, 3]
    assert again["invoice_number"] == 3
    assert theirs["invoice_number"] == 1
    async with alice.db.transaction() as session:
        issued = (await session.execute(select(Organization.invoices_issued).order_by(Organization.id))).all()
    assert [tuple(row) for row in issued] == [(3,), (1,)]


async def test_a_pending_order_has_no_invoice_yet_and_says_how_it_gets_one(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        order = await order_of(c, await rosa(c, s.market_id), s.date_ids[:1])
        error = await refusal(c, f"market-mcp://orders/{order['id']}/invoice.pdf")
    assert (error.code, error.data) == (
        INVALID_REQUEST,
        {"uri": f"market-mcp://orders/{order['id']}/invoice.pdf", "code": 409},
    )
    assert error.message == (
        f"Order {order['id']} has no invoice: it is pending and was never approved. An order is invoiced when "
        "approve_order approves it."
    )


async def test_each_payment_gets_the_next_receipt_which_says_what_was_still_due_then(alice: Tenant) -> None:
    await invoice_details(alice, legal_name="Alice Markets Pty Ltd", tax_number="51 824 753 556", tax_rate="10")
    async with alice.client() as c:
        _, order = await approved(c)
        first = await c.ok("record_order_payment", order_id=order["id"], method="cash", amount="50", reference="R-1")
        [line] = first["payments"]
        before = await pdf_at(c, line["receipt_pdf"])
        rest = await c.ok("record_order_payment", order_id=order["id"], method="card")
        after = await pdf_at(c, line["receipt_pdf"])
        second = await pdf_at(c, rest["payments"][1]["receipt_pdf"])
        listed = (await c.ok("list_payments", order_id=order["id"]))["items"]
    assert [(p["receipt_number"], p["receipt_pdf"]) for p in rest["payments"]] == [
        (1, f"market-mcp://payments/{p['id']}/receipt.pdf") for p in rest["payments"][:1]
    ] + [(2, f"market-mcp://payments/{rest['payments'][1]['id']}/receipt.pdf")]
    assert [p["receipt_number"] for p in listed] == [2, 1]
    assert before == after  # a receipt is what was true when the money came in
    for line_ in (
        "Receipt",
        "RCT-0001",
        "INV-0001",
        "Alice Markets Pty Ltd",
        "Rosa's Bakery",
        "Method cash",
        "Reference R-1",
        "Amount received $50.00",
        "GST included at 10% $4.55",
        f"Still due on order {order['id']} $40.00",
    ):
        assert line_ in before, (line_, before)
    assert f"Received {today():%A} {today().day} {today():%B %Y}" in before
    assert "RCT-0002" in second and "Amount received $40.00" in second
    assert f"Still due on order {order['id']} $0.00" in second


async def test_a_refund_is_not_money_received_and_has_no_receipt(alice: Tenant) -> None:
    async with alice.client() as c:
        _, order = await approved(c)
        await c.ok("record_order_payment", order_id=order["id"], method="cash")
        refund = await c.ok("refund_order_payment", order_id=order["id"], amount="20", reason="Rain", to="original")
        [part] = refund["refunded"]
        error = await refusal(c, f"market-mcp://payments/{part['payment_id']}/receipt.pdf")
        ledger = (await c.ok("get_order", order_id=order["id"]))["payments"]
    assert "receipt_pdf" not in ledger[1] and "receipt_number" not in ledger[1]
    assert error.message == (
        f"Payment {part['payment_id']} is a refund, not money received, so it has no receipt; list_payments with "
        "kind payment lists those that do."
    )


async def test_bob_reads_neither_alices_invoice_nor_her_receipt_and_hears_what_a_missing_one_sounds_like(
    alice: Tenant, bob: Tenant
) -> None:
    async with alice.client() as c:
        _, order = await approved(c)
        paid = await c.ok("record_order_payment", order_id=order["id"], method="cash")
    payment_id = paid["payments"][0]["id"]
    async with bob.client() as c:
        for uri, tool, arguments, missing in (
            (paid["invoice_pdf"], "get_order", {"order_id": order["id"]}, "market-mcp://orders/9999/invoice.pdf"),
            (paid["payments"][0]["receipt_pdf"], None, None, "market-mcp://payments/9999/receipt.pdf"),
        ):
            error = await refusal(c, uri)
            nothing = await refusal(c, missing)
            assert (error.code, error.data) == (INVALID_PARAMS, {"uri": uri, "code": 404})
            if tool:
                assert error.message == await c.refused(tool, 404, **arguments) == f"Order {order['id']} not found."
            else:
                assert error.message == f"Payment {payment_id} not found."
            assert nothing.message == error.message.replace(str(order["id"] if tool else payment_id), "9999")


async def test_the_payment_received_email_carries_its_receipt_and_list_emails_shows_it(alice: Tenant) -> None:
    async with alice.client() as c:
        _, order = await approved(c)
        paid = await c.ok("record_order_payment", order_id=order["id"], method="cash")
        emails = (await c.ok("list_emails", kind="payment_received", detail="full"))["items"]
        compact = (await c.ok("list_emails"))["items"]
    payment_id = paid["payments"][0]["id"]
    assert [e["attachment"] for e in emails] == [f"receipt:{payment_id}"]
    assert [sorted(e) for e in compact] == [sorted(compact[0])] * 2 and "attachment" not in compact[0]  # full only
    assert "Your receipt RCT-0001 is attached." in emails[0]["body"]
    async with alice.db.transaction() as session:
        kinds = (await session.execute(select(Email.kind, Email.attachment).order_by(Email.id))).all()
    assert [tuple(k) for k in kinds if k[1]] == [("payment_received", f"receipt:{payment_id}")]  # only that one


def org_of(session: Any, tenant: Tenant) -> OrgContext:
    return OrgContext(
        session=session,
        organization_id=tenant.org_id,
        organization_name=tenant.slug,
        organization_slug=tenant.slug,
        currency="AUD",
        timezone="Australia/Melbourne",
        token_id=tenant.token_id,
        token_name="test",
        scope="write",
    )


async def test_concurrent_transactions_never_take_the_same_number_and_one_rolled_back_leaves_no_gap(
    alice: Tenant, db: Database
) -> None:
    taken: list[int] = []

    async def take(n: int) -> None:
        try:
            async with db.transaction(write=True) as session:
                number = await numbering.next_receipt_number(org_of(session, alice))
                await anyio.sleep(0.01)  # hold the row while the others queue behind it
                if n == 3:
                    raise RuntimeError("this one rolls back")
                taken.append(number)
        except RuntimeError:
            pass

    async with anyio.create_task_group() as tasks:
        for n in range(12):
            tasks.start_soon(take, n)
    assert sorted(taken) == list(range(1, 12))
    async with db.transaction() as session:
        assert (await session.get(Organization, alice.org_id)).receipts_issued == 11  # type: ignore[union-attr]


async def test_payments_recorded_at_once_through_the_tools_get_receipts_one_to_n(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=6)
        vendor = await rosa(c, s.market_id)
        orders = [await order_of(c, vendor, [day]) for day in s.date_ids]
        for o in orders:
            await c.ok("approve_order", order_id=o["id"])

    async def pay(order_id: int) -> None:
        async with alice.client() as mine:
            await mine.ok("record_order_payment", order_id=order_id, method="card")

    async with anyio.create_task_group() as tasks:
        for o in orders:
            tasks.start_soon(pay, o["id"])
    async with alice.db.transaction() as session:
        numbers = (await session.execute(select(Payment.receipt_number).order_by(Payment.receipt_number))).scalars()
        assert list(numbers) == [1, 2, 3, 4, 5, 6]


async def test_the_demos_approved_orders_and_payments_are_numbered_and_render(alice: Tenant) -> None:
    from market_mcp.db.tables import Order
    from market_mcp.demo import populate_demo

    async with alice.db.transaction(write=True) as session:
        await populate_demo(session, alice.org_id)
    async with alice.db.transaction() as session:
        invoiced = (
            await session.execute(
                select(Order.id, Order.invoice_number, Order.approved_at)
                .where(Order.approved_at.is_not(None))  # type: ignore[union-attr]
                .order_by(Order.invoice_number)
            )
        ).all()
        receipts = (
            await session.execute(
                select(Payment.id, Payment.receipt_number, Payment.created_at).order_by(Payment.receipt_number)
            )
        ).all()
        org = await session.get(Organization, alice.org_id)
    # Numbered 1 to N in the order they were approved and paid
    assert [n for _, n, _ in invoiced] == list(range(1, len(invoiced) + 1))
    assert [at for _, _, at in invoiced] == sorted(at for _, _, at in invoiced)
    assert [n for _, n, _ in receipts] == list(range(1, len(receipts) + 1))
    assert [at for _, _, at in receipts] == sorted(at for _, _, at in receipts)
    assert (org.invoices_issued, org.receipts_issued) == (len(invoiced), len(receipts))  # type: ignore[union-attr]
    async with alice.client() as c:
        assert "INV-0001" in await pdf_at(c, f"market-mcp://orders/{invoiced[0][0]}/invoice.pdf")
        assert "RCT-0001" in await pdf_at(c, f"market-mcp://payments/{receipts[0][0]}/receipt.pdf")
