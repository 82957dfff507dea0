"""credits: list_credits, get_credit, create_credit, update_credit, delete_credit — through the MCP client.

A credit's remaining amount always equals the sum of its ledger rows, and history is never edited (DOMAIN.md).
The organisation's timezone is Australia/Melbourne: AEST (UTC+10) from the first Sunday of April, AEDT (UTC+11)
from the first Sunday of October. Expected UTC instants below are worked out from that rule, not from zoneinfo,
so the tests do not share the code's arithmetic.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from market_mcp.auth import OrgContext, TokenIdentity
from market_mcp.db.tables import Credit, CreditTransaction, Market, Order, Organization, Vendor
from market_mcp.services import credits
from market_mcp.services.scope import get_or_404
from tests.factories import Caller, Tenant, today

NEXT_YEAR = today().year + 1


def first_sunday(year: int, month: int) -> date:
    day = date(year, month, 1)
    return day + timedelta(days=(7 - day.isoweekday()) % 7)


def in_days(n: int) -> str:
    return str(today() + timedelta(days=n))


# ---------------------------------------------------------------- helpers (rows written straight to the store)


async def add_vendor(tenant: Tenant, name: str, **fields: Any) -> int:
    async with tenant.db.transaction(write=True) as session:
        vendor = Vendor(
            organization_id=tenant.org_id,
            business_name=name,
            email=fields.pop("email", name.lower().replace(" ", ".").replace("&", "and") + "@example.com"),
            **fields,
        )
        session.add(vendor)
        await session.flush()
        return vendor.id  # type: ignore[return-value]


async def add_order(tenant: Tenant, vendor_id: int) -> int:
    """An order to spend credit on, written straight to the store."""
    async with tenant.db.transaction(write=True) as session:
        market = Market(organization_id=tenant.org_id, name="Harbour Market", slug=f"harbour-{vendor_id}")
        session.add(market)
        await session.flush()
        order = Order(
            organization_id=tenant.org_id,
            vendor_id=vendor_id,
            market_id=market.id,  # type: ignore[arg-type]
            total_cents=4500,
        )
        session.add(order)
        await session.flush()
        return order.id  # type: ignore[return-value]


def org_context(session: Any, tenant: Tenant) -> OrgContext:
    """The tenant's organisation on a session, as the server builds it for a call (no MCP involved)."""
    identity = TokenIdentity(
        token_id=tenant.token_id,
        token_name=f"{tenant.slug} write",
        scope="write",
        last_used_at=None,
        organization_id=tenant.org_id,
        organization_name=f"{tenant.slug.title()} Markets",
        organization_slug=tenant.slug,
        currency="AUD",
        timezone="Australia/Melbourne",
    )
    return OrgContext.of(session, identity)


async def spend(tenant: Tenant, credit_id: int, cents: int, *, order_id: int) -> None:
    """Use part of a credit on an order, through the ledger's own service function."""
    async with tenant.db.transaction(write=True) as session:
        org = org_context(session, tenant)
        await credits.use(org, await get_or_404(org, Credit, credit_id), cents, order_id=order_id)


async def expire_in_the_table(tenant: Tenant, credit_id: int) -> None:
    """Move a credit's expiry an hour into the past, as time passing would (no ledger row: nothing wrote one yet)."""
    async with tenant.db.transaction(write=True) as session:
        await session.execute(
            update(Credit).where(Credit.id == credit_id).values(expires_at=datetime.now(UTC) - timedelta(hours=1))
        )


async def ledger(tenant: Tenant, credit_id: int) -> list[tuple[Any, ...]]:
    """The credit's rows in the table, oldest first: (kind, amount_cents, balance_after_cents, order_id, note)."""
    async with tenant.db.transaction() as session:
        rows = await session.execute(
            select(
                CreditTransaction.kind,
                CreditTransaction.amount_cents,
                CreditTransaction.balance_after_cents,
                CreditTransaction.order_id,
                CreditTransaction.note,
            )
            .where(CreditTransaction.credit_id == credit_id)
            .order_by(CreditTransaction.id)
        )
        return [tuple(row) for row in rows.all()]


