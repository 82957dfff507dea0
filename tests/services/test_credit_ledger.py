"""The credit ledger as a property, through the service functions (no MCP).

Whatever sequence of grants, adjustments, uses, expiries and deletions happens, every credit's remaining
amount equals the sum of its transactions, each transaction's balance_after_cents is the running sum, nothing
goes below zero, a deleted credit holds nothing, and a refused operation changes nothing (DOMAIN.md).
Each operation runs in its own transaction, as a tool call does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text, update

from market_mcp.auth import OrgContext, TokenIdentity
from market_mcp.db import Database
from market_mcp.db.tables import Credit, CreditTransaction, Market, Order, Vendor
from market_mcp.errors import MarketError
from market_mcp.services import credits
from market_mcp.services.scope import get_or_404
from tests.factories import Tenant


def org_context(session: Any, tenant: Tenant) -> OrgContext:
    identity = TokenIdentity(
        token_id=tenant.token_id,
        token_name=f"{tenant.slug} write",
        scope="write",
        last_used_at=None,
        organization_id=tenant.org_id,
        organization_name="Alice Markets",
        organization_slug=tenant.slug,
        currency="AUD",
        timezone="Australia/Melbourne",
    )
    return OrgContext.of(session, identity)


@dataclass(frozen=True)
class Shop:
    """A vendor and an order to spend their credit on: the rows every example shares."""

    vendor_id: int
    order_id: int


@pytest.fixture
async def shop(alice: Tenant) -> Shop:
    async with alice.db.transaction(write=True) as session:
        vendor = Vendor(organization_id=alice.org_id, business_name="Fig Tree", email="figs@example.com")
        market = Market(organization_id=alice.org_id, name="Harbour Market", slug="harbour")
        session.add_all([vendor, market])
        await session.flush()
        order = Order(organization_id=alice.org_id, vendor_id=vendor.id, market_id=market.id)  # type: ignore[arg-type]
        session.add(order)
        await session.flush()
        return Shop(vendor_id=vendor.id, order_id=order.id)  # type: ignore[arg-type]


async def snapshot(db: Database) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The credit and credit_transaction tables exactly as stored."""
    async with db.transaction() as session:
        credit = (await session.execute(text("SELECT * FROM credit ORDER BY id"))).all()
        ledger = (await session.execute(text("SELECT * FROM credit_transaction ORDER BY id"))).all()
    return [tuple(row) for row in credit], [tuple(row) for row in ledger]


# ---------------------------------------------------------------- the model: what each operation should do


@dataclass
class Expected:
    remaining: int
    used: bool = False
    expired: bool = False
    deleted: bool = False


# Amounts are often relative to what the picked credit holds, so that full and partial uses and adjustments
# both ways happen as often as refused ones: ("part", p) is p% of the remaining, ("over", n) n cents too many.
part = st.tuples(st.just("part"), st.integers(1, 99))
relative = st.one_of(st.just(("all", 0)), part, part, st.tuples(st.just("over"), st.integers(1, 500)))
grants = st.tuples(st.just("grant"), st.integers(1, 20_000), st.one_of(st.none(), st.integers(1, 365)))
adjusts = st.tuples(
    st.just("adjust"),
    st.integers(0, 50),
    st.one_of(st.integers(0, 20_000), st.integers(-2_000, -1), relative),
    st.booleans(),
)
uses = st.tuples(st.just("use"), st.integers(0, 50), st.one_of(relative, relative, st.integers(1, 20_000)))
expiries = st.tuples(st.just("expire"), st.integers(0, 50))
deletions = st.tuples(st.just("delete"), st.integers(0, 50))
# A few grants first, then a mix weighted towards the operations with most paths (adjust, use).
operations = st.builds(
    lambda first, then: first + then,
    st.lists(grants, min_size=1, max_size=3),
    st.lists(st.one_of(grants, adjusts, adjusts, adjusts, uses, uses, uses, expiries, deletions), max_size=30),
)


