"""get_money_report and export_csv, through the MCP client: the figures of a worked example to the cent, the
identity billed − paid − credited − written off = outstanding on generated data, the aged debt, the CSV (as an
embedded resource and at its address), and CSV injection."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mcp import Client
from sqlalchemy import func, select, update

from market_mcp.db import Database
from market_mcp.db.tables import CreditTransaction, Order, Payment
from tests.factories import Caller, Tenant, make_tenant, today
from tests.test_stdio import _stdio
from tests.tools.test_bookings import booking_ids
from tests.tools.test_orders import approve_application, approved_vendor, credit, market_with_dates, order_of

FIGURES = ("billed_cents", "paid_cents", "refunded_cents", "credited_cents", "written_off_cents", "outstanding_cents")


def figures(row: dict[str, Any]) -> tuple[int, ...]:
    return tuple(row[name] for name in FIGURES)


async def worked_example(c: Caller) -> dict[str, int]:
    """Riverside at $45 a date, three dates:
    - Rosa: two dates ($90), $10 of credit applied, $50 paid in cash then $20 of it refunded in cash: $30 due;
    - Tom: two dates ($90) approved, one date cancelled unpaid ($45 released): $45 due;
    - Ana: one date ($45) approved, then rejected: $45 written off;
    - Lee: one date, pending (not billed)."""
    s = await market_with_dates(c, dates=3)
    rosa = await approved_vendor(c, s.market_id, "Rosa's Bakery")
    tom = await approved_vendor(c, s.market_id, "Tom's Honey")
    ana = await approved_vendor(c, s.market_id, "Ana's Olives")
    lee = await approved_vendor(c, s.market_id, "Lee's Tea")
    await credit(c, rosa, "10", None)
    r = await order_of(c, rosa, s.date_ids[:2])
    await c.ok("approve_order", order_id=r["id"])
    await c.ok("record_order_payment", order_id=r["id"], method="cash", amount="50", reference="R-1")
    await c.ok("refund_order_payment", order_id=r["id"], amount="20", reason="Smaller stall", to="original")
    t = await c.ok("approve_order", order_id=(await order_of(c, tom, s.date_ids[:2]))["id"])
    await c.ok("cancel_booking", booking_id=booking_ids(t)[1], reason="Unwell", credit_vendor=False)
    a = await c.ok("approve_order", order_id=(await order_of(c, ana, s.date_ids[2:]))["id"])
    await c.ok("reject_order", order_id=a["id"], reason="Duplicate")
    await order_of(c, lee, s.date_ids[2:])
    return {"market": s.market_id, "rosa": rosa, "tom": tom, "ana": ana, "lee": lee}


async def test_the_report_of_a_worked_example_is_right_to_the_cent(alice: Tenant) -> None:
    async with alice.client() as c:
        ids = await worked_example(c)
        report = await c.ok("get_money_report")
    # billed 90 + 90 + 45; paid 50; refunded 20; credited 10; written off 45 + 45; outstanding 30 + 45
    assert figures(report["totals"]) == (22500, 5000, 2000, 1000, 9000, 7500)
    assert report["aged"] == {"current_cents": 7500, "days_1_30_cents": 0, "days_31_60_cents": 0, "over_60_cents": 0}
    assert [(m["market_id"], figures(m)) for m in report["by_market"]] == [
        (ids["market"], (22500, 5000, 2000, 1000, 9000, 7500))
    ]
    assert [(m["month"], figures(m)) for m in report["by_month"]] == [
        (today().strftime("%Y-%m"), (22500, 5000, 2000, 1000, 9000, 7500))
    ]
    assert report["received"] == {
        "received_cents": 5000,
        "refunded_cents": 2000,
        "moved_to_credit_cents": 0,
        "by_method": [{"method": "cash", "received_cents": 5000, "refunded_cents": 2000}],
    }
    assert [(d["vendor_id"], d["outstanding_cents"], d["current_cents"], d["orders"]) for d in report["debtors"]] == [
        (ids["tom"], 4500, 4500, 1),
        (ids["rosa"], 3000, 3000, 1),
    ]
    assert report["debtors_total"] == 2
    assert report["currency"] == "AUD"
    assert report["summary"] == (
        f"Orders billed all time at all markets, as the ledgers stand on {today()}: billed $225.00, paid $50.00, "
        "credited $10.00, written off $90.00, outstanding $75.00 from 2 vendors. Money received all time: $50.00, "
        "refunded $20.00."
    )


async def set_approved(tenant: Tenant, order_id: int, days_ago: int, *, only_if_approved: bool = False) -> None:
    """As if the order had been approved `days_ago` days ago."""
    moment = datetime.now(UTC) - timedelta(days=days_ago)
    where = [Order.id == order_id] + ([Order.approved_at.is_not(None)] if only_if_approved else [])  # type: ignore[union-attr]
    async with tenant.db.transaction(write=True) as session:
        await session.execute(update(Order).where(*where).values(approved_at=moment))


async def test_outstanding_is_aged_by_days_since_billed_and_a_range_keeps_only_orders_billed_in_it(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=3)
        vendors = [await approved_vendor(c, s.market_id, f"Stall {n}") for n in range(4)]
        orders = [await c.ok("approve_order", order_id=(await order_of(c, v, s.date_ids[:1]))["id"]) for v in vendors]
        for order, days_ago in zip(orders, (0, 10, 45, 90), strict=True):
            await set_approved(alice, order["id"], days_ago)
        report = await c.ok("get_money_report", market_id=s.market_id)
        recent = await c.ok("get_money_report", from_date=str(today() - timedelta(days=20)))
    assert report["aged"] == {
        "current_cents": 4500,
        "days_1_30_cents": 4500,
        "days_31_60_cents": 4500,
        "over_60_cents": 4500,
    }
    assert recent["totals"]["outstanding_cents"] == 9000
    assert recent["period"].startswith(f"Orders billed from {today() - timedelta(days=20)}")


async def test_months_are_the_organisations_calendar_months(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=2)
        early, late = [await approved_vendor(c, s.market_id, name) for name in ("Early", "Late")]
        orders = [
            await c.ok("approve_order", order_id=(await order_of(c, v, s.date_ids[:1]))["id"]) for v in (early, late)
        ]
        async with alice.db.transaction(write=True) as session:  # 1 March in Melbourne; still February in UTC
            for order, moment in zip(orders, ("2026-02-28T13:30:00", "2026-02-28T12:30:00"), strict=True):
                at = datetime.fromisoformat(moment).replace(tzinfo=UTC)
                await session.execute(update(Order).where(Order.id == order["id"]).values(approved_at=at))
        report = await c.ok("get_money_report", from_date="2026-03-01")
        everything = await c.ok("get_money_report")
    assert [(m["month"], m["billed_cents"]) for m in everything["by_month"]] == [("2026-02", 4500), ("2026-03", 4500)]
    assert report["totals"]["billed_cents"] == 4500


@pytest.mark.parametrize("tool", ["get_money_report", "export_csv"])
async def test_a_range_that_ends_before_it_starts_is_refused_naming_both_ends(alice: Tenant, tool: str) -> None:
    kind = {"kind": "orders"} if tool == "export_csv" else {}
    async with alice.client() as c:
        message = await c.refused(tool, 422, from_date="2026-03-05", to_date="2026-03-01", **kind)
    assert message == "from_date 2026-03-05 is after to_date 2026-03-01; swap them, or give only one."


async def test_another_organisations_market_is_not_found(alice: Tenant, bob: Tenant) -> None:
    async with bob.client() as c:
        market = await c.ok("create_market", name="Bob's", default_fee="10")
    async with alice.client() as c:
        assert await c.refused("get_money_report", 404, market_id=market["id"]) == f"Market {market['id']} not found."
        assert await c.refused("export_csv", 404, kind="orders", market_id=market["id"]) == (
            f"Market {market['id']} not found."
        )


async def export(c: Caller, **arguments: Any) -> tuple[dict[str, Any], list[dict[str, str]], str]:
    result = await c.call("export_csv", **arguments)
    assert not result.is_error, result.content[0].text  # type: ignore[union-attr]
    resource = result.content[1].resource  # type: ignore[union-attr]
    assert resource.mime_type == "text/csv"
    return result.structured_content, list(csv.DictReader(io.StringIO(resource.text))), resource.text  # type: ignore[return-value]


async def test_payments_export_is_a_csv_resource_also_readable_at_its_address(alice: Tenant) -> None:
    async with alice.client() as c:
        ids = await worked_example(c)
        out, rows, text = await export(c, kind="payments", from_date=str(today()), market_id=ids["market"])
        read = await c.client.read_resource(out["uri"])
    assert out == {
        "kind": "payments",
        "rows": 2,
        "total_rows": 2,
        "capped": False,
        "uri": f"market-mcp://exports/payments.csv?from_date={today()}&market_id={ids['market']}",
        "summary": f"2 payment rows, from {today()}, market {ids['market']}.",
        "from_date": str(today()),
        "to_date": None,
        "market_id": ids["market"],
    }
    assert [(r["kind"], r["method"], r["amount"], r["vendor"], r["market"], r["reference"]) for r in rows] == [
        ("payment", "cash", "50.00", "Rosa's Bakery", "Riverside", "R-1"),
        ("refund", "cash", "20.00", "Rosa's Bakery", "Riverside", ""),
    ]
    assert rows[0]["received_on"] == str(today())
    assert read.contents[0].mime_type == "text/csv"
    assert read.contents[0].text == text  # type: ignore[union-attr]


async def test_the_orders_export_sums_to_the_report(alice: Tenant) -> None:
    async with alice.client() as c:
        await worked_example(c)
        report = await c.ok("get_money_report")
        _, rows, _ = await export(c, kind="orders")
    assert len(rows) == 4  # Lee's pending order too, with nothing billed
    sums = tuple(round(sum(float(r[name.removesuffix("_cents")]) for r in rows) * 100) for name in FIGURES)
    assert sums == figures(report["totals"])


async def test_bookings_export_lists_each_booking_by_market_date(alice: Tenant) -> None:
    async with alice.client() as c:
        await worked_example(c)
        out, rows, _ = await export(c, kind="bookings")
    assert out["rows"] == len(rows) == 6
    assert [r["market_date"] for r in rows] == sorted(r["market_date"] for r in rows)
    assert {r["status"] for r in rows} == {"confirmed", "cancelled", "rejected", "pending"}


async def test_vendor_text_that_looks_like_a_formula_is_kept_as_text(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        vendor = await approved_vendor(c, s.market_id, "=HYPERLINK(1)", email="f@example.com")
        order = await c.ok("approve_order", order_id=(await order_of(c, vendor, s.date_ids))["id"])
        await c.ok("record_order_payment", order_id=order["id"], method="card", reference="+61 400")
        _, rows, _ = await export(c, kind="payments")
    assert (rows[0]["vendor"], rows[0]["reference"]) == ("'=HYPERLINK(1)", "'+61 400")


async def test_a_capped_export_says_so_and_how_to_narrow(alice: Tenant, monkeypatch: Any) -> None:
    from market_mcp.services import reports

    monkeypatch.setattr(reports, "MAX_ROWS", 2)
    async with alice.client() as c:
        await worked_example(c)
        out, rows, _ = await export(c, kind="bookings")
    assert (out["rows"], out["total_rows"], out["capped"], len(rows)) == (2, 6, True, 2)
    assert out["summary"] == (
        "The first 2 of 6 booking rows, all time (earliest first): narrow from_date and to_date, or give "
        "market_id, for the rest."
    )


async def test_over_stdio_a_vendors_balance_and_the_aged_debt_reconcile_to_the_cent(alice: Tenant) -> None:
    async with Client(_stdio(alice.db, alice.token)) as client:
        c = Caller(client)
        ids = await worked_example(c)
        report = await c.ok("get_money_report", market_id=ids["market"])
        owed = {
            vendor: sum(o["amount_due_cents"] for o in (await c.ok("list_orders", vendor_id=ids[vendor]))["items"])
            for vendor in ("rosa", "tom")
        }
        out, rows, text = await export(c, kind="orders", market_id=ids["market"])
        read = await client.read_resource(out["uri"])
    assert owed == {"rosa": 3000, "tom": 4500}  # each vendor's balance, as their orders show it
    assert {d["vendor_id"]: d["outstanding_cents"] for d in report["debtors"]} == {
        ids["rosa"]: owed["rosa"],
        ids["tom"]: owed["tom"],
    }
    assert sum(report["aged"].values()) == report["totals"]["outstanding_cents"] == 7500
    assert read.contents[0].text == text  # type: ignore[union-attr]
    assert sum(round(float(r["outstanding"]) * 100) for r in rows) == 7500


async def test_the_default_report_on_the_demo_stays_small(demo: Tenant) -> None:
    async with demo.client() as c:
        report = await c.call("get_money_report")
    assert not report.is_error
    assert len(report.content[0].text) <= 8_000  # type: ignore[union-attr]  # as a list's default page


# ---------------------------------------------------------------- the identity, on generated data

VENDORS, DATES = 3, 4
methods = st.sampled_from(["cash", "card", "bank_transfer"])
pick = st.integers(0, 9)  # an order, by its place among those taken
order_ops = st.one_of(
    st.tuples(st.just("order"), st.integers(0, VENDORS - 1), st.sets(st.integers(0, DATES - 1), min_size=1)),
    *[st.tuples(st.just("approve"), pick, st.booleans())] * 2,
    *[st.tuples(st.just("pay"), pick, st.integers(1, 12_000), methods)] * 2,
    st.tuples(st.just("pay_all"), pick, methods),
    st.tuples(st.just("refund"), pick, st.integers(1, 6_000), st.sampled_from(["original", "credit"])),
    st.tuples(st.just("cancel"), pick, st.integers(0, DATES - 1), st.booleans()),
    st.tuples(st.just("restore_booking"), pick, st.integers(0, DATES - 1)),
    st.tuples(st.just("reject"), pick),
    st.tuples(st.just("archive"), pick),
    st.tuples(st.just("restore"), pick),
    st.tuples(st.just("modify"), pick),
    st.tuples(st.just("credit"), st.integers(0, VENDORS - 1), st.integers(1, 9_000)),
)
examples = count(1)


async def play(c: Caller, op: tuple[Any, ...], s: Any, vendors: list[int], orders: list[dict[str, Any]]) -> None:
    """One organiser's move; a refusal (4xx) is part of the game, a crash is not."""
    kind, *args = op
    if kind == "order":
        call = ("create_order", {"vendor_id": vendors[args[0]], "market_date_ids": [s.date_ids[i] for i in args[1]]})
    elif kind == "credit":
        call = ("create_credit", {"vendor_id": vendors[args[0]], "credit_amount": str(args[1] / 100)})
    elif not orders:
        return
    else:
        order = orders[args[0] % len(orders)]
        order_id = order["id"]
        lines = order["bookings"]
        call = {
            "approve": lambda: ("approve_order", {"order_id": order_id, "apply_credits": args[1]}),
            "pay": lambda: (
                "record_order_payment",
                {"order_id": order_id, "method": args[2], "amount": f"{args[1] / 100:.2f}"},
            ),
            "pay_all": lambda: ("record_order_payment", {"order_id": order_id, "method": args[1]}),
            "refund": lambda: (
                "refund_order_payment",
                {"order_id": order_id, "amount": f"{args[1] / 100:.2f}", "reason": "Because", "to": args[2]},
            ),
            "cancel": lambda: (
                "cancel_booking",
                {"booking_id": lines[args[1] % len(lines)]["booking_id"], "credit_vendor": args[2]},
            ),
            "restore_booking": lambda: ("restore_booking", {"booking_id": lines[args[1] % len(lines)]["booking_id"]}),
            "reject": lambda: ("reject_order", {"order_id": order_id}),
            "archive": lambda: ("archive_order", {"order_id": order_id}),
            "restore": lambda: ("restore_order", {"order_id": order_id}),
            "modify": lambda: ("modify_order", {"order_id": order_id}),
        }[kind]()
    result = await c.call(call[0], **call[1])
    payload = result.structured_content or {}
    event(f"{kind}: {payload['code'] if result.is_error else 'ok'}")  # --hypothesis-show-statistics
    if result.is_error:
        assert payload["code"] in (404, 409, 422), (op, payload)
        return
    if kind == "order":
        orders.append(payload)


