"""vendors: finding stallholders, their history and balance, their details, emailing them, internal notes.

History (bookings, attendance, credits, orders, applications) is written straight to the store, so each
count and balance below is proven from rows whose every field the test chose.
The organisation's timezone is Australia/Melbourne: AEDT (UTC+11) in March, AEST (UTC+10) in July.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from market_mcp.db.tables import Application, Booking, Credit, Email, Market, MarketDate, Order, Vendor, VendorNote
from tests.factories import Tenant, emails_queued, next_weekday, today

NOW = datetime.now(UTC)
NEXT_YEAR = today().year + 1


# ---------------------------------------------------------------- helpers (rows written straight to the store)


async def add(tenant: Tenant, model: type[Any], **fields: Any) -> int:
    """Insert one row of `model` in the tenant's organisation; its id."""
    async with tenant.db.transaction(write=True) as session:
        row = model(organization_id=tenant.org_id, **fields)
        session.add(row)
        await session.flush()
        return row.id  # type: ignore[no-any-return]


async def add_vendor(tenant: Tenant, business_name: str, **fields: Any) -> int:
    email = fields.pop("email", business_name.lower().replace(" ", ".").replace("'", "") + "@example.com")
    return await add(tenant, Vendor, business_name=business_name, email=email, **fields)


async def add_market(tenant: Tenant, name: str = "Riverside", **fields: Any) -> int:
    return await add(tenant, Market, name=name, slug=name.lower().replace(" ", "-"), **fields)


async def add_date(tenant: Tenant, market_id: int, day: date, **fields: Any) -> int:
    return await add(
        tenant, MarketDate, market_id=market_id, scheduled_at=day, capacity=fields.pop("capacity", 10), **fields
    )


async def add_booking(
    tenant: Tenant, vendor_id: int, market_date_id: int, status: str = "confirmed", **fields: Any
) -> int:
    return await add(tenant, Booking, vendor_id=vendor_id, market_date_id=market_date_id, status=status, **fields)


async def add_credit(tenant: Tenant, vendor_id: int, amount_cents: int, remaining_cents: int, **fields: Any) -> int:
    return await add(
        tenant, Credit, vendor_id=vendor_id, amount_cents=amount_cents, remaining_cents=remaining_cents, **fields
    )


async def rows(tenant: Tenant, model: Any) -> int:
    """How many rows of `model` the tenant's organisation has."""
    async with tenant.db.transaction() as session:
        stmt = select(func.count()).select_from(model).where(model.organization_id == tenant.org_id)
        return (await session.execute(stmt)).scalar_one()


async def outbox(tenant: Tenant) -> list[dict[str, Any]]:
    """The organisation's outbox, oldest first."""
    async with tenant.db.transaction() as session:
        found = (
            await session.execute(select(Email).where(Email.organization_id == tenant.org_id).order_by(Email.id))
        ).scalars()
        return [
            {
                "id": e.id,
                "kind": e.kind,
                "to": e.to,
                "subject": e.subject,
                "body": e.body,
                "vendor_id": e.vendor_id,
                "record_type": e.record_type,
                "record_id": e.record_id,
                "status": e.status,
            }
            for e in found
        ]


def names(page: dict[str, Any]) -> list[str]:
    return [v["business_name"] for v in page["items"]]


def at(text: str) -> datetime:
    """An aware UTC instant from 'YYYY-MM-DDTHH:MM:SS'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def stamp(moment: datetime) -> str:
    """A UTC instant as the tools print it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------- list_vendors


async def test_vendors_are_listed_by_business_name_ignoring_case_each_with_counts_and_balance(alice: Tenant) -> None:
    coastal = await add_vendor(alice, "Coastal Candles")
    banksia = await add_vendor(
        alice,
        "banksia bakery",
        contact_name="Sam Lee",
        email="sam@banksia.example.com",
        phone="0400 111 222",
        category="Bakery",
        created_at=at("2025-03-01T01:02:03"),
        updated_at=at("2025-03-02T04:05:06"),
    )
    acacia = await add_vendor(alice, "Acacia Coffee")
    async with alice.client() as c:
        page = await c.ok("list_vendors")
        in_full = await c.ok("list_vendors", detail="full")
    assert [v["id"] for v in page["items"]] == [v["id"] for v in in_full["items"]] == [acacia, banksia, coastal]
    assert (page["total"], page["limit"], page["offset"], page["next_offset"], page["page"]) == (
        3,
        20,
        0,
        None,
        "All 3 shown.",
    )
    assert page["items"][1] == {
        "id": banksia,
        "business_name": "banksia bakery",
        "contact_name": "Sam Lee",
        "email": "sam@banksia.example.com",
        "phone": "0400 111 222",
        "category": "Bakery",
        "total_bookings": 0,
        "last_attended": None,
        "credit_balance_cents": 0,
        "currency": "AUD",
    }
    assert in_full["items"][1] == {
        **page["items"][1],
        "trusted": False,
        "needs": [],
        "created_at": "2025-03-01T01:02:03Z",
        "updated_at": "2025-03-02T04:05:06Z",
    }