async def raw_rows(tenant: Tenant, table: str) -> list[tuple[Any, ...]]:
    """Every stored row of a table exactly as the database holds it (no type conversion), in id order."""
    async with tenant.db.transaction() as session:
        return [tuple(row) for row in (await session.execute(text(f"SELECT * FROM {table} ORDER BY id"))).all()]


async def stored(tenant: Tenant, credit_id: int) -> tuple[int, int, bool]:
    """(remaining_cents in the table, the sum of its ledger rows, whether it is deleted)."""
    async with tenant.db.transaction() as session:
        credit = await session.get(Credit, credit_id)
        total = await session.execute(
            select(func.coalesce(func.sum(CreditTransaction.amount_cents), 0)).where(
                CreditTransaction.credit_id == credit_id
            )
        )
        assert credit is not None
        return credit.remaining_cents, total.scalar_one(), credit.deleted_at is not None


async def credit_count(tenant: Tenant) -> int:
    async with tenant.db.transaction() as session:
        return (await session.execute(select(func.count()).select_from(Credit))).scalar_one()


async def issue(c: Caller, vendor_id: int, amount: Any, **arguments: Any) -> int:
    return (await c.ok("create_credit", vendor_id=vendor_id, credit_amount=amount, **arguments))["id"]


def summary(credit: dict[str, Any]) -> tuple[Any, ...]:
    return (credit["id"], credit["status"], credit["amount_cents"], credit["remaining_cents"])


def entries(credit: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(t["kind"], t["amount_cents"], t["balance_after_cents"], t["order_id"]) for t in credit["transactions"]]


EMPTY_PAGE = {"items": [], "total": 0, "limit": 20, "offset": 0, "next_offset": None, "page": "Nothing matches."}


# ---------------------------------------------------------------- list_credits