def identity(row: dict[str, Any]) -> None:
    assert (
        row["billed_cents"] - row["paid_cents"] - row["credited_cents"] - row["written_off_cents"]
        == row["outstanding_cents"]
    ), row


def summed(rows: list[dict[str, Any]]) -> tuple[int, ...]:
    return tuple(sum(r[name] for r in rows) for name in FIGURES)


async def ledgers(tenant: Tenant) -> dict[str, int]:
    """Straight from the ledgers: payments, excess and refunds; credit used on orders less given back; and the
    amount due the orders themselves show on approved orders still charging."""
    async with tenant.db.transaction() as session:
        kinds = dict(
            (
                await session.execute(
                    select(Payment.kind, func.sum(Payment.amount_cents))
                    .where(Payment.organization_id == tenant.org_id)
                    .group_by(Payment.kind)
                )
            ).all()
        )
        used = (
            await session.execute(
                select(func.coalesce(-func.sum(CreditTransaction.amount_cents), 0)).where(
                    CreditTransaction.organization_id == tenant.org_id,
                    CreditTransaction.order_id.is_not(None),  # type: ignore[union-attr]
                    CreditTransaction.kind.in_(("use", "refund")),  # type: ignore[attr-defined]
                )
            )
        ).scalar_one()
        due = (
            await session.execute(
                select(func.coalesce(func.sum(Order.amount_due_cents), 0)).where(
                    Order.organization_id == tenant.org_id,
                    Order.approved_at.is_not(None),  # type: ignore[union-attr]
                    Order.status.not_in(("archived", "rejected")),  # type: ignore[attr-defined]
                )
            )
        ).scalar_one()
    cents = {kind: int(value) for kind, value in kinds.items()}
    return {
        "payment": cents.get("payment", 0),
        "excess": cents.get("excess", 0),
        "refund": cents.get("refund", 0),
        "credit_used": int(used),
        "due": int(due),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(order_ops, min_size=6, max_size=30), ages=st.lists(st.integers(0, 120), min_size=10, max_size=10))