async def test_an_organisation_without_vendors_lists_none(alice: Tenant) -> None:
    async with alice.client() as c:
        page = await c.ok("list_vendors")
    assert page == {"items": [], "total": 0, "limit": 20, "offset": 0, "next_offset": None, "page": "Nothing matches."}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ōtaki", ["Ōtaki Honey"]),  # business name, an accented capital matched by its small letter
        ("ŌTAKI", ["Ōtaki Honey"]),
        ("élodie", ["Coastal Candles"]),  # contact name, accented
        ("ÉLODIE MARTIN", ["Coastal Candles"]),
        ("otaki-honey.example", ["Ōtaki Honey"]),  # email
        ("HELLO@COASTAL", ["Coastal Candles"]),
        ("craft", ["Coastal Candles"]),  # category
        ("BAKERY", ["Banksia Bakery"]),  # business name and category of the same vendor: listed once
        ("sam", ["Banksia Bakery"]),  # contact and email of the same vendor
        ("  candles  ", ["Coastal Candles"]),
        ("example.com", ["Banksia Bakery", "Coastal Candles", "Ōtaki Honey"]),
        ("nobody", []),
    ],
)
async def test_query_matches_business_contact_email_or_category_ignoring_case(
    alice: Tenant, query: str, expected: list[str]
) -> None:
    await add_vendor(
        alice, "Ōtaki Honey", contact_name="Kiri Te Awa", email="orders@otaki-honey.example.com", category="Produce"
    )
    await add_vendor(
        alice, "Banksia Bakery", contact_name="Sam Lee", email="sam@banksia.example.com", category="Bakery"
    )
    await add_vendor(
        alice, "Coastal Candles", contact_name="Élodie Martin", email="hello@coastal.example.com", category="Craft"
    )
    async with alice.client() as c:
        page = await c.ok("list_vendors", query=query)
    assert (names(page), page["total"]) == (expected, len(expected))


async def test_query_takes_percent_and_underscore_literally(alice: Tenant) -> None:
    await add_vendor(alice, "100% Juice", email="juice@example.com")
    await add_vendor(alice, "1000 Cups", email="cups@example.com")
    await add_vendor(alice, "Tea_House", email="tea@example.com")
    await add_vendor(alice, "Tea House", email="teahouse@example.com")
    async with alice.client() as c:
        percent = await c.ok("list_vendors", query="100%")
        underscore = await c.ok("list_vendors", query="tea_")
    assert names(percent) == ["100% Juice"]
    assert names(underscore) == ["Tea_House"]


async def test_market_id_keeps_only_vendors_with_an_approved_application_to_that_market(alice: Tenant) -> None:
    riverside = await add_market(alice, "Riverside")
    southbank = await add_market(alice, "Southbank")
    approved = await add_vendor(alice, "Approved Apples")
    again = await add_vendor(alice, "Approved After Rejection")
    for status, name in [("pending", "Pending Pies"), ("rejected", "Rejected Rugs"), ("waitlisted", "Waiting Wares")]:
        vendor = await add_vendor(alice, name)
        await add(alice, Application, vendor_id=vendor, market_id=riverside, status=status)
    elsewhere = await add_vendor(alice, "Elsewhere Eggs")
    await add(alice, Application, vendor_id=approved, market_id=riverside, status="approved")
    await add(alice, Application, vendor_id=again, market_id=riverside, status="rejected")
    await add(alice, Application, vendor_id=again, market_id=riverside, status="approved")
    await add(alice, Application, vendor_id=elsewhere, market_id=southbank, status="approved")
    async with alice.client() as c:
        at_riverside = await c.ok("list_vendors", market_id=riverside)
        at_southbank = await c.ok("list_vendors", market_id=southbank)
        at_riverside_named = await c.ok("list_vendors", market_id=riverside, query="rejection")
    assert ([v["id"] for v in at_riverside["items"]], at_riverside["total"]) == ([again, approved], 2)
    assert ([v["id"] for v in at_southbank["items"]], at_southbank["total"]) == ([elsewhere], 1)
    assert ([v["id"] for v in at_riverside_named["items"]], at_riverside_named["total"]) == ([again], 1)


@pytest.mark.parametrize(
    ("day", "before", "first", "last", "after"),
    [
        # 10 March is in AEDT: the local day runs from 13:00 UTC on the 9th to 13:00 UTC on the 10th.
        ("2025-03-10", "2025-03-09T12:59:59", "2025-03-09T13:00:00", "2025-03-10T12:59:59", "2025-03-10T13:00:00"),
        # 10 July is in AEST: from 14:00 UTC on the 9th to 14:00 UTC on the 10th.
        ("2025-07-10", "2025-07-09T13:59:59", "2025-07-09T14:00:00", "2025-07-10T13:59:59", "2025-07-10T14:00:00"),
    ],
)
async def test_start_date_and_end_date_are_days_of_joining_in_the_organisations_timezone(
    alice: Tenant, day: str, before: str, first: str, last: str, after: str
) -> None:
    await add_vendor(alice, "Acacia Before", created_at=at(before))
    await add_vendor(alice, "Banksia First", created_at=at(first))
    await add_vendor(alice, "Coastal Last", created_at=at(last))
    await add_vendor(alice, "Dune After", created_at=at(after))
    async with alice.client() as c:
        that_day = await c.ok("list_vendors", start_date=day, end_date=day)
        from_that_day = await c.ok("list_vendors", start_date=day)
        until_that_day = await c.ok("list_vendors", end_date=day)
    assert (names(that_day), that_day["total"]) == (["Banksia First", "Coastal Last"], 2)
    assert names(from_that_day) == ["Banksia First", "Coastal Last", "Dune After"]
    assert names(until_that_day) == ["Acacia Before", "Banksia First", "Coastal Last"]