def cents(amount: Any, remaining: int) -> int:
    """An operation's amount in cents, given what the credit holds."""
    if isinstance(amount, int):
        return amount
    how, n = amount
    return {"all": remaining, "part": max(1, remaining * n // 100), "over": remaining + n}[how]


def predict(op: tuple[Any, ...], credit: Expected | None) -> tuple[int | str, Expected | None]:
    """(the outcome: "ok" or the refusal's code, the credit afterwards) according to DOMAIN.md."""
    kind = op[0]
    if kind == "grant":
        return "ok", Expected(remaining=op[1])
    assert credit is not None
    if kind == "adjust":
        _, _, amount, new_expiry = op
        target = cents(amount, credit.remaining)
        if credit.deleted:
            return 404, credit
        if credit.expired and not new_expiry:
            return 409, credit  # give it a new expires_at in the future to change its remaining amount
        if target < 0:
            return 409, credit
        return "ok", Expected(remaining=target, used=credit.used, expired=credit.expired and not new_expiry)
    if kind == "use":
        amount = cents(op[2], credit.remaining)
        if credit.deleted or credit.expired or credit.remaining == 0 or amount > credit.remaining:
            return 409, credit
        return "ok", Expected(remaining=credit.remaining - amount, used=True)
    if kind == "expire":
        return "ok", Expected(remaining=0, used=credit.used, expired=True, deleted=credit.deleted)
    if kind == "delete":
        if credit.deleted:
            return 404, credit
        if credit.used:
            return 409, credit
        return "ok", Expected(remaining=0, used=False, expired=credit.expired, deleted=True)
    raise AssertionError(kind)


async def apply(
    tenant: Tenant, shop: Shop, op: tuple[Any, ...], credit_id: int | None, expected: Expected | None
) -> tuple[int | str, int | None]:
    """Run one operation in its own transaction: (the outcome, the id of a credit it granted)."""
    kind = op[0]
    try:
        async with tenant.db.transaction(write=True) as session:
            org = org_context(session, tenant)
            if kind == "grant":
                _, amount, days = op
                expires_at = None if days is None else datetime.now(UTC) + timedelta(days=days)
                await credits.expire_due(org)
                credit = await credits.grant(
                    org, shop.vendor_id, amount_cents=amount, source="manual", expires_at=expires_at
                )
                return "ok", credit.id
            assert credit_id is not None and expected is not None
            if kind == "adjust":
                _, _, amount, new_expiry = op
                await credits.update_credit(
                    org,
                    credit_id,
                    remaining_cents=cents(amount, expected.remaining),
                    notes=None,
                    expires_at=datetime.now(UTC) + timedelta(days=30) if new_expiry else None,
                )
            elif kind == "use":
                credit = await get_or_404(org, Credit, credit_id)
                await credits.use(org, credit, cents(op[2], expected.remaining), order_id=shop.order_id)
            elif kind == "expire":
                past = datetime.now(UTC) - timedelta(seconds=1)
                await session.execute(update(Credit).where(Credit.id == credit_id).values(expires_at=past))
                await credits.expire_due(org)
            elif kind == "delete":
                await credits.delete_credit(org, credit_id)
    except MarketError as refusal:
        return refusal.code, None
    return "ok", None


async def check_ledger(db: Database, model: dict[int, Expected]) -> None:
    """Every credit's remaining is the sum of its rows, each balance_after the running sum, none negative."""
    async with db.transaction() as session:
        stored = {c.id: c for c in (await session.execute(select(Credit))).scalars()}
        rows = (await session.execute(select(CreditTransaction).order_by(CreditTransaction.id))).scalars().all()
    assert sorted(stored) == sorted(model)
    for credit_id, credit in stored.items():
        mine = [row for row in rows if row.credit_id == credit_id]
        running = 0
        for row in mine:
            running += row.amount_cents
            assert row.balance_after_cents == running, (credit_id, row.kind, row.amount_cents)
            assert running >= 0, (credit_id, row.kind)
        assert (mine[0].kind, mine[0].amount_cents) == ("grant", credit.amount_cents)
        assert credit.remaining_cents == running, credit_id
        assert credit.remaining_cents >= 0
        if credit.deleted_at is not None:
            assert credit.remaining_cents == 0
        assert (credit.remaining_cents, credit.deleted_at is not None) == (
            model[credit_id].remaining,
            model[credit_id].deleted,
        ), credit_id


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
async def test_every_credit_always_equals_the_sum_of_its_ledger_and_refusals_change_nothing(
    alice: Tenant, shop: Shop, ops: list[tuple[Any, ...]]
) -> None:
    # One database for the whole test: each example starts from no credits.
    async with alice.db.transaction(write=True) as session:
        await session.execute(delete(CreditTransaction))
        await session.execute(delete(Credit))
    model: dict[int, Expected] = {}
    order: list[int] = []  # credit ids in grant order, for the operations' picks
    for op in ops:
        credit_id = None if op[0] == "grant" else order[op[1] % len(order)]
        expected = None if credit_id is None else model[credit_id]
        outcome, predicted_state = predict(op, expected)
        before = await snapshot(alice.db)
        actual, granted = await apply(alice, shop, op, credit_id, expected)
        assert actual == outcome, (op, expected)
        event(f"{op[0]}: {actual}")  # shown by --hypothesis-show-statistics: every path is taken
        if actual != "ok":
            assert await snapshot(alice.db) == before, op
        if granted is not None:
            order.append(granted)
            model[granted] = predicted_state  # type: ignore[assignment]
        elif credit_id is not None:
            model[credit_id] = predicted_state  # type: ignore[assignment]
        await check_ledger(alice.db, model)


# ---------------------------------------------------------------- the ledger's primitives, one promise each


async def test_a_use_refused_for_want_of_money_leaves_the_credit_as_it_was(alice: Tenant, shop: Shop) -> None:
    # A caller may try credits in turn and carry on after one is refused, in the same transaction.
    async with alice.db.transaction(write=True) as session:
        org = org_context(session, alice)
        credit = await credits.grant(org, shop.vendor_id, amount_cents=1000, source="manual")
        with pytest.raises(MarketError) as refused:
            await credits.use(org, credit, 1500, order_id=shop.order_id)
        assert (refused.value.code, refused.value.message) == (409, f"Credit {credit.id} has only $10.00 left.")
        assert credit.remaining_cents == 1000


@pytest.mark.parametrize("amount", [0, -500], ids=["nothing", "a negative amount"])
async def test_spending_nothing_or_a_negative_amount_is_refused_and_writes_no_row(
    alice: Tenant, shop: Shop, amount: int
) -> None:
    async with alice.db.transaction(write=True) as session:
        org = org_context(session, alice)
        credit = await credits.grant(org, shop.vendor_id, amount_cents=1000, source="manual")
    before = await snapshot(alice.db)
    with pytest.raises(MarketError):
        async with alice.db.transaction(write=True) as session:
            org = org_context(session, alice)
            await credits.use(org, await get_or_404(org, Credit, credit.id), amount, order_id=shop.order_id)  # type: ignore[arg-type]
    assert await snapshot(alice.db) == before