async def test_list_credits_puts_the_soonest_expiring_first_and_never_expiring_last(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        in_60 = await issue(c, vendor, 10, expires_at=in_days(60))
        never = await issue(c, vendor, 10)
        in_10 = await issue(c, vendor, 10, expires_at=in_days(10))
        in_30 = await issue(c, vendor, 10, expires_at=in_days(30))
        also_never = await issue(c, vendor, 10)
        page = await c.ok("list_credits")
    assert [credit["id"] for credit in page["items"]] == [in_10, in_30, in_60, never, also_never]
    assert page["total"] == 5


async def test_list_credits_filters_by_status_unexpired_or_expired(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        live = await issue(c, vendor, 20, expires_at=in_days(30))
        gone = await issue(c, vendor, 30, expires_at=in_days(5))
        never = await issue(c, vendor, 40)
        await expire_in_the_table(alice, gone)
        unexpired = await c.ok("list_credits", status="unexpired")
        expired = await c.ok("list_credits", status="expired")
    assert [summary(credit) for credit in unexpired["items"]] == [
        (live, "live", 2000, 2000),
        (never, "live", 4000, 4000),
    ]
    assert unexpired["total"] == 2
    assert [summary(credit) for credit in expired["items"]] == [(gone, "expired", 3000, 0)]
    assert expired["total"] == 1


async def test_list_credits_filters_by_vendor(alice: Tenant) -> None:
    fig, olive = await add_vendor(alice, "Fig Tree"), await add_vendor(alice, "Olive Grove")
    async with alice.client() as c:
        await issue(c, fig, 10)
        olives = await issue(c, olive, 15)
        page = await c.ok("list_credits", vendor_id=olive)
        nobody = await c.ok("list_credits", vendor_id=900_001)
    assert [(credit["id"], credit["vendor_id"], credit["business_name"]) for credit in page["items"]] == [
        (olives, olive, "Olive Grove")
    ]
    assert page["total"] == 1
    assert nobody == EMPTY_PAGE


async def test_the_query_matches_the_vendors_name_or_email_or_the_notes_in_any_case(alice: Tenant) -> None:
    fig = await add_vendor(alice, "Fig Tree", email="orders@figs.example.com")
    olive = await add_vendor(alice, "Olive Grove", email="hello@olives.example.com")
    async with alice.client() as c:
        figs = await issue(c, fig, 10)
        olives = await issue(c, olive, 15, notes="Makeup for the rained-out Saturday")
        by_name = await c.ok("list_credits", query="FIG TR")
        by_email = await c.ok("list_credits", query="hello@OLIVES")
        by_notes = await c.ok("list_credits", query="rained-out")
        nothing = await c.ok("list_credits", query="harbour")
    assert [credit["id"] for credit in by_name["items"]] == [figs]
    assert [credit["id"] for credit in by_email["items"]] == [olives]
    assert [credit["id"] for credit in by_notes["items"]] == [olives]
    assert nothing == EMPTY_PAGE


async def test_list_credits_pages_with_next_offset_null_on_the_last_page(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        ids = [await issue(c, vendor, 10, expires_at=in_days(days)) for days in (10, 20, 30)]
        first = await c.ok("list_credits", limit=2)
        last = await c.ok("list_credits", limit=2, offset=first["next_offset"])
    assert [credit["id"] for credit in first["items"]] == ids[:2]
    assert {k: first[k] for k in ("total", "limit", "offset", "next_offset")} == {
        "total": 3,
        "limit": 2,
        "offset": 0,
        "next_offset": 2,
    }
    assert [credit["id"] for credit in last["items"]] == ids[2:]
    assert {k: last[k] for k in ("total", "limit", "offset", "next_offset")} == {
        "total": 3,
        "limit": 2,
        "offset": 2,
        "next_offset": None,
    }


async def test_a_deleted_credit_is_never_listed_whatever_the_filter(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        kept = await issue(c, vendor, 10, notes="Rain makeup")
        deleted = await issue(c, vendor, 20, notes="Rain makeup", expires_at=in_days(3))
        await c.ok("delete_credit", credit_id=deleted)
        pages = [
            await c.ok("list_credits"),
            await c.ok("list_credits", status="unexpired"),
            await c.ok("list_credits", vendor_id=vendor),
            await c.ok("list_credits", query="rain makeup"),
        ]
        expired = await c.ok("list_credits", status="expired")
    assert [([credit["id"] for credit in page["items"]], page["total"]) for page in pages] == [([kept], 1)] * 4
    assert expired == EMPTY_PAGE


# ---------------------------------------------------------------- get_credit


async def test_get_credit_returns_the_credit_and_its_ledger_oldest_first_summing_to_what_remains(
    alice: Tenant,
) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    order = await add_order(alice, vendor)
    async with alice.client() as c:
        credit_id = await issue(c, vendor, "50.00", notes="Makeup for rain")
        await spend(alice, credit_id, 1250, order_id=order)
        await c.ok("update_credit", credit_id=credit_id, remaining_amount=30)
        credit = await c.ok("get_credit", credit_id=credit_id)
    transactions = credit["transactions"]
    assert credit == {
        "id": credit_id,
        "vendor_id": vendor,
        "business_name": "Fig Tree",
        "amount_cents": 5000,
        "remaining_cents": 3000,
        "currency": "AUD",
        "status": "live",
        "source": "manual",
        "expires_at": None,
        "notes": "Makeup for rain",
        "application_id": None,
        "created_at": credit["created_at"],
        "transactions": [
            {
                "id": transactions[0]["id"],
                "kind": "grant",
                "amount_cents": 5000,
                "balance_after_cents": 5000,
                "order_id": None,
                "booking_id": None,
                "note": "Makeup for rain",
                "created_at": transactions[0]["created_at"],
            },
            {
                "id": transactions[1]["id"],
                "kind": "use",
                "amount_cents": -1250,
                "balance_after_cents": 3750,
                "order_id": order,
                "booking_id": None,
                "note": f"applied to order {order}",
                "created_at": transactions[1]["created_at"],
            },
            {
                "id": transactions[2]["id"],
                "kind": "adjust",
                "amount_cents": -750,
                "balance_after_cents": 3000,
                "order_id": None,
                "booking_id": None,
                "note": "adjusted",
                "created_at": transactions[2]["created_at"],
            },
        ],
    }
    assert transactions[0]["id"] < transactions[1]["id"] < transactions[2]["id"]
    assert sum(t["amount_cents"] for t in transactions) == credit["remaining_cents"]


async def test_get_credit_of_a_deleted_credit_is_not_found(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        credit_id = await issue(c, vendor, 10)
        await c.ok("delete_credit", credit_id=credit_id)
        message = await c.refused("get_credit", 404, credit_id=credit_id)
    assert message == f"Credit {credit_id} not found."


async def test_get_credit_of_an_id_that_never_existed_is_not_found(alice: Tenant) -> None:
    async with alice.client() as c:
        assert await c.refused("get_credit", 404, credit_id=900_001) == "Credit 900001 not found."


# ---------------------------------------------------------------- create_credit


async def test_create_credit_takes_a_decimal_amount_and_opens_the_ledger_with_a_grant(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        credit = await c.ok("create_credit", vendor_id=vendor, credit_amount="10.00", notes="Makeup for rain")
    assert summary(credit) == (credit["id"], "live", 1000, 1000)
    assert (credit["source"], credit["notes"], credit["expires_at"], credit["currency"]) == (
        "manual",
        "Makeup for rain",
        None,
        "AUD",
    )
    assert entries(credit) == [("grant", 1000, 1000, None)]
    assert await ledger(alice, credit["id"]) == [("grant", 1000, 1000, None, "Makeup for rain")]
    assert await stored(alice, credit["id"]) == (1000, 1000, False)


@pytest.mark.parametrize(
    "amount, cents",
    [("10.00", 1000), (0.01, 1), ("0.01", 1), (12.5, 1250), ("$12.50", 1250), (1_000_000, 100_000_000)],
    ids=["string with cents", "one cent", "one cent as a string", "a float", "with a dollar sign", "the maximum"],
)
async def test_create_credit_accepts_any_positive_amount_with_at_most_two_decimals(
    alice: Tenant, amount: Any, cents: int
) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        credit = await c.ok("create_credit", vendor_id=vendor, credit_amount=amount)
    assert (credit["amount_cents"], credit["remaining_cents"], entries(credit)) == (
        cents,
        cents,
        [("grant", cents, cents, None)],
    )


@pytest.mark.parametrize(
    "amount, message",
    [
        (0, "Invalid arguments: credit_amount must be more than 0."),
        ("0.00", "Invalid arguments: credit_amount must be more than 0."),
        ("10.005", "Invalid arguments: credit_amount can have at most two decimal places; got 10.005."),
        (10.005, "Invalid arguments: credit_amount can have at most two decimal places; got 10.005."),
        (-5, "Invalid arguments: credit_amount cannot be negative; got -5."),
        ("-0.01", "Invalid arguments: credit_amount cannot be negative; got -0.01."),
        ("1000000.01", "Invalid arguments: credit_amount must be at most 1,000,000; got 1000000.01."),
        (1e12, "Invalid arguments: credit_amount must be at most 1,000,000; got 1000000000000.0."),
    ],
    ids=[
        "zero",
        "zero with cents",
        "three decimals",
        "three decimals as a float",
        "negative",
        "negative cent",
        "a cent over the maximum",
        "absurdly large",
    ],
)
async def test_create_credit_refuses_amounts_a_person_could_not_mean_naming_credit_amount(
    alice: Tenant, amount: Any, message: str
) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        assert await c.refused("create_credit", 422, vendor_id=vendor, credit_amount=amount) == message
    assert await credit_count(alice) == 0


@pytest.mark.parametrize(
    "day, expires_at",
    [
        (date(NEXT_YEAR, 1, 15), f"{NEXT_YEAR}-01-15T13:00:00Z"),  # AEDT: the day ends at 13:00 UTC
        (date(NEXT_YEAR, 7, 15), f"{NEXT_YEAR}-07-15T14:00:00Z"),  # AEST: the day ends at 14:00 UTC
        (first_sunday(NEXT_YEAR, 4), f"{first_sunday(NEXT_YEAR, 4)}T14:00:00Z"),  # 25 hours long, ends in AEST
        (first_sunday(NEXT_YEAR, 10), f"{first_sunday(NEXT_YEAR, 10)}T13:00:00Z"),  # 23 hours long, ends in AEDT
    ],
    ids=["summer", "winter", "the day clocks go back", "the day clocks go forward"],
)
async def test_a_credit_expiring_on_a_day_can_be_spent_until_the_end_of_that_day_in_melbourne(
    alice: Tenant, day: date, expires_at: str
) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        created = await c.ok("create_credit", vendor_id=vendor, credit_amount=10, expires_at=str(day))
        read = await c.ok("get_credit", credit_id=created["id"])
    assert (created["expires_at"], read["expires_at"], read["status"]) == (expires_at, expires_at, "live")


async def test_a_credit_expiring_today_is_live_until_midnight(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        credit = await c.ok("create_credit", vendor_id=vendor, credit_amount=10, expires_at=str(today()))
    assert summary(credit) == (credit["id"], "live", 1000, 1000)


@pytest.mark.parametrize(
    "day, message",
    [
        (
            today() - timedelta(days=1),
            "expires_at {end} UTC is in the past; a credit must expire in the future.",
        ),
        (date(2020, 1, 15), "expires_at 2020-01-15 13:00 UTC is in the past; a credit must expire in the future."),
    ],
    ids=["yesterday", "years ago"],
)
async def test_create_credit_refuses_an_expiry_in_the_past(alice: Tenant, day: date, message: str) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    end = (datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)) - timedelta(
        hours=10 if first_sunday(day.year, 4) <= day < first_sunday(day.year, 10) else 11
    )
    async with alice.client() as c:
        refusal = await c.refused("create_credit", 422, vendor_id=vendor, credit_amount=10, expires_at=str(day))
    assert refusal == message.format(end=f"{end:%Y-%m-%d %H:%M}")
    assert await credit_count(alice) == 0


async def test_create_credit_for_an_unknown_vendor_is_not_found(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("create_credit", 404, vendor_id=900_001, credit_amount=10)
    assert message == "Vendor 900001 not found."
    assert await credit_count(alice) == 0


# ---------------------------------------------------------------- update_credit


async def test_setting_the_remaining_amount_adds_one_adjust_row_with_the_signed_difference(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        credit_id = await issue(c, vendor, 50)
        down = await c.ok("update_credit", credit_id=credit_id, remaining_amount=20)
        up = await c.ok("update_credit", credit_id=credit_id, remaining_amount="35.50")
    assert summary(down) == (credit_id, "live", 5000, 2000)
    assert entries(down) == [("grant", 5000, 5000, None), ("adjust", -3000, 2000, None)]
    assert summary(up) == (credit_id, "live", 5000, 3550)
    assert entries(up) == [("grant", 5000, 5000, None), ("adjust", -3000, 2000, None), ("adjust", 1550, 3550, None)]
    assert await stored(alice, credit_id) == (3550, 3550, False)


async def test_adjusting_a_credit_never_edits_its_earlier_rows(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    order = await add_order(alice, vendor)
    async with alice.client() as c:
        credit_id = await issue(c, vendor, 50, expires_at=in_days(30))
        await spend(alice, credit_id, 1000, order_id=order)
        before = await raw_rows(alice, "credit_transaction")
        await c.ok("update_credit", credit_id=credit_id, remaining_amount=5, notes="Partly refunded in cash")
        after = await raw_rows(alice, "credit_transaction")
    assert len(before) == 2
    assert after[: len(before)] == before
    assert [row[3:6] for row in after[len(before) :]] == [("adjust", -3500, 500)]


async def test_the_adjust_row_carries_the_notes_given_with_it(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        credit_id = await issue(c, vendor, 50, notes="Rain makeup")
        credit = await c.ok("update_credit", credit_id=credit_id, remaining_amount=5, notes="Paid out the rest in cash")
    assert credit["notes"] == "Paid out the rest in cash"
    assert await ledger(alice, credit_id) == [
        ("grant", 5000, 5000, None, "Rain makeup"),
        ("adjust", -4500, 500, None, "Paid out the rest in cash"),
    ]


async def test_setting_the_remaining_amount_it_already_has_writes_nothing(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        credit_id = await issue(c, vendor, 50)
        credit = await c.ok("update_credit", credit_id=credit_id, remaining_amount="50.00")
    assert entries(credit) == [("grant", 5000, 5000, None)]


async def test_changing_notes_and_expiry_changes_the_credit_but_not_its_ledger(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        credit_id = await issue(c, vendor, 50, notes="Rain makeup", expires_at=in_days(10))
        before = await raw_rows(alice, "credit_transaction")
        credit = await c.ok(
            "update_credit", credit_id=credit_id, notes="Rain makeup, extended", expires_at=f"{NEXT_YEAR}-07-15"
        )
    assert (credit["notes"], credit["expires_at"], credit["status"], credit["remaining_cents"]) == (
        "Rain makeup, extended",
        f"{NEXT_YEAR}-07-15T14:00:00Z",
        "live",
        5000,
    )
    assert await raw_rows(alice, "credit_transaction") == before


async def test_an_expiry_in_the_past_expires_the_credit_now_with_an_expire_row(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    yesterday = today() - timedelta(days=1)
    async with alice.client() as c:
        credit_id = await issue(c, vendor, 40, expires_at=in_days(30))
        credit = await c.ok("update_credit", credit_id=credit_id, expires_at=str(yesterday))
        listed = await c.ok("list_credits", status="expired")
    assert summary(credit) == (credit_id, "expired", 4000, 0)
    assert entries(credit) == [("grant", 4000, 4000, None), ("expire", -4000, 0, None)]
    assert [summary(item) for item in listed["items"]] == [(credit_id, "expired", 4000, 0)]
    assert await ledger(alice, credit_id) == [
        ("grant", 4000, 4000, None, ""),
        ("expire", -4000, 0, None, "expired by the organiser"),
    ]
    assert await stored(alice, credit_id) == (0, 0, False)


async def test_changing_the_remaining_amount_of_an_expired_credit_is_a_conflict_and_writes_nothing(
    alice: Tenant,
) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    yesterday = today() - timedelta(days=1)
    async with alice.client() as c:
        credit_id = await issue(c, vendor, 40)
        await c.ok("update_credit", credit_id=credit_id, expires_at=str(yesterday))
        before = (await raw_rows(alice, "credit"), await raw_rows(alice, "credit_transaction"))
        message = await c.refused("update_credit", 409, credit_id=credit_id, remaining_amount=10)
    assert message == (
        f"Credit {credit_id} expired on {yesterday}; give it a new expires_at in the future to change its "
        "remaining amount."
    )
    assert (await raw_rows(alice, "credit"), await raw_rows(alice, "credit_transaction")) == before


async def test_the_conflict_names_the_last_day_in_the_organisations_own_calendar(alice: Tenant) -> None:
    # New York is behind UTC: the end of a local day there is already the next day in UTC.
    async with alice.db.transaction(write=True) as session:
        await session.execute(
            update(Organization).where(Organization.id == alice.org_id).values(timezone="America/New_York")
        )
    vendor = await add_vendor(alice, "Fig Tree")
    yesterday = today("America/New_York") - timedelta(days=1)
    async with alice.client() as c:
        credit_id = await issue(c, vendor, 40)
        await c.ok("update_credit", credit_id=credit_id, expires_at=str(yesterday))
        message = await c.refused("update_credit", 409, credit_id=credit_id, remaining_amount=10)
    assert message == (
        f"Credit {credit_id} expired on {yesterday}; give it a new expires_at in the future to change its "
        "remaining amount."
    )


async def test_an_expired_credit_gets_a_new_remaining_amount_with_a_new_future_expiry_in_the_same_call(
    alice: Tenant,
) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        credit_id = await issue(c, vendor, 40, expires_at=in_days(3))
        await expire_in_the_table(alice, credit_id)
        credit = await c.ok("update_credit", credit_id=credit_id, remaining_amount=10, expires_at=f"{NEXT_YEAR}-01-15")
    assert summary(credit) == (credit_id, "live", 4000, 1000)
    assert credit["expires_at"] == f"{NEXT_YEAR}-01-15T13:00:00Z"
    assert entries(credit) == [("grant", 4000, 4000, None), ("expire", -4000, 0, None), ("adjust", 1000, 1000, None)]
    assert await stored(alice, credit_id) == (1000, 1000, False)


async def test_update_credit_refuses_a_negative_remaining_amount(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        credit_id = await issue(c, vendor, 40)
        message = await c.refused("update_credit", 422, credit_id=credit_id, remaining_amount=-1)
    assert message == "Invalid arguments: remaining_amount cannot be negative; got -1."
    assert await ledger(alice, credit_id) == [("grant", 4000, 4000, None, "")]


async def test_update_credit_of_an_unknown_or_deleted_credit_is_not_found(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        credit_id = await issue(c, vendor, 40)
        await c.ok("delete_credit", credit_id=credit_id)
        deleted = await c.refused("update_credit", 404, credit_id=credit_id, remaining_amount=10)
        unknown = await c.refused("update_credit", 404, credit_id=900_001, notes="Hello")
    assert (deleted, unknown) == (f"Credit {credit_id} not found.", "Credit 900001 not found.")
    assert await stored(alice, credit_id) == (0, 0, True)


# ---------------------------------------------------------------- delete_credit


async def test_deleting_an_unused_credit_writes_a_delete_row_taking_its_balance_to_zero(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        credit_id = await issue(c, vendor, 30)
        await c.ok("update_credit", credit_id=credit_id, remaining_amount=20)
        deleted = await c.ok("delete_credit", credit_id=credit_id)
        listed = await c.ok("list_credits")
        shown = await c.ok("get_vendor", vendor_id=vendor)
    assert deleted == {
        "id": credit_id,
        "deleted": True,
        "vendor_id": vendor,
        "amount_cents": 3000,
        "removed_cents": 2000,
        "currency": "AUD",
    }
    assert await ledger(alice, credit_id) == [
        ("grant", 3000, 3000, None, ""),
        ("adjust", -1000, 2000, None, "adjusted"),
        ("delete", -2000, 0, None, "deleted"),
    ]
    assert await stored(alice, credit_id) == (0, 0, True)
    assert listed == EMPTY_PAGE
    assert (shown["credit_balance_cents"], shown["credits"]) == (0, [])


async def test_deleting_a_credit_with_nothing_left_writes_no_row(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        credit_id = await issue(c, vendor, 30)
        await c.ok("update_credit", credit_id=credit_id, remaining_amount=0)
        deleted = await c.ok("delete_credit", credit_id=credit_id)
    assert (deleted["removed_cents"], deleted["deleted"]) == (0, True)
    assert [row[0] for row in await ledger(alice, credit_id)] == ["grant", "adjust"]
    assert await stored(alice, credit_id) == (0, 0, True)


async def test_a_credit_used_on_an_order_cannot_be_deleted_and_nothing_is_written(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    order = await add_order(alice, vendor)
    async with alice.client() as c:
        credit_id = await issue(c, vendor, 50)
        await spend(alice, credit_id, 1250, order_id=order)
        before = (await raw_rows(alice, "credit"), await raw_rows(alice, "credit_transaction"))
        message = await c.refused("delete_credit", 409, credit_id=credit_id)
    assert message == (
        f"Credit {credit_id} has been used (on order {order}, $12.50), so it cannot be deleted. "
        "Set its remaining amount to 0 with update_credit instead."
    )
    assert (await raw_rows(alice, "credit"), await raw_rows(alice, "credit_transaction")) == before


async def test_deleting_a_credit_twice_is_not_found_the_second_time(alice: Tenant) -> None:
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        credit_id = await issue(c, vendor, 30)
        await c.ok("delete_credit", credit_id=credit_id)
        again = await c.refused("delete_credit", 404, credit_id=credit_id)
        never = await c.refused("delete_credit", 404, credit_id=900_001)
    assert (again, never) == (f"Credit {credit_id} not found.", "Credit 900001 not found.")
    assert [row[0] for row in await ledger(alice, credit_id)] == ["grant", "delete"]


# ---------------------------------------------------------------- expiry is honoured everywhere a balance is read


@pytest.fixture
async def lapsed(alice: Tenant) -> tuple[int, int, int]:
    """(vendor, a credit of $40 whose expiry passed an hour ago with no expire row yet, a live $15 credit)."""
    vendor = await add_vendor(alice, "Fig Tree")
    async with alice.client() as c:
        gone = await issue(c, vendor, 40, expires_at=in_days(7))
        live = await issue(c, vendor, 15)
    await expire_in_the_table(alice, gone)
    return vendor, gone, live


async def test_a_credit_past_its_expiry_reads_as_expired_with_nothing_remaining(
    alice: Tenant, lapsed: tuple[int, int, int]
) -> None:
    _, gone, live = lapsed
    async with alice.client() as c:
        credit = await c.ok("get_credit", credit_id=gone)
        listed = await c.ok("list_credits")
    assert summary(credit) == (gone, "expired", 4000, 0)
    assert [summary(item) for item in listed["items"]] == [(gone, "expired", 4000, 0), (live, "live", 1500, 1500)]


async def test_the_ledger_of_a_credit_past_its_expiry_still_sums_to_the_remaining_it_shows(
    alice: Tenant, lapsed: tuple[int, int, int]
) -> None:
    # CreditDetail.transactions promises "sums to remaining_cents"; a read shows remaining 0 before any write
    # has posted the expire row, so the ledger it shows must account for the expiry too.
    _, gone, _ = lapsed
    async with alice.client() as c:
        credit = await c.ok("get_credit", credit_id=gone)
    assert sum(t["amount_cents"] for t in credit["transactions"]) == credit["remaining_cents"] == 0


async def test_a_credit_past_its_expiry_is_left_out_of_the_vendors_balance(
    alice: Tenant, lapsed: tuple[int, int, int]
) -> None:
    vendor, gone, live = lapsed
    async with alice.client() as c:
        detail = await c.ok("get_vendor", vendor_id=vendor)
        listed = await c.ok("list_vendors")
    assert detail["credit_balance_cents"] == 1500
    assert [(v["id"], v["credit_balance_cents"]) for v in listed["items"]] == [(vendor, 1500)]
    assert [(cr["id"], cr["status"], cr["remaining_cents"]) for cr in detail["credits"]] == [
        (live, "live", 1500),
        (gone, "expired", 0),
    ]


@pytest.mark.parametrize("write", ["create_credit", "update_credit", "delete_credit"])
async def test_the_next_credit_write_posts_the_expire_row_so_remaining_equals_the_ledger(
    alice: Tenant, lapsed: tuple[int, int, int], write: str
) -> None:
    _, gone, live = lapsed
    other_vendor = await add_vendor(alice, "Olive Grove")
    async with alice.client() as c:
        if write == "create_credit":
            await c.ok("create_credit", vendor_id=other_vendor, credit_amount=5)
        elif write == "update_credit":
            await c.ok("update_credit", credit_id=live, notes="Still good")
        else:
            await c.ok("delete_credit", credit_id=live)
        credit = await c.ok("get_credit", credit_id=gone)
    assert await ledger(alice, gone) == [("grant", 4000, 4000, None, ""), ("expire", -4000, 0, None, "expired")]
    assert await stored(alice, gone) == (0, 0, False)
    assert (credit["remaining_cents"], entries(credit)) == (
        0,
        [("grant", 4000, 4000, None), ("expire", -4000, 0, None)],
    )


async def test_every_credit_in_the_table_equals_the_sum_of_its_ledger_after_a_mix_of_writes(
    alice: Tenant, lapsed: tuple[int, int, int]
) -> None:
    vendor, gone, live = lapsed
    order = await add_order(alice, vendor)
    async with alice.client() as c:
        spent = await issue(c, vendor, 25, expires_at=in_days(2))
        await spend(alice, spent, 2500, order_id=order)
        await c.ok("update_credit", credit_id=live, remaining_amount=100)
        doomed = await issue(c, vendor, 8)
        await c.ok("delete_credit", credit_id=doomed)
    for credit_id, deleted in ((gone, False), (live, False), (spent, False), (doomed, True)):
        remaining, total, is_deleted = await stored(alice, credit_id)
        assert (remaining == total, is_deleted) == (True, deleted), credit_id
    assert [await stored(alice, i) for i in (gone, live, spent, doomed)] == [
        (0, 0, False),
        (10000, 10000, False),
        (0, 0, False),
        (0, 0, True),
    ]