async def test_billed_less_paid_credited_and_written_off_is_outstanding_and_reconciles_to_the_ledgers(
    db: Database, ops: list[tuple[Any, ...]], ages: list[int]
) -> None:
    tenant = await make_tenant(db, f"gen{next(examples)}")
    async with tenant.client() as c:
        s = await market_with_dates(c, dates=DATES, capacity=3)
        other = await market_with_dates(c, "Hillside", dates=1)
        vendors = [await approved_vendor(c, s.market_id, f"Stall {n}") for n in range(VENDORS)]
        await credit(c, vendors[0], "20", None)
        orders = [await order_of(c, v, s.date_ids[n : n + 2]) for n, v in enumerate(vendors)]
        orders[:2] = [await c.ok("approve_order", order_id=o["id"]) for o in orders[:2]]  # the third stays pending
        for op in ops:
            await play(c, op, s, vendors, orders)
        await approve_application(c, other.market_id, vendors[0])
        await c.ok("approve_order", order_id=(await order_of(c, vendors[0], other.date_ids))["id"])
        for order, days in zip(orders, ages, strict=False):  # spread the billing over months and age buckets
            await set_approved(tenant, order["id"], days, only_if_approved=True)
        report = await c.ok("get_money_report")
        _, rows, _ = await export(c, kind="orders")
    totals = report["totals"]
    for row in [totals, *report["by_market"], *report["by_month"]]:
        identity(row)
    assert summed(report["by_market"]) == summed(report["by_month"]) == summed([totals])
    assert sum(report["aged"].values()) == totals["outstanding_cents"]
    if report["debtors_total"] <= 10:
        assert sum(d["outstanding_cents"] for d in report["debtors"]) == totals["outstanding_cents"]
    for debtor in report["debtors"]:
        aged = (
            debtor["current_cents"] + debtor["days_1_30_cents"] + debtor["days_31_60_cents"] + debtor["over_60_cents"]
        )
        assert aged == debtor["outstanding_cents"] > 0
    ledger = await ledgers(tenant)
    assert totals["paid_cents"] == ledger["payment"] - ledger["excess"]
    assert totals["refunded_cents"] == ledger["refund"] == report["received"]["refunded_cents"]
    assert totals["credited_cents"] == ledger["credit_used"]
    assert totals["outstanding_cents"] == ledger["due"]
    assert report["received"]["received_cents"] == ledger["payment"]
    assert report["received"]["moved_to_credit_cents"] == ledger["excess"]
    exported = tuple(round(sum(float(r[name.removesuffix("_cents")]) for r in rows) * 100) for name in FIGURES)
    assert exported == summed([totals])