async def test_vendors_are_paged_with_next_offset_until_the_last_page(alice: Tenant) -> None:
    for name in ["Echo", "Delta", "Charlie", "Bravo", "Alpha"]:
        await add_vendor(alice, name)
    async with alice.client() as c:
        first = await c.ok("list_vendors", limit=2)
        second = await c.ok("list_vendors", limit=2, offset=first["next_offset"])
        last = await c.ok("list_vendors", limit=2, offset=second["next_offset"])
        beyond = await c.ok("list_vendors", limit=2, offset=10)
    assert (names(first), first["total"], first["offset"], first["next_offset"]) == (["Alpha", "Bravo"], 5, 0, 2)
    assert (names(second), second["offset"], second["next_offset"]) == (["Charlie", "Delta"], 2, 4)
    assert (names(last), last["offset"], last["next_offset"]) == (["Echo"], 4, None)
    assert (beyond["items"], beyond["total"], beyond["next_offset"]) == ([], 5, None)


async def test_each_page_says_which_items_it_holds_of_how_many_and_how_to_get_the_next(alice: Tenant) -> None:
    for name in ["Echo", "Delta", "Charlie", "Bravo", "Alpha"]:
        await add_vendor(alice, name)
    async with alice.client() as c:
        pages = {
            "first": await c.ok("list_vendors", limit=2),
            "middle": await c.ok("list_vendors", limit=2, offset=2),
            "last": await c.ok("list_vendors", limit=2, offset=4),
            "all": await c.ok("list_vendors"),
            "beyond": await c.ok("list_vendors", limit=2, offset=10),
            "empty": await c.ok("list_vendors", query="nobody by this name"),
        }
    assert {name: page["page"] for name, page in pages.items()} == {
        "first": "Items 1-2 of 5. For the next page call again with offset=2.",
        "middle": "Items 3-4 of 5. For the next page call again with offset=4.",
        "last": "Items 5-5 of 5. This is the last page.",
        "all": "All 5 shown.",
        "beyond": "No items from offset 10: there are 5 in all.",
        "empty": "Nothing matches.",
    }


async def test_a_page_cut_short_by_the_default_limit_says_where_the_rest_begins(alice: Tenant) -> None:
    for n in range(25):
        await add_vendor(alice, f"Vendor {n:02}")
    async with alice.client() as c:
        first = await c.ok("list_vendors")
        rest = await c.ok("list_vendors", offset=first["next_offset"])
    assert (len(first["items"]), first["limit"], first["next_offset"], first["page"]) == (
        20,
        20,
        20,
        "Items 1-20 of 25. For the next page call again with offset=20.",
    )
    assert (names(rest), rest["next_offset"], rest["page"]) == (
        [f"Vendor {n:02}" for n in range(20, 25)],
        None,
        "Items 21-25 of 25. This is the last page.",
    )


