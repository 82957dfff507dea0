"""markets: list_markets, get_market, create_market, update_market — through the MCP client, as a model calls them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from market_mcp.db import Database
from market_mcp.db.tables import Application, Booking, Market, MarketDate, Vendor
from tests.factories import Tenant, next_weekday, today

# ---------------------------------------------------------------- helpers (rows written straight to the store)


async def add_vendor(tenant: Tenant, name: str) -> int:
    async with tenant.db.transaction(write=True) as session:
        vendor = Vendor(
            organization_id=tenant.org_id,
            business_name=name,
            email=name.lower().replace(" ", ".") + "@example.com",
        )
        session.add(vendor)
        await session.flush()
        return vendor.id  # type: ignore[return-value]


async def add_application(tenant: Tenant, *, market_id: int, vendor_id: int, status: str) -> None:
    async with tenant.db.transaction(write=True) as session:
        session.add(Application(organization_id=tenant.org_id, vendor_id=vendor_id, market_id=market_id, status=status))


async def add_booking(tenant: Tenant, *, market_date_id: int, vendor_id: int, status: str) -> None:
    async with tenant.db.transaction(write=True) as session:
        session.add(
            Booking(organization_id=tenant.org_id, vendor_id=vendor_id, market_date_id=market_date_id, status=status)
        )


async def add_market_date(tenant: Tenant, *, market_id: int, day: date, status: str = "scheduled") -> int:
    """A date the tools would refuse to create (in the past, or already cancelled)."""
    async with tenant.db.transaction(write=True) as session:
        md = MarketDate(
            organization_id=tenant.org_id, market_id=market_id, scheduled_at=day, capacity=10, status=status
        )
        session.add(md)
        await session.flush()
        return md.id  # type: ignore[return-value]


async def market_count(db: Database) -> int:
    async with db.transaction() as session:
        return (await session.execute(select(func.count()).select_from(Market))).scalar_one()


def without_times(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("created_at", "updated_at")}


# ---------------------------------------------------------------- list_markets


async def test_list_markets_pages_in_name_order_any_case_with_next_offset_null_on_the_last_page(alice: Tenant) -> None:
    async with alice.client() as c:
        for name in ("charlie Night", "Alpha Farmers", "Bravo Makers"):
            await c.ok("create_market", name=name)
        first = await c.ok("list_markets", limit=2)
        last = await c.ok("list_markets", limit=2, offset=first["next_offset"])
    assert [m["name"] for m in first["items"]] == ["Alpha Farmers", "Bravo Makers"]
    assert {k: first[k] for k in ("total", "limit", "offset", "next_offset")} == {
        "total": 3,
        "limit": 2,
        "offset": 0,
        "next_offset": 2,
    }
    assert [m["name"] for m in last["items"]] == ["charlie Night"]
    assert {k: last[k] for k in ("total", "limit", "offset", "next_offset")} == {
        "total": 3,
        "limit": 2,
        "offset": 2,
        "next_offset": None,
    }


async def test_an_organisation_without_markets_gets_an_empty_page(alice: Tenant) -> None:
    async with alice.client() as c:
        page = await c.ok("list_markets")
    assert page == {"items": [], "total": 0, "limit": 20, "offset": 0, "next_offset": None, "page": "Nothing matches."}


async def test_list_markets_filters_by_status(alice: Tenant) -> None:
    async with alice.client() as c:
        await c.ok("create_market", name="Open Market", status="published")
        await c.ok("create_market", name="Hidden Market")
        published = await c.ok("list_markets", status="published")
        unpublished = await c.ok("list_markets", status="unpublished")
    assert [(m["name"], m["status"]) for m in published["items"]] == [("Open Market", "published")]
    assert published["total"] == 1
    assert [(m["name"], m["status"]) for m in unpublished["items"]] == [("Hidden Market", "unpublished")]
    assert unpublished["total"] == 1


async def test_the_query_matches_name_slug_or_region_in_any_case(alice: Tenant) -> None:
    async with alice.client() as c:
        await c.ok("create_market", name="Riverside Farmers")
        await c.ok("create_market", name="Southbank Night", slug="sth-night")
        await c.ok("create_market", name="Makers Corner", region="Inner North")
        by_name = await c.ok("list_markets", query="RIVERSIDE")
        by_slug = await c.ok("list_markets", query="STH-NI")
        by_region = await c.ok("list_markets", query="inner nor")
        nothing = await c.ok("list_markets", query="harbour")
    assert [m["name"] for m in by_name["items"]] == ["Riverside Farmers"]
    assert [m["name"] for m in by_slug["items"]] == ["Southbank Night"]
    assert [m["name"] for m in by_region["items"]] == ["Makers Corner"]
    assert (nothing["items"], nothing["total"]) == ([], 0)


async def test_the_query_treats_percent_and_underscore_literally(alice: Tenant) -> None:
    async with alice.client() as c:
        await c.ok("create_market", name="100% Local")
        await c.ok("create_market", name="Riverside Farmers")
        percent = await c.ok("list_markets", query="%")
        underscore = await c.ok("list_markets", query="_")
    assert [m["name"] for m in percent["items"]] == ["100% Local"]
    assert underscore["total"] == 0


async def test_the_query_matches_a_name_with_accented_capitals_in_any_case(alice: Tenant) -> None:
    # Contract: "case-insensitive". SQLite's lower() folds ASCII only, so "Ō" never meets "ō".
    async with alice.client() as c:
        await c.ok("create_market", name="Ōtāhuhu Night Market")
        found = await c.ok("list_markets", query="ōtāhuhu")
    assert [m["name"] for m in found["items"]] == ["Ōtāhuhu Night Market"]


async def test_list_markets_shows_the_next_scheduled_trading_day(alice: Tenant) -> None:
    saturday = next_weekday(6)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(saturday + timedelta(weeks=1)))
        await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(saturday))
        await add_market_date(alice, market_id=market["id"], day=today() - timedelta(days=3))
        page = await c.ok("list_markets")
    assert page["items"][0]["next_market_date"] == str(saturday)


async def test_a_limit_over_200_is_refused_naming_limit_and_the_maximum(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("list_markets", 422, limit=201)
    assert message == "Invalid arguments: limit must be at most 200; got 201."


async def test_a_limit_of_200_is_accepted(alice: Tenant) -> None:
    async with alice.client() as c:
        page = await c.ok("list_markets", limit=200)
    assert page["limit"] == 200


async def test_list_markets_never_shows_another_organisations_markets(alice: Tenant, bob: Tenant) -> None:
    async with bob.client() as c:
        await c.ok("create_market", name="Bob's Market")
    async with alice.client() as c:
        page = await c.ok("list_markets", query="bob")
    assert (page["items"], page["total"]) == ([], 0)


# ---------------------------------------------------------------- create_market


async def test_a_new_market_has_the_documented_defaults_and_the_organisations_currency(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside Farmers")
    assert without_times(market) == {
        "id": market["id"],
        "name": "Riverside Farmers",
        "slug": "riverside-farmers",
        "region": "",
        "market_type": "",
        "status": "unpublished",
        "booking_enabled": True,
        "waitlist_auto_notify": False,
        "default_fee_cents": 0,
        "currency": "AUD",
        "capacity": 40,
        "location": "",
        "description": "",
        "reference": "",
        "metadata": {},
        "next_market_date": None,
        "payment_terms": {
            "payment_due_days": None,
            "payment_due_days_before": None,
            "release_unpaid": False,
            "payment_reminders": [],
        },
        "upcoming_dates": [],
        "upcoming_dates_count": 0,
        "upcoming_confirmed_bookings": 0,
        "pending_applications": 0,
        "approved_vendors": 0,
        "booking_cutoff_hours": None,
        "bump_in_minutes": None,
        "application_questions": [],
    }
    assert market["created_at"].endswith("Z")


async def test_every_field_given_to_create_market_is_kept(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok(
            "create_market",
            name="Southbank Night",
            slug="southbank",
            region="Southbank",
            market_type="Night",
            status="published",
            booking_enabled=False,
            waitlist_auto_notify=True,
            default_fee="45.50",
            capacity=60,
            location="Riverside Walk",
            description="Food and music by the river.",
            reference="XERO-42",
            metadata={"colour": "blue", "stalls": [1, 2]},
        )
        again = await c.ok("get_market", market_id=market["id"])
    assert {k: market[k] for k in market if k not in ("id", "created_at", "updated_at", "upcoming_dates")} == {
        "name": "Southbank Night",
        "slug": "southbank",
        "region": "Southbank",
        "market_type": "Night",
        "status": "published",
        "booking_enabled": False,
        "waitlist_auto_notify": True,
        "default_fee_cents": 4550,
        "currency": "AUD",
        "capacity": 60,
        "location": "Riverside Walk",
        "description": "Food and music by the river.",
        "reference": "XERO-42",
        "metadata": {"colour": "blue", "stalls": [1, 2]},
        "next_market_date": None,
        "payment_terms": {
            "payment_due_days": None,
            "payment_due_days_before": None,
            "release_unpaid": False,
            "payment_reminders": [],
        },
        "upcoming_dates_count": 0,
        "upcoming_confirmed_bookings": 0,
        "pending_applications": 0,
        "approved_vendors": 0,
        "booking_cutoff_hours": None,
        "bump_in_minutes": None,
        "application_questions": [],
    }
    assert again == market


async def test_the_slug_is_made_from_the_name_and_a_repeat_gets_a_2_suffix(alice: Tenant) -> None:
    async with alice.client() as c:
        first = await c.ok("create_market", name="Riverside  Farmers' Market!")
        second = await c.ok("create_market", name="Riverside Farmers Market")
        third = await c.ok("create_market", name="RIVERSIDE farmers market")
    assert [first["slug"], second["slug"], third["slug"]] == [
        "riverside-farmers-market",
        "riverside-farmers-market-2",
        "riverside-farmers-market-3",
    ]


async def test_a_name_without_letters_or_digits_gets_the_slug_market(alice: Tenant) -> None:
    async with alice.client() as c:
        first = await c.ok("create_market", name="★ ★ ★")
        second = await c.ok("create_market", name="!!!")
    assert (first["slug"], second["slug"]) == ("market", "market-2")


async def test_a_derived_slug_skips_a_suffix_taken_by_an_explicit_slug(alice: Tenant) -> None:
    async with alice.client() as c:
        await c.ok("create_market", name="Riverside")
        await c.ok("create_market", name="Something Else", slug="riverside-2")
        third = await c.ok("create_market", name="Riverside")
    assert third["slug"] == "riverside-3"


async def test_a_deduplicated_slug_of_a_long_name_is_still_a_valid_slug(alice: Tenant) -> None:
    # 61 letters, a space, "bc": the slug is 64 characters; cutting it for "-2" must not leave "--2".
    name = "a" * 61 + " bc"
    async with alice.client() as c:
        first = await c.ok("create_market", name=name)
        second = await c.ok("create_market", name=name)
    assert first["slug"] == "a" * 61 + "-bc"
    assert second["slug"] == "a" * 61 + "-2"


async def test_another_organisations_slug_does_not_count_as_taken(alice: Tenant, bob: Tenant) -> None:
    async with bob.client() as c:
        await c.ok("create_market", name="Riverside")
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        explicit = await c.ok("create_market", name="Other", slug="riverside-2")
    assert (market["slug"], explicit["slug"]) == ("riverside", "riverside-2")


async def test_an_explicit_slug_already_in_use_is_refused_with_409_naming_the_market(alice: Tenant) -> None:
    async with alice.client() as c:
        first = await c.ok("create_market", name="Riverside Farmers", slug="riverside")
        message = await c.refused("create_market", 409, name="Other", slug="riverside")
    assert message == (
        f"Slug 'riverside' is already used by market {first['id']} (Riverside Farmers); choose another slug."
    )
    assert await market_count(alice.db) == 1


async def test_a_slug_that_is_not_lowercase_words_joined_by_hyphens_is_refused(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("create_market", 422, name="Riverside", slug="River Side")
    assert message == (
        "Invalid arguments: slug must be lowercase letters, digits and hyphens, e.g. riverside-markets; "
        "got 'River Side'."
    )


async def test_an_empty_name_is_refused(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("create_market", 422, name="")
    assert message == "Invalid arguments: name must not be empty."


async def test_a_capacity_over_10000_is_refused(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("create_market", 422, name="Riverside", capacity=10_001)
    assert message == "Invalid arguments: capacity must be at most 10000; got 10001."


async def test_metadata_over_4000_characters_of_json_is_refused(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("create_market", 422, name="Riverside", metadata={"notes": "x" * 4000})
    assert message == "Invalid arguments: metadata must be at most 4,000 characters of JSON."
    assert await market_count(alice.db) == 0


# ---------------------------------------------------------------- get_market


async def test_get_market_counts_come_from_the_store(alice: Tenant) -> None:
    first_saturday = next_weekday(6)
    saturdays = [first_saturday + timedelta(weeks=n) for n in range(6)]
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", capacity=10)
        other = await c.ok("create_market", name="Elsewhere")
        dates = [await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(day)) for day in saturdays]
        past = await add_market_date(alice, market_id=market["id"], day=today() - timedelta(days=7))
        cancelled = await add_market_date(
            alice, market_id=market["id"], day=first_saturday + timedelta(days=1), status="cancelled"
        )
        vendors = [await add_vendor(alice, f"Vendor {n}") for n in range(6)]
        for vendor in vendors[:3]:
            await add_booking(alice, market_date_id=dates[0]["id"], vendor_id=vendor, status="confirmed")
        await add_booking(alice, market_date_id=dates[0]["id"], vendor_id=vendors[3], status="pending")
        await add_booking(alice, market_date_id=dates[0]["id"], vendor_id=vendors[4], status="cancelled")
        await add_booking(alice, market_date_id=dates[1]["id"], vendor_id=vendors[0], status="confirmed")
        await add_booking(alice, market_date_id=past, vendor_id=vendors[0], status="confirmed")  # past: not counted
        await add_booking(alice, market_date_id=cancelled, vendor_id=vendors[1], status="confirmed")  # not counted
        await add_application(alice, market_id=market["id"], vendor_id=vendors[0], status="pending")
        await add_application(alice, market_id=market["id"], vendor_id=vendors[1], status="pending")
        await add_application(alice, market_id=market["id"], vendor_id=vendors[2], status="approved")
        await add_application(alice, market_id=market["id"], vendor_id=vendors[3], status="rejected")
        await add_application(alice, market_id=other["id"], vendor_id=vendors[4], status="pending")
        detail = await c.ok("get_market", market_id=market["id"])
    assert detail["upcoming_dates_count"] == 6
    assert detail["upcoming_confirmed_bookings"] == 4
    assert detail["pending_applications"] == 2
    assert detail["approved_vendors"] == 1
    assert detail["next_market_date"] == str(first_saturday)
    assert [
        (d["id"], d["scheduled_at"], d["confirmed_count"], d["pending_count"], d["spaces_left"])
        for d in detail["upcoming_dates"]
    ] == [
        (dates[0]["id"], str(saturdays[0]), 3, 1, 7),
        (dates[1]["id"], str(saturdays[1]), 1, 0, 9),
        (dates[2]["id"], str(saturdays[2]), 0, 0, 10),
        (dates[3]["id"], str(saturdays[3]), 0, 0, 10),
        (dates[4]["id"], str(saturdays[4]), 0, 0, 10),
    ]


async def test_get_market_of_an_unknown_id_is_refused_with_404(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("get_market", 404, market_id=999)
    assert message == "Market 999 not found."


async def test_another_organisations_market_is_not_found_in_the_same_words(alice: Tenant, bob: Tenant) -> None:
    async with bob.client() as c:
        bobs = await c.ok("create_market", name="Bob's Market")
    async with alice.client() as c:
        message = await c.refused("get_market", 404, market_id=bobs["id"])
    assert message == f"Market {bobs['id']} not found."


async def test_a_market_id_below_1_is_refused_naming_market_id(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("get_market", 422, market_id=0)
    assert message == (
        "Invalid arguments: market_id must be at least 1; got 0. To find it, call list_markets "
        "(query= finds one by name)."
    )


# ---------------------------------------------------------------- update_market


async def test_update_market_changes_only_the_fields_passed(alice: Tenant) -> None:
    async with alice.client() as c:
        before = await c.ok(
            "create_market",
            name="Riverside",
            region="Inner North",
            location="Park",
            description="Every Saturday.",
            default_fee=30,
            metadata={"a": 1},
        )
        after = await c.ok("update_market", market_id=before["id"], name="Riverside Farmers", capacity=55)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"name", "capacity", "updated_at"}
    assert (after["name"], after["capacity"], after["slug"]) == ("Riverside Farmers", 55, "riverside")
    assert datetime.fromisoformat(after["updated_at"]) > datetime.fromisoformat(before["updated_at"])


async def test_an_empty_string_clears_a_text_field(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", region="Inner North", reference="R-1")
        after = await c.ok("update_market", market_id=market["id"], region="")
    assert (after["region"], after["reference"]) == ("", "R-1")


async def test_metadata_is_replaced_as_a_whole(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", metadata={"a": 1, "b": 2})
        replaced = await c.ok("update_market", market_id=market["id"], metadata={"c": 3})
        emptied = await c.ok("update_market", market_id=market["id"], metadata={})
    assert replaced["metadata"] == {"c": 3}
    assert emptied["metadata"] == {}


async def test_update_market_takes_the_fee_as_a_decimal_amount(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        after = await c.ok("update_market", market_id=market["id"], default_fee="45.50", status="published")
    assert (after["default_fee_cents"], after["currency"], after["status"]) == (4550, "AUD", "published")


async def test_a_market_may_keep_its_own_slug(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        after = await c.ok("update_market", market_id=market["id"], slug="riverside", name="Riverside Farmers")
    assert (after["slug"], after["name"]) == ("riverside", "Riverside Farmers")


async def test_changing_to_a_slug_in_use_is_refused_with_409_and_changes_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        taken = await c.ok("create_market", name="Riverside")
        market = await c.ok("create_market", name="Southbank")
        message = await c.refused("update_market", 409, market_id=market["id"], slug="riverside", name="Renamed")
        unchanged = await c.ok("get_market", market_id=market["id"])
    assert message == f"Slug 'riverside' is already used by market {taken['id']} (Riverside); choose another slug."
    assert (unchanged["name"], unchanged["slug"]) == ("Southbank", "southbank")
    assert unchanged["updated_at"] == market["updated_at"]


async def test_updating_an_unknown_market_is_refused_with_404(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("update_market", 404, market_id=999, name="Nope")
    assert message == "Market 999 not found."


async def test_updating_another_organisations_market_is_404_and_leaves_it_alone(alice: Tenant, bob: Tenant) -> None:
    async with bob.client() as c:
        bobs = await c.ok("create_market", name="Bob's Market")
    async with alice.client() as c:
        message = await c.refused("update_market", 404, market_id=bobs["id"], name="Taken Over")
    async with bob.client() as c:
        after = await c.ok("get_market", market_id=bobs["id"])
    assert message == f"Market {bobs['id']} not found."
    assert after["name"] == "Bob's Market"


async def test_an_invalid_field_in_an_update_is_refused_and_changes_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        message = await c.refused("update_market", 422, market_id=market["id"], name="Renamed", default_fee="-5")
        after = await c.ok("get_market", market_id=market["id"])
    assert message == "Invalid arguments: default_fee cannot be negative; got -5."
    assert after == market


async def test_timestamps_are_utc(alice: Tenant) -> None:
    started = datetime.now(UTC)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
    created = datetime.fromisoformat(market["created_at"])
    assert created.tzinfo is not None and started - timedelta(seconds=5) <= created <= datetime.now(UTC)


async def test_three_markets_with_the_same_long_name_get_distinct_slugs(alice: Tenant) -> None:
    # A name longer than a slug: the suffixed slugs are cut short, so they no longer start with the base slug.
    name = "The Riverside Farmers and Makers Market of the Inner North Region, Victoria"
    base = "the-riverside-farmers-and-makers-market-of-the-inner-north-regio"
    async with alice.client() as c:
        slugs = [(await c.ok("create_market", name=name))["slug"] for _ in range(3)]
    assert slugs == [base, base[:62] + "-2", base[:62] + "-3"]