async def test_a_limit_above_200_is_refused_naming_the_maximum(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("list_vendors", 422, limit=201)
    assert message == "Invalid arguments: limit must be at most 200; got 201."


async def test_total_bookings_counts_confirmed_bookings_past_and_upcoming_only(alice: Tenant) -> None:
    market = await add_market(alice)
    days = [
        date(2025, 1, 4),
        date(2025, 2, 1),
        next_weekday(6),
        next_weekday(6, weeks_ahead=2),
        next_weekday(6, weeks_ahead=3),
    ]
    dates = [await add_date(alice, market, day) for day in days]
    kiri = await add_vendor(alice, "Kiri's Kitchen")
    other = await add_vendor(alice, "Other Oils")
    for market_date in dates[:3]:
        await add_booking(alice, kiri, market_date, "confirmed")
    await add_booking(alice, kiri, dates[3], "pending")
    await add_booking(alice, kiri, dates[4], "cancelled")
    await add_booking(alice, kiri, dates[4], "rejected")
    await add_booking(alice, other, dates[0], "confirmed")
    async with alice.client() as c:
        page = await c.ok("list_vendors")
        detail = await c.ok("get_vendor", vendor_id=kiri)
    assert [(v["business_name"], v["total_bookings"]) for v in page["items"]] == [
        ("Kiri's Kitchen", 3),
        ("Other Oils", 1),
    ]
    assert detail["total_bookings"] == 3


async def test_last_attended_is_the_latest_market_date_the_vendor_attended(alice: Tenant) -> None:
    market = await add_market(alice)
    january, february, march = (
        await add_date(alice, market, date(2025, 1, 4)),
        await add_date(alice, market, date(2025, 2, 1)),
        await add_date(alice, market, date(2025, 3, 1)),
    )
    upcoming = await add_date(alice, market, next_weekday(6))
    kiri = await add_vendor(alice, "Kiri's Kitchen")
    never = await add_vendor(alice, "No Show Nuts")
    # Inserted out of date order, so the answer cannot come from the row order.
    await add_booking(alice, kiri, february, attended=True)
    await add_booking(alice, kiri, march, attended=False)  # a no-show
    await add_booking(alice, kiri, january, attended=True)
    await add_booking(alice, kiri, upcoming, attended=None)  # not yet closed out
    await add_booking(alice, never, march, attended=False)
    await add_booking(alice, never, upcoming, attended=None)
    async with alice.client() as c:
        page = await c.ok("list_vendors")
        detail = await c.ok("get_vendor", vendor_id=kiri)
    assert [(v["business_name"], v["last_attended"]) for v in page["items"]] == [
        ("Kiri's Kitchen", "2025-02-01"),
        ("No Show Nuts", None),
    ]
    assert detail["last_attended"] == "2025-02-01"


async def test_credit_balance_sums_live_credits_only(alice: Tenant) -> None:
    kiri = await add_vendor(alice, "Kiri's Kitchen")
    other = await add_vendor(alice, "Other Oils")
    await add_credit(alice, kiri, 1000, 1000)  # live, never expires
    await add_credit(alice, kiri, 500, 250, expires_at=NOW + timedelta(days=30))  # live, half used
    await add_credit(alice, kiri, 700, 0)  # used up
    await add_credit(alice, kiri, 300, 300, expires_at=NOW - timedelta(minutes=1))  # expired, expiry not yet posted
    await add_credit(alice, kiri, 400, 400, deleted_at=NOW - timedelta(days=1))  # deleted
    await add_credit(alice, other, 999, 999)  # someone else's
    async with alice.client() as c:
        page = await c.ok("list_vendors")
        detail = await c.ok("get_vendor", vendor_id=kiri)
    assert [(v["business_name"], v["credit_balance_cents"], v["currency"]) for v in page["items"]] == [
        ("Kiri's Kitchen", 1250, "AUD"),
        ("Other Oils", 999, "AUD"),
    ]
    assert detail["credit_balance_cents"] == 1250


async def test_list_vendors_shows_only_the_callers_organisation(alice: Tenant, bob: Tenant) -> None:
    await add_vendor(alice, "Kiri's Kitchen")
    await add_vendor(bob, "Bob's Bagels")
    async with alice.client() as c:
        everything = await c.ok("list_vendors")
        searched = await c.ok("list_vendors", query="bagels")
    assert (names(everything), everything["total"]) == (["Kiri's Kitchen"], 1)
    assert (searched["items"], searched["total"]) == ([], 0)


# ---------------------------------------------------------------- get_vendor


async def test_get_vendor_returns_the_vendor_its_history_and_how_many_notes_it_has(alice: Tenant) -> None:
    market = await add_market(alice, "Riverside")
    kiri = await add_vendor(
        alice,
        "Kiri's Kitchen",
        contact_name="Kiri Te Awa",
        email="kiri@example.com",
        phone="0400 123 456",
        category="Food",
        trusted=True,
        needs=["power", "food_safe"],
        created_at=at("2025-01-02T03:04:05"),
        updated_at=at("2025-01-03T03:04:05"),
    )
    application = await add(
        alice,
        Application,
        vendor_id=kiri,
        market_id=market,
        status="approved",
        submitted_at=at("2025-01-05T00:00:00"),
        decided_at=at("2025-01-06T00:00:00"),
    )
    order = await add(
        alice,
        Order,
        vendor_id=kiri,
        market_id=market,
        status="payment_pending",
        total_cents=4550,
        credit_applied_cents=1000,
        amount_due_cents=3550,
        created_at=at("2025-01-07T00:00:00"),
    )
    market_date = await add_date(alice, market, date(2025, 1, 11))
    booking = await add_booking(
        alice, kiri, market_date, "confirmed", order_id=order, space_number="A4", amount_cents=4550, attended=True
    )
    expiry = at(f"{NEXT_YEAR}-07-01T14:00:00")
    credit = await add_credit(alice, kiri, 1000, 600, source="application", notes="Starter credit", expires_at=expiry)
    for note in ["Prefers a corner stall", "Paid late once"]:
        await add(alice, VendorNote, vendor_id=kiri, note=note, author="alice write")
    async with alice.client() as c:
        detail = await c.ok("get_vendor", vendor_id=kiri)
    assert detail == {
        "id": kiri,
        "business_name": "Kiri's Kitchen",
        "contact_name": "Kiri Te Awa",
        "email": "kiri@example.com",
        "phone": "0400 123 456",
        "category": "Food",
        "trusted": True,
        "needs": ["power", "food_safe"],
        "created_at": "2025-01-02T03:04:05Z",
        "updated_at": "2025-01-03T03:04:05Z",
        "total_bookings": 1,
        "last_attended": "2025-01-11",
        "credit_balance_cents": 600,
        "currency": "AUD",
        "notes_count": 2,
        "applications": [
            {
                "id": application,
                "market_id": market,
                "market_name": "Riverside",
                "status": "approved",
                "submitted_at": "2025-01-05T00:00:00Z",
                "decided_at": "2025-01-06T00:00:00Z",
            }
        ],
        "orders": [
            {
                "id": order,
                "market_id": market,
                "status": "payment_pending",
                "total_cents": 4550,
                "credit_applied_cents": 1000,
                "amount_due_cents": 3550,
                "created_at": "2025-01-07T00:00:00Z",
            }
        ],
        "bookings": [
            {
                "id": booking,
                "market_date_id": market_date,
                "market_name": "Riverside",
                "scheduled_at": "2025-01-11",
                "status": "confirmed",
                "space_number": "A4",
                "amount_cents": 4550,
                "attended": True,
            }
        ],
        "credits": [
            {
                "id": credit,
                "amount_cents": 1000,
                "remaining_cents": 600,
                "status": "live",
                "source": "application",
                "expires_at": f"{NEXT_YEAR}-07-01T14:00:00Z",
                "notes": "Starter credit",
            }
        ],
        "documents": [],
    }


async def test_get_vendor_shows_at_most_ten_of_each_history_newest_first(alice: Tenant) -> None:
    market = await add_market(alice)
    kiri = await add_vendor(alice, "Kiri's Kitchen")
    # Twelve of each, written out of order where the order is by something other than the id.
    shuffled = [7, 2, 11, 0, 5, 9, 1, 10, 3, 8, 6, 4]
    applications = {
        n: await add(
            alice,
            Application,
            vendor_id=kiri,
            market_id=market,
            status="rejected",
            submitted_at=at("2025-01-01T00:00:00") + timedelta(days=n),
        )
        for n in shuffled
    }
    dates = {n: await add_date(alice, market, date(2025, 1, 1) + timedelta(days=7 * n)) for n in shuffled}
    bookings = {n: await add_booking(alice, kiri, dates[n], "confirmed") for n in shuffled}
    orders = [
        await add(
            alice, Order, vendor_id=kiri, market_id=market, created_at=at("2025-01-01T00:00:00") + timedelta(days=n)
        )
        for n in range(12)
    ]
    credits = [
        await add_credit(alice, kiri, 100 + n, 100 + n, created_at=at("2025-01-01T00:00:00") + timedelta(days=n))
        for n in range(12)
    ]
    async with alice.client() as c:
        detail = await c.ok("get_vendor", vendor_id=kiri)
    newest_ten = list(range(11, 1, -1))
    assert [a["id"] for a in detail["applications"]] == [applications[n] for n in newest_ten]
    assert [b["id"] for b in detail["bookings"]] == [bookings[n] for n in newest_ten]
    assert [b["scheduled_at"] for b in detail["bookings"]] == [
        str(date(2025, 1, 1) + timedelta(days=7 * n)) for n in newest_ten
    ]
    assert [o["id"] for o in detail["orders"]] == [orders[n] for n in newest_ten]
    assert [cr["id"] for cr in detail["credits"]] == [credits[n] for n in newest_ten]
    assert (detail["total_bookings"], detail["credit_balance_cents"]) == (12, sum(100 + n for n in range(12)))


async def test_get_vendor_lists_used_and_expired_credits_but_not_deleted_ones(alice: Tenant) -> None:
    kiri = await add_vendor(alice, "Kiri's Kitchen")
    used = await add_credit(alice, kiri, 700, 0, notes="used")
    expired = await add_credit(alice, kiri, 300, 300, notes="expired", expires_at=at("2025-01-01T00:00:00"))
    await add_credit(alice, kiri, 400, 400, notes="deleted", deleted_at=NOW - timedelta(days=1))
    live = await add_credit(alice, kiri, 500, 500, notes="live")
    async with alice.client() as c:
        detail = await c.ok("get_vendor", vendor_id=kiri)
    assert [
        (cr["id"], cr["status"], cr["amount_cents"], cr["remaining_cents"], cr["notes"]) for cr in detail["credits"]
    ] == [
        (live, "live", 500, 500, "live"),
        (expired, "expired", 300, 0, "expired"),
        (used, "used", 700, 0, "used"),
    ]
    assert detail["credit_balance_cents"] == 500


async def test_get_vendor_shows_only_this_vendors_history_in_this_organisation(alice: Tenant, bob: Tenant) -> None:
    market = await add_market(alice)
    market_date = await add_date(alice, market, date(2025, 1, 11))
    kiri = await add_vendor(alice, "Kiri's Kitchen")
    other = await add_vendor(alice, "Other Oils")
    mine = {
        "application": await add(alice, Application, vendor_id=kiri, market_id=market, status="pending"),
        "order": await add(alice, Order, vendor_id=kiri, market_id=market),
        "booking": await add_booking(alice, kiri, market_date, "pending"),
        "credit": await add_credit(alice, kiri, 100, 100),
    }
    await add(alice, VendorNote, vendor_id=kiri, note="mine", author="alice write")
    # Another vendor of the same organisation.
    await add(alice, Application, vendor_id=other, market_id=market, status="pending")
    await add(alice, Order, vendor_id=other, market_id=market)
    await add_booking(alice, other, market_date, "pending")
    await add_credit(alice, other, 200, 200)
    await add(alice, VendorNote, vendor_id=other, note="theirs", author="alice write")
    # Rows of Bob's organisation that (wrongly) name Alice's vendor: scoping must keep them out.
    bobs_market = await add_market(bob, "Bob's Market")
    bobs_date = await add_date(bob, bobs_market, date(2025, 1, 11))
    await add(bob, Application, vendor_id=kiri, market_id=bobs_market, status="rejected")
    await add(bob, Order, vendor_id=kiri, market_id=bobs_market)
    await add(bob, Booking, vendor_id=kiri, market_date_id=bobs_date, status="pending")
    await add(bob, VendorNote, vendor_id=kiri, note="bob's", author="bob write")
    async with alice.client() as c:
        detail = await c.ok("get_vendor", vendor_id=kiri)
    assert [a["id"] for a in detail["applications"]] == [mine["application"]]
    assert [o["id"] for o in detail["orders"]] == [mine["order"]]
    assert [b["id"] for b in detail["bookings"]] == [mine["booking"]]
    assert [cr["id"] for cr in detail["credits"]] == [mine["credit"]]
    assert detail["notes_count"] == 1


async def test_get_vendor_for_an_unknown_vendor_is_refused_with_404(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("get_vendor", 404, vendor_id=999)
    assert message == "Vendor 999 not found."


async def test_get_vendor_for_another_organisations_vendor_is_refused_with_404(alice: Tenant, bob: Tenant) -> None:
    bobs = await add_vendor(bob, "Bob's Bagels")
    async with alice.client() as c:
        message = await c.refused("get_vendor", 404, vendor_id=bobs)
    assert message == f"Vendor {bobs} not found."


# ---------------------------------------------------------------- create_vendor


async def test_create_vendor_adds_the_vendor_with_trimmed_fields_and_emails_nobody(alice: Tenant) -> None:
    async with alice.client() as c:
        vendor = await c.ok(
            "create_vendor",
            business_name="  Kiri's Kitchen ",
            email="Kiri@Example.com",
            contact_name=" Kiri Te Awa ",
            phone=" 0400 123 456 ",
            category=" Food ",
        )
        again = await c.ok("get_vendor", vendor_id=vendor["id"])
    assert vendor == {
        "id": vendor["id"],
        "business_name": "Kiri's Kitchen",
        "contact_name": "Kiri Te Awa",
        "email": "Kiri@Example.com",
        "phone": "0400 123 456",
        "category": "Food",
        "trusted": False,
        "needs": [],
        "created_at": vendor["created_at"],
        "updated_at": vendor["updated_at"],
        "total_bookings": 0,
        "last_attended": None,
        "credit_balance_cents": 0,
        "currency": "AUD",
        "notes_count": 0,
        "applications": [],
        "orders": [],
        "bookings": [],
        "credits": [],
        "documents": [],
    }
    assert again == vendor
    assert (await rows(alice, Vendor), await outbox(alice)) == (1, [])


async def test_create_vendor_needs_only_business_name_and_email(alice: Tenant) -> None:
    async with alice.client() as c:
        vendor = await c.ok("create_vendor", business_name="Kiri's Kitchen", email="kiri@example.com")
    assert (vendor["contact_name"], vendor["phone"], vendor["category"]) == ("", "", "")


@pytest.mark.parametrize("email", ["kiri@example.com", "KIRI@EXAMPLE.COM", "Kiri@example.Com"])
async def test_an_email_another_vendor_has_in_any_case_is_refused_with_409_naming_that_vendor(
    alice: Tenant, email: str
) -> None:
    async with alice.client() as c:
        first = await c.ok("create_vendor", business_name="Kiri's Kitchen", email="kiri@example.com")
        message = await c.refused("create_vendor", 409, business_name="Copycat Cakes", email=email)
    assert message == (
        f'Vendor {first["id"]} ("Kiri\'s Kitchen") already uses "kiri@example.com"; each vendor needs their own email. '
        f"If this is them, use vendor_id={first['id']}; otherwise give another email."
    )
    assert await rows(alice, Vendor) == 1


async def test_an_email_differing_only_in_the_case_of_an_accented_letter_is_refused_with_409(alice: Tenant) -> None:
    async with alice.client() as c:
        first = await c.ok("create_vendor", business_name="Émile Bakes", email="Émile@example.com")
        message = await c.refused("create_vendor", 409, business_name="Copycat Cakes", email="émile@example.com")
    assert message == (
        f'Vendor {first["id"]} ("Émile Bakes") already uses "Émile@example.com"; each vendor needs their own email. '
        f"If this is them, use vendor_id={first['id']}; otherwise give another email."
    )
    assert await rows(alice, Vendor) == 1


async def test_an_email_another_organisation_uses_is_free_here(alice: Tenant, bob: Tenant) -> None:
    await add_vendor(bob, "Bob's Bagels", email="kiri@example.com")
    async with alice.client() as c:
        vendor = await c.ok("create_vendor", business_name="Kiri's Kitchen", email="kiri@example.com")
    assert vendor["email"] == "kiri@example.com"
    assert (await rows(alice, Vendor), await rows(bob, Vendor)) == (1, 1)


@pytest.mark.parametrize("email", ["not-an-email", "kiri@example", "kiri smith@example.com", "@example.com"])
async def test_an_invalid_email_is_refused_with_422_naming_email(alice: Tenant, email: str) -> None:
    async with alice.client() as c:
        message = await c.refused("create_vendor", 422, business_name="Kiri's Kitchen", email=email)
    assert message == f"Invalid arguments: email must be an email address, e.g. name@example.com; got {email!r}."
    assert await rows(alice, Vendor) == 0


async def test_a_missing_business_name_is_refused_with_422_naming_it(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("create_vendor", 422, email="kiri@example.com")
    assert message == "Invalid arguments: business_name is required: text of at most 200 characters."
    assert await rows(alice, Vendor) == 0


async def test_a_business_name_of_only_spaces_is_refused_with_422_naming_it(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("create_vendor", 422, business_name="   ", email="kiri@example.com")
    assert "business_name" in message
    assert await rows(alice, Vendor) == 0


# ---------------------------------------------------------------- update_vendor


async def test_update_vendor_changes_only_the_fields_passed(alice: Tenant) -> None:
    async with alice.client() as c:
        before = await c.ok(
            "create_vendor",
            business_name="Kiri's Kitchen",
            email="kiri@example.com",
            contact_name="Kiri Te Awa",
            phone="0400 123 456",
            category="Food",
        )
        after = await c.ok("update_vendor", vendor_id=before["id"], phone=" 03 9000 0000 ", category="Coffee")
        again = await c.ok("get_vendor", vendor_id=before["id"])
    assert after == before | {"phone": "03 9000 0000", "category": "Coffee", "updated_at": after["updated_at"]}
    assert datetime.fromisoformat(after["updated_at"]) > datetime.fromisoformat(before["updated_at"])
    assert again == after
    assert await outbox(alice) == []


async def test_update_vendor_can_clear_an_optional_field_with_an_empty_string(alice: Tenant) -> None:
    async with alice.client() as c:
        before = await c.ok("create_vendor", business_name="Kiri's Kitchen", email="kiri@example.com", phone="0400")
        after = await c.ok("update_vendor", vendor_id=before["id"], phone="")
    assert (after["phone"], after["business_name"], after["email"]) == ("", "Kiri's Kitchen", "kiri@example.com")


async def test_update_vendor_to_another_vendors_email_is_refused_with_409_and_changes_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        kiri = await c.ok("create_vendor", business_name="Kiri's Kitchen", email="kiri@example.com")
        sam = await c.ok("create_vendor", business_name="Sam's Sourdough", email="sam@example.com")
        message = await c.refused(
            "update_vendor", 409, vendor_id=sam["id"], email="KIRI@example.com", business_name="Renamed"
        )
        after = await c.ok("get_vendor", vendor_id=sam["id"])
    assert message == (
        f'Vendor {kiri["id"]} ("Kiri\'s Kitchen") already uses "kiri@example.com"; each vendor needs their own email. '
        f"If this is them, use vendor_id={kiri['id']}; otherwise give another email."
    )
    assert after == sam


async def test_a_vendor_may_change_the_case_of_its_own_email(alice: Tenant) -> None:
    async with alice.client() as c:
        kiri = await c.ok("create_vendor", business_name="Kiri's Kitchen", email="kiri@example.com")
        after = await c.ok("update_vendor", vendor_id=kiri["id"], email="Kiri@Example.com")
    assert after["email"] == "Kiri@Example.com"
    assert await rows(alice, Vendor) == 1


async def test_update_vendor_with_an_invalid_email_is_refused_with_422_naming_email(alice: Tenant) -> None:
    async with alice.client() as c:
        kiri = await c.ok("create_vendor", business_name="Kiri's Kitchen", email="kiri@example.com")
        message = await c.refused("update_vendor", 422, vendor_id=kiri["id"], email="nope")
        after = await c.ok("get_vendor", vendor_id=kiri["id"])
    assert message.startswith("Invalid arguments: email must be an email address, e.g. name@example.com; got ")
    assert after == kiri


async def test_update_vendor_for_an_unknown_vendor_is_refused_with_404(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("update_vendor", 404, vendor_id=999, phone="0400")
    assert message == "Vendor 999 not found."


async def test_update_vendor_for_another_organisations_vendor_is_refused_with_404(alice: Tenant, bob: Tenant) -> None:
    bobs = await add_vendor(bob, "Bob's Bagels", phone="03")
    async with alice.client() as c:
        message = await c.refused("update_vendor", 404, vendor_id=bobs, phone="0400")
    assert message == f"Vendor {bobs} not found."
    async with bob.client() as c:
        assert (await c.ok("get_vendor", vendor_id=bobs))["phone"] == "03"


# ---------------------------------------------------------------- send_vendor_email


async def test_send_vendor_email_queues_one_message_greeting_the_contact_and_signed_by_the_organisation(
    alice: Tenant,
) -> None:
    kiri = await add_vendor(alice, "Kiri's Kitchen", contact_name="Kiri Te Awa", email="Kiri@Example.com")
    async with alice.client() as c:
        result = await c.ok(
            "send_vendor_email",
            vendor_id=kiri,
            subject=" Your stall this Saturday ",
            message="  You're in space 14, by the fountain.\nSee you at 7.  ",
        )
    (email,) = await outbox(alice)
    assert email == {
        "id": result["email_id"],
        "kind": "vendor_message",
        "to": "Kiri@Example.com",
        "subject": "Your stall this Saturday",
        "body": "Hi Kiri,\n\nYou're in space 14, by the fountain.\nSee you at 7.\n\nAlice Markets",
        "vendor_id": kiri,
        "record_type": "vendor",
        "record_id": kiri,
        "status": "queued",
    }
    assert result == {
        "email_id": email["id"],
        "vendor_id": kiri,
        "to": "Kiri@Example.com",
        "subject": "Your stall this Saturday",
        "kind": "vendor_message",
        "status": "queued",
        "emails": emails_queued(1),
    }


async def test_send_vendor_email_greets_the_business_when_no_contact_is_known(alice: Tenant) -> None:
    kiri = await add_vendor(alice, "Kiri's Kitchen", contact_name="  ")
    async with alice.client() as c:
        await c.ok("send_vendor_email", vendor_id=kiri, subject="Hello", message="Welcome.")
    (email,) = await outbox(alice)
    assert email["body"] == "Hi Kiri's Kitchen,\n\nWelcome.\n\nAlice Markets"


async def test_send_vendor_email_is_announced_as_emailing_people(alice: Tenant) -> None:
    async with alice.client() as c:
        tools = {t.name: t for t in (await c.client.list_tools()).tools}
    hints = tools["send_vendor_email"].annotations
    assert hints is not None
    assert (hints.open_world_hint, hints.read_only_hint, hints.destructive_hint) == (True, False, False)


async def test_send_vendor_email_to_an_unknown_vendor_is_refused_with_404_and_queues_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("send_vendor_email", 404, vendor_id=999, subject="Hello", message="Hi")
    assert message == "Vendor 999 not found."
    assert await outbox(alice) == []


async def test_send_vendor_email_with_an_empty_subject_is_refused_naming_subject(alice: Tenant) -> None:
    kiri = await add_vendor(alice, "Kiri's Kitchen")
    async with alice.client() as c:
        message = await c.refused("send_vendor_email", 422, vendor_id=kiri, subject="", message="Hi")
    assert message == "Invalid arguments: subject must not be empty."
    assert await outbox(alice) == []


# ---------------------------------------------------------------- list_vendor_notes / add_vendor_note


async def test_add_vendor_note_is_signed_with_the_tokens_name_and_emails_nobody(alice: Tenant) -> None:
    kiri = await add_vendor(alice, "Kiri's Kitchen")
    async with alice.client() as c:
        note = await c.ok("add_vendor_note", vendor_id=kiri, note="  Prefers a corner stall.  ")
        listed = await c.ok("list_vendor_notes", vendor_id=kiri)
        detail = await c.ok("get_vendor", vendor_id=kiri)
    assert note == {
        "id": note["id"],
        "vendor_id": kiri,
        "note": "Prefers a corner stall.",
        "author": "alice write",
        "created_at": note["created_at"],
    }
    assert listed == {
        "items": [note],
        "total": 1,
        "limit": 20,
        "offset": 0,
        "next_offset": None,
        "page": "All 1 shown.",
    }
    assert detail["notes_count"] == 1
    assert (await outbox(alice), await rows(alice, Email)) == ([], 0)


async def test_vendor_notes_are_listed_newest_first_and_paged(alice: Tenant) -> None:
    kiri = await add_vendor(alice, "Kiri's Kitchen")
    other = await add_vendor(alice, "Other Oils")
    async with alice.client() as c:
        notes = [(await c.ok("add_vendor_note", vendor_id=kiri, note=f"note {n}"))["id"] for n in range(3)]
        await c.ok("add_vendor_note", vendor_id=other, note="about someone else")
        first = await c.ok("list_vendor_notes", vendor_id=kiri, limit=2)
        rest = await c.ok("list_vendor_notes", vendor_id=kiri, limit=2, offset=first["next_offset"])
    assert ([n["id"] for n in first["items"]], first["total"], first["next_offset"]) == (
        [notes[2], notes[1]],
        3,
        2,
    )
    assert ([n["note"] for n in rest["items"]], rest["next_offset"]) == (["note 0"], None)


async def test_a_vendor_without_notes_lists_none(alice: Tenant) -> None:
    kiri = await add_vendor(alice, "Kiri's Kitchen")
    async with alice.client() as c:
        listed = await c.ok("list_vendor_notes", vendor_id=kiri)
    assert listed == {
        "items": [],
        "total": 0,
        "limit": 20,
        "offset": 0,
        "next_offset": None,
        "page": "Nothing matches.",
    }


async def test_notes_for_an_unknown_vendor_are_refused_with_404_and_nothing_is_written(alice: Tenant) -> None:
    async with alice.client() as c:
        listed = await c.refused("list_vendor_notes", 404, vendor_id=999)
        added = await c.refused("add_vendor_note", 404, vendor_id=999, note="Who?")
    assert (listed, added) == ("Vendor 999 not found.", "Vendor 999 not found.")
    assert await rows(alice, VendorNote) == 0


async def test_notes_for_another_organisations_vendor_are_refused_with_404(alice: Tenant, bob: Tenant) -> None:
    bobs = await add_vendor(bob, "Bob's Bagels")
    await add(bob, VendorNote, vendor_id=bobs, note="Bob's secret", author="bob write")
    async with alice.client() as c:
        listed = await c.refused("list_vendor_notes", 404, vendor_id=bobs)
        added = await c.refused("add_vendor_note", 404, vendor_id=bobs, note="Mine now")
    assert (listed, added) == (f"Vendor {bobs} not found.", f"Vendor {bobs} not found.")
    assert (await rows(alice, VendorNote), await rows(bob, VendorNote)) == (0, 1)


async def test_an_empty_note_is_refused_naming_note(alice: Tenant) -> None:
    kiri = await add_vendor(alice, "Kiri's Kitchen")
    async with alice.client() as c:
        message = await c.refused("add_vendor_note", 422, vendor_id=kiri, note="")
    assert message == "Invalid arguments: note must not be empty."
    assert await rows(alice, VendorNote) == 0
