"""Organisation isolation, for every tool in the registry.

Alice and Bob run markets on the same server. Whatever Alice's token asks for, Bob's records
are "not found" in exactly the words used for a record that never existed, never appear in
her lists, and are not changed. A new tool without a case in CASES fails this file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from mcp import Client
from sqlalchemy import func, select, update
from sqlmodel import SQLModel

from market_mcp.config import Settings
from market_mcp.db import Database
from market_mcp.db.tables import Booking, Credit, MarketDate, Order, StandingBooking, Vendor, WaitlistEntry
from market_mcp.server import build_server
from market_mcp.tools import TOOLSETS
from tests.factories import Caller, Tenant, next_weekday
from tests.factories import today as today_in_melbourne


@dataclass(frozen=True)
class Records:
    """One organisation's record ids, one of each kind."""

    market_id: int
    market_date_id: int
    vendor_id: int
    booking_id: int
    application_id: int
    credit_id: int
    order_id: int
    entry_id: int
    season_id: int = 0
    standing_booking_id: int = 0


# Ids no organisation has: the "never existed" side of every comparison (distinct, so a message names one kind).
NEVER_EXISTED = Records(
    market_id=900_001,
    market_date_id=900_002,
    vendor_id=900_003,
    booking_id=900_004,
    application_id=900_005,
    credit_id=900_006,
    order_id=900_007,
    entry_id=900_008,
    season_id=900_009,
    standing_booking_id=900_010,
)

# How a refusal names a record, by the argument that carries its id (services.scope.label).
LABELS = {
    "market_id": "Market",
    "market_date_id": "Market date",
    "vendor_id": "Vendor",
    "booking_id": "Booking",
    "order_id": "Order",
    "application_id": "Application",
    "credit_id": "Credit",
    "entry_id": "Waitlist entry",
    "season_id": "Season",
    "standing_booking_id": "Standing booking",
    "id": "Vendor",  # fetch's "vendor:N"
}

# Every tool -> the arguments Alice sends to reach Bob's records (given Bob's ids).
CASES: dict[str, Callable[[Records], dict[str, Any]]] = {
    # markets
    "list_markets": lambda r: {},
    "get_market": lambda r: {"market_id": r.market_id},
    "create_market": lambda r: {"name": "Alice Harbour Market"},
    "update_market": lambda r: {"market_id": r.market_id, "name": "Taken over", "capacity": 1},
    # market_dates
    "list_market_dates": lambda r: {"market_id": r.market_id},
    "get_market_date": lambda r: {"market_date_id": r.market_date_id},
    "create_market_date": lambda r: {"market_id": r.market_id, "scheduled_at": str(next_weekday(3))},
    "bulk_create_market_dates": lambda r: {
        "market_id": r.market_id,
        "start_date": str(next_weekday(0)),
        "end_date": str(next_weekday(0, weeks_ahead=4)),
        "day_of_week": 3,
    },
    "update_market_date": lambda r: {"market_date_id": r.market_date_id, "capacity": 0, "start_time": "05:00"},
    "list_market_date_bookings": lambda r: {"market_date_id": r.market_date_id},
    "send_market_email": lambda r: {"market_id": r.market_id, "subject": "Taken over", "message": "Hello"},
    "set_category_caps": lambda r: {"market_id": r.market_id, "caps": [{"category": "bakery", "max_vendors": 0}]},
    # vendors
    "list_vendors": lambda r: {},
    "get_vendor": lambda r: {"vendor_id": r.vendor_id},
    "create_vendor": lambda r: {"business_name": "Alice Pies", "email": "pies@alice.example.com"},
    "update_vendor": lambda r: {"vendor_id": r.vendor_id, "business_name": "Taken over", "phone": "0400 111 111"},
    "send_vendor_email": lambda r: {"vendor_id": r.vendor_id, "subject": "Hello", "message": "Hello from Alice"},
    "list_vendor_notes": lambda r: {"vendor_id": r.vendor_id},
    "add_vendor_note": lambda r: {"vendor_id": r.vendor_id, "note": "Alice was here"},
    # applications
    "list_applications": lambda r: {},
    "get_application": lambda r: {"application_id": r.application_id},
    "create_application": lambda r: {"market_id": r.market_id, "vendor_id": r.vendor_id},
    "update_application_status": lambda r: {
        "application_id": r.application_id,
        "status": "approved",
        "starter_credit": 10,
    },
    "send_application_reminder": lambda r: {"application_id": r.application_id},
    "add_application_credit": lambda r: {"application_id": r.application_id, "amount": 10},
    "set_application_questions": lambda r: {
        "market_id": r.market_id,
        "questions": [{"key": "power", "text": "Need power?", "kind": "yes_no"}],
    },
    "score_application": lambda r: {"application_id": r.application_id, "score": 3, "note": "Alice was here"},
    # credits
    "list_credits": lambda r: {},
    "get_credit": lambda r: {"credit_id": r.credit_id},
    "create_credit": lambda r: {"vendor_id": r.vendor_id, "credit_amount": 10},
    "update_credit": lambda r: {"credit_id": r.credit_id, "remaining_amount": 0, "notes": "Taken over"},
    "delete_credit": lambda r: {"credit_id": r.credit_id},
    # orders
    "list_orders": lambda r: {"include_archived": True},
    "get_order": lambda r: {"order_id": r.order_id},
    "create_order": lambda r: {"vendor_id": r.vendor_id, "market_date_ids": [r.market_date_id]},
    "approve_order": lambda r: {"order_id": r.order_id, "trust_future_orders": True},
    "reject_order": lambda r: {"order_id": r.order_id, "reason": "Taken over"},
    "archive_order": lambda r: {"order_id": r.order_id},
    "restore_order": lambda r: {"order_id": r.order_id},
    "modify_order": lambda r: {"order_id": r.order_id},
    "complete_zero_amount_order": lambda r: {"order_id": r.order_id},
    "record_order_payment": lambda r: {"order_id": r.order_id, "method": "cash"},
    "refund_order_payment": lambda r: {"order_id": r.order_id, "amount": 5, "reason": "Taken over", "to": "original"},
    "list_payments": lambda r: {"vendor_id": r.vendor_id},
    "list_overdue_orders": lambda r: {"market_id": r.market_id},
    "release_unpaid_bookings": lambda r: {"order_id": r.order_id},
    "get_money_report": lambda r: {"market_id": r.market_id},
    "export_csv": lambda r: {"kind": "payments", "market_id": r.market_id},
    "send_order_reminder": lambda r: {"order_id": r.order_id},
    "create_payment_link": lambda r: {"order_id": r.order_id},
    # bookings
    "list_bookings": lambda r: {},
    "get_booking": lambda r: {"booking_id": r.booking_id},
    "confirm_booking": lambda r: {"booking_id": r.booking_id},
    "reject_booking": lambda r: {"booking_id": r.booking_id, "reason": "Taken over"},
    "cancel_booking": lambda r: {"booking_id": r.booking_id, "credit_vendor": True},
    "rebook_booking": lambda r: {"booking_id": r.booking_id, "target_market_date_id": r.market_date_id},
    "restore_booking": lambda r: {"booking_id": r.booking_id},
    "update_space_number": lambda r: {"booking_id": r.booking_id, "space_number": "Z9"},
    # site
    "get_site_plan": lambda r: {"market_id": r.market_id},
    "set_site_plan": lambda r: {"market_id": r.market_id, "rows": [{"row": "Z", "stalls": 2}]},
    "assign_stall": lambda r: {"booking_id": r.booking_id, "stall": "Z9", "swap": True},
    "auto_assign_stalls": lambda r: {"market_date_id": r.market_date_id},
    "get_market_map": lambda r: {"market_date_id": r.market_date_id},
    # no required id: his ids come back in skipped as not found (see test_bulk_cancel_skips_bobs_bookings_...)
    "bulk_cancel_bookings": lambda r: {"booking_ids": [r.booking_id], "credit_vendor": True},
    # compliance: a kind is named, not numbered (Bob's markets in required_for_market_ids: test_compliance)
    "set_document_kind": lambda r: {"name": "Alice insurance", "required_for_all": True},
    "record_vendor_document": lambda r: {"vendor_id": r.vendor_id, "kind": "Alice insurance"},
    "list_compliance": lambda r: {"market_date_id": r.market_date_id, "status": "all"},
    # seasons
    "set_season": lambda r: {
        "market_id": r.market_id,
        "name": "Taken",
        "starts_on": "2098-01-01",
        "ends_on": "2098-02-01",
    },
    "list_seasons": lambda r: {"market_id": r.market_id},
    "create_standing_booking": lambda r: {"vendor_id": r.vendor_id, "season_id": r.season_id},
    "end_standing_booking": lambda r: {"standing_booking_id": r.standing_booking_id, "cancel_future_bookings": True},
    "roll_over_season": lambda r: {"season_id": r.season_id, "dry_run": False},
    # waitlist
    "list_waitlist": lambda r: {"market_id": r.market_id},
    "add_to_waitlist": lambda r: {"market_date_id": r.market_date_id, "vendor_id": r.vendor_id},
    "notify_waitlist": lambda r: {"entry_id": r.entry_id},
    "accept_waitlist_offer": lambda r: {"entry_id": r.entry_id},
    "remove_from_waitlist": lambda r: {"entry_id": r.entry_id, "reason": "Taken over"},
    # market dates that end
    "cancel_market_date": lambda r: {"market_date_id": r.market_date_id, "credit_vendors": True},
    "close_out_market_date": lambda r: {"market_date_id": r.market_date_id, "no_show_booking_ids": [r.booking_id]},
    # dashboard
    "get_context": lambda r: {},
    "get_dashboard": lambda r: {},
    "get_dashboard_summary": lambda r: {},
    # connector: search finds none of Bob's records; fetching one is "not found" (see test_alice_cannot_reach…)
    "search": lambda r: {"query": "bob"},
    "fetch": lambda r: {"id": f"vendor:{r.vendor_id}"},
    # calendars (markets toolset)
    "get_calendar_links": lambda r: {"market_id": r.market_id},
    # activity
    "list_audit_log": lambda r: {},
    "list_emails": lambda r: {},
}

# Tools whose record id is optional in the schema (one of two ways to name the record), and the one a case uses.
OPTIONAL_ID = {
    "list_waitlist": "market_id",
    "notify_waitlist": "entry_id",
    "fetch": "id",
    "list_overdue_orders": "market_id",
    "release_unpaid_bookings": "order_id",
    "get_money_report": "market_id",
    "export_csv": "market_id",
    "list_compliance": "market_date_id",
    "get_calendar_links": "market_id",
}

EMPTY_PAGE = {"items": [], "total": 0, "limit": 20, "offset": 0, "next_offset": None, "page": "Nothing matches."}

# Every one of Bob's names contains "bob" (and none of Alice's does), so any of his data in her results shows.
CANARY = "bob"


def registered_tools() -> list[str]:
    return [spec.name for toolset in TOOLSETS.values() for spec in toolset.tools]


def required_id(tool: str, server_tools: dict[str, dict[str, Any]]) -> str | None:
    """The first required <entity>_id argument of the tool: such a tool names a record, so Bob's is a 404."""
    if tool in OPTIONAL_ID:
        return OPTIONAL_ID[tool]
    schema = server_tools[tool]
    return next((name for name in schema.get("required", []) if name.endswith("_id")), None)


_schemas: dict[str, dict[str, Any]] = {}


async def input_schemas(db: Database) -> dict[str, dict[str, Any]]:
    """Every tool's input schema (the same for any database: read once, building a server is not free)."""
    if not _schemas:
        async with Client(build_server(Settings(database_url=str(db.url)), db=db, token="mk_org_unused")) as client:
            _schemas.update({tool.name: tool.input_schema for tool in (await client.list_tools()).tools})
    return _schemas


async def add_vendor_and_booking(
    db: Database, org_id: int, market_date_id: int, name: str, space: str
) -> tuple[int, int, int, int]:
    """A vendor with an order awaiting payment and its confirmed booking on the date, also waiting for a
    second space on it, written straight to the tables (so they are not in the audit log):
    (vendor id, booking id, order id, waitlist entry id)."""
    async with db.transaction(write=True) as session:
        market_id = (
            await session.execute(select(MarketDate.market_id).where(MarketDate.id == market_date_id))
        ).scalar_one()
        vendor = Vendor(
            organization_id=org_id,
            business_name=name,
            contact_name=f"{name} owner",
            email=f"hello@{name.lower().replace(' ', '-')}.example.com",
            phone="0400 000 000",
            category="Food",
        )
        session.add(vendor)
        await session.flush()
        order = Order(
            organization_id=org_id,
            vendor_id=vendor.id,  # type: ignore[arg-type]
            market_id=market_id,
            status="payment_pending",
            total_cents=4500,
            amount_due_cents=4500,
        )
        session.add(order)
        await session.flush()
        booking = Booking(
            organization_id=org_id,
            order_id=order.id,
            vendor_id=vendor.id,  # type: ignore[arg-type]
            market_date_id=market_date_id,
            status="confirmed",
            space_number=space,
            amount_cents=4500,
        )
        session.add(booking)
        await session.flush()
        position = (
            await session.execute(
                select(func.coalesce(func.max(WaitlistEntry.position), 0) + 1).where(
                    WaitlistEntry.market_date_id == market_date_id
                )
            )
        ).scalar_one()
        entry = WaitlistEntry(
            organization_id=org_id,
            market_date_id=market_date_id,
            vendor_id=vendor.id,  # type: ignore[arg-type]  # also waiting for a second space
            position=position,
        )
        session.add(entry)
        await session.flush()
        return vendor.id, booking.id, order.id, entry.id  # type: ignore[return-value]


async def set_up(tenant: Tenant, *, market: str, slug: str, vendor: str, space: str) -> Records:
    """A market with a date, a vendor booked on it with a pending application, a credit, part of the order paid, a
    note and an email, and audited writes (one with an idempotency key)."""
    async with tenant.client() as c:
        created = await c.ok("create_market", name=market, slug=slug, idempotency_key=f"{slug}-first")
        await c.ok("update_market", market_id=created["id"], region=f"{market} region")
        md = await c.ok("create_market_date", market_id=created["id"], scheduled_at=str(next_weekday(6)))
        vendor_id, booking_id, order_id, entry_id = await add_vendor_and_booking(
            tenant.db, tenant.org_id, md["id"], vendor, space
        )
        application = await c.ok(
            "create_application", market_id=created["id"], vendor_id=vendor_id, vendor_message=f"{vendor} applying"
        )
        credit = await c.ok("create_credit", vendor_id=vendor_id, credit_amount=25, notes=f"{vendor} welcome")
        await c.ok("record_order_payment", order_id=order_id, method="cash", amount=20, reference=f"{vendor} cash")
        await c.ok("add_vendor_note", vendor_id=vendor_id, note=f"{vendor} always sets up early")
        await c.ok("send_vendor_email", vendor_id=vendor_id, subject=f"Hello {vendor}", message="See you Saturday")
        season = await c.ok(
            "set_season", market_id=created["id"], name=f"{vendor} season", starts_on="2099-01-01", ends_on="2099-06-30"
        )
    async with tenant.db.transaction(write=True) as session:  # straight to the table: the application is pending
        standing = StandingBooking(
            organization_id=tenant.org_id,
            vendor_id=vendor_id,
            market_id=created["id"],
            season_id=season["id"],
            first_on=date(2099, 1, 1),
        )
        session.add(standing)
        await session.flush()
        standing_booking_id = standing.id
    return Records(
        market_id=created["id"],
        market_date_id=md["id"],
        vendor_id=vendor_id,
        booking_id=booking_id,
        application_id=application["id"],
        credit_id=credit["id"],
        order_id=order_id,
        entry_id=entry_id,
        season_id=season["id"],
        standing_booking_id=standing_booking_id,  # type: ignore[arg-type]
    )


@pytest.fixture
async def world(alice: Tenant, bob: Tenant) -> tuple[Records, Records]:
    """(Alice's records, Bob's records); Bob's are created first so his ids are not simply higher."""
    bobs = await set_up(bob, market="Bob Riverside Market", slug="bob-riverside", vendor="Bob Bakes", space="B1")
    alices = await set_up(alice, market="Alice Night Market", slug="night", vendor="Apple Cart", space="A1")
    return alices, bobs


async def audit_log(c: Caller, **arguments: Any) -> dict[str, Any]:
    """list_audit_log through the raw client: its `tool` argument collides with Caller.ok's own parameter."""
    result = await c.client.call_tool("list_audit_log", arguments)
    assert not result.is_error, result.content[0].text
    assert result.content[0].type == "text" and json.loads(result.content[0].text) == result.structured_content
    return result.structured_content  # type: ignore[return-value]


# the applications (ChatGPT, Claude) that ask organisers for access, and the store's key for calendar feed
# addresses (services/calendars.py): no one's data
UNOWNED = {"oauth_client", "link_key"}


async def rows_of(db: Database, org_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the organisation owns, table by table, in primary-key order."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with db.transaction() as session:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in UNOWNED:
                continue
            owner = table.c.id if table.name == "organization" else table.c.organization_id
            stmt = select(table).where(owner == org_id).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(row) for row in (await session.execute(stmt)).all()]
    return rows


# --- the registry is covered -----------------------------------------------------------------------------------


def test_every_registered_tool_has_an_isolation_case() -> None:
    missing = sorted(set(registered_tools()) - set(CASES))
    assert missing == [], f"Add an isolation case to CASES in tests/test_isolation.py for: {', '.join(missing)}"


def test_every_isolation_case_is_a_registered_tool() -> None:
    assert sorted(set(CASES) - set(registered_tools())) == []


def test_every_table_but_organization_carries_organization_id() -> None:
    # rows_of (and the scoping it checks) relies on it: scoping is one column on every query.
    unowned = [t.name for t in SQLModel.metadata.sorted_tables if "organization_id" not in t.c]
    assert unowned == ["link_key", "oauth_client", "organization"]


# --- every tool -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tool", registered_tools())
async def test_alice_cannot_reach_or_change_bobs_records(
    tool: str, alice: Tenant, bob: Tenant, world: tuple[Records, Records]
) -> None:
    _, bobs = world
    case = CASES.get(tool)
    if case is None:
        pytest.fail(f"{tool} has no isolation case in CASES")
    id_argument = required_id(tool, await input_schemas(alice.db))
    bob_before = await rows_of(alice.db, bob.org_id)

    async with alice.client() as c:
        if id_argument is not None:
            arguments, missing = case(bobs), case(NEVER_EXISTED)
            refusal = await c.refused(tool, 404, **arguments)
            never_existed = await c.refused(tool, 404, **missing)
            bare = lambda value: str(value).rpartition(":")[2]  # noqa: E731  fetch names records "vendor:55"
            assert refusal == f"{LABELS[id_argument]} {bare(arguments[id_argument])} not found."
            assert never_existed == f"{LABELS[id_argument]} {bare(missing[id_argument])} not found."
        else:
            result = await c.ok(tool, **case(bobs))
            assert CANARY not in json.dumps(result).lower(), result

    assert await rows_of(alice.db, bob.org_id) == bob_before


# --- lists ---------------------------------------------------------------------------------------------------------


async def test_alices_money_report_and_exports_hold_only_her_money(
    alice: Tenant, world: tuple[Records, Records]
) -> None:
    alices, _ = world
    async with alice.client() as c:
        report = await c.ok("get_money_report")
        exports = [
            (await c.client.call_tool("export_csv", {"kind": kind})) for kind in ("payments", "orders", "bookings")
        ]
    assert [m["market_id"] for m in report["by_market"]] == [alices.market_id]
    assert (report["received"]["received_cents"], [d["vendor_id"] for d in report["debtors"]]) == (
        2000,
        [alices.vendor_id],
    )
    for export in exports:
        text = export.content[1].resource.text  # type: ignore[union-attr]
        assert "Apple Cart" in text and CANARY not in text.lower(), text


async def test_list_markets_returns_only_alices_markets(alice: Tenant, world: tuple[Records, Records]) -> None:
    alices, _ = world
    async with alice.client() as c:
        page = await c.ok("list_markets")
        searched = await c.ok("list_markets", query="riverside")
    assert [m["id"] for m in page["items"]] == [alices.market_id]
    assert page["total"] == 1
    assert searched == EMPTY_PAGE


async def test_list_market_dates_returns_only_alices_dates(alice: Tenant, world: tuple[Records, Records]) -> None:
    alices, bobs = world
    async with alice.client() as c:
        every = await c.ok("list_market_dates", date_filter="all")
        upcoming = await c.ok("list_market_dates")
        of_bobs_market = await c.ok("list_market_dates", market_id=bobs.market_id)
    assert [d["id"] for d in every["items"]] == [alices.market_date_id]
    assert every["total"] == 1
    assert [d["id"] for d in upcoming["items"]] == [alices.market_date_id]
    assert of_bobs_market == EMPTY_PAGE


async def test_alices_date_counts_only_her_own_bookings(alice: Tenant, world: tuple[Records, Records]) -> None:
    alices, _ = world  # Bob's date is on the same day, with a confirmed booking of his own
    async with alice.client() as c:
        md = await c.ok("get_market_date", market_date_id=alices.market_date_id)
    assert (md["confirmed_count"], md["pending_count"], md["spaces_left"]) == (1, 0, 39)


async def test_the_audit_log_shows_only_alices_calls(alice: Tenant, world: tuple[Records, Records]) -> None:
    async with alice.client() as c:
        log = await c.ok("list_audit_log")
        bobs_tool = await audit_log(c, tool="create_market")
    assert [(e["tool"], e["token_name"], e["outcome"]) for e in log["items"]] == [
        ("set_season", "alice write", "ok"),
        ("send_vendor_email", "alice write", "ok"),
        ("add_vendor_note", "alice write", "ok"),
        ("record_order_payment", "alice write", "ok"),
        ("create_credit", "alice write", "ok"),
        ("create_application", "alice write", "ok"),
        ("create_market_date", "alice write", "ok"),
        ("update_market", "alice write", "ok"),
        ("create_market", "alice write", "ok"),
    ]
    assert log["total"] == 9
    assert [(e["tool"], e["token_name"]) for e in bobs_tool["items"]] == [("create_market", "alice write")]


async def test_alices_refused_attempts_on_bobs_records_are_in_her_audit_log_not_his(
    alice: Tenant, bob: Tenant, world: tuple[Records, Records]
) -> None:
    _, bobs = world
    async with alice.client() as c:
        await c.refused("update_market", 404, market_id=bobs.market_id, name="Taken over")
        log = await audit_log(c, tool="update_market")
    async with bob.client() as c:
        bobs_log = await audit_log(c, tool="update_market")
    assert [(e["outcome"], e["token_name"], e["records"]) for e in log["items"]] == [
        ("404", "alice write", []),
        ("ok", "alice write", [f"market:{world[0].market_id}"]),
    ]
    assert [(e["outcome"], e["token_name"]) for e in bobs_log["items"]] == [("ok", "bob write")]


async def test_the_roster_of_alices_date_never_lists_bobs_bookings(
    alice: Tenant, bob: Tenant, world: tuple[Records, Records]
) -> None:
    alices, _ = world
    # A booking of Bob's that points at Alice's date cannot be made by any tool; if one ever existed
    # (a bad import, a bug elsewhere), the roster must still scope on the booking's own organisation.
    await add_vendor_and_booking(alice.db, bob.org_id, alices.market_date_id, "Bob Stray Stall", "B9")
    async with alice.client() as c:
        roster = await c.ok("list_market_date_bookings", market_date_id=alices.market_date_id)
    assert [(b["booking_id"], b["vendor_id"], b["space_number"]) for b in roster["items"]] == [
        (alices.booking_id, alices.vendor_id, "A1")
    ]
    assert roster["total"] == 1
    assert CANARY not in json.dumps(roster).lower()


# --- writes that do not take an id ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tool, arguments",
    [
        ("create_market", {"name": "Riverside", "slug": "bob-riverside"}),
        ("create_market", {"name": "Bob Riverside"}),  # the slug made from the name ignores Bob's
        ("update_market", {"slug": "bob-riverside"}),
    ],
    ids=["create with his slug", "create with a name that makes his slug", "update to his slug"],
)
async def test_alice_can_use_a_slug_bob_already_uses(
    alice: Tenant, bob: Tenant, world: tuple[Records, Records], tool: str, arguments: dict[str, Any]
) -> None:
    alices, bobs = world
    if tool == "update_market":
        arguments = {"market_id": alices.market_id, **arguments}
    bob_before = await rows_of(alice.db, bob.org_id)
    async with alice.client() as c:
        market = await c.ok(tool, **arguments)
    assert market["slug"] == "bob-riverside"
    assert market["id"] != bobs.market_id
    assert await rows_of(alice.db, bob.org_id) == bob_before


async def test_an_idempotency_key_bob_used_means_nothing_to_alice(
    alice: Tenant, bob: Tenant, world: tuple[Records, Records]
) -> None:
    _, bobs = world
    bob_before = await rows_of(alice.db, bob.org_id)
    async with alice.client() as c:
        # Bob created his market with this key; for Alice it is new: no replay of his result, no 409 naming his call.
        created = await c.ok("create_market", name="Alice Harbour Market", idempotency_key="bob-riverside-first")
        again = await c.ok("create_market", name="Alice Harbour Market", idempotency_key="bob-riverside-first")
    assert created["name"] == "Alice Harbour Market" and created["id"] != bobs.market_id
    assert again == created
    assert await rows_of(alice.db, bob.org_id) == bob_before


async def test_an_otherwise_invalid_request_on_bobs_record_still_only_says_not_found(
    alice: Tenant, world: tuple[Records, Records]
) -> None:
    # Checks that would tell "exists" from "does not" (a date in the past, times in the wrong order) come after 404.
    _, bobs = world
    async with alice.client() as c:
        for market_id in (bobs.market_id, NEVER_EXISTED.market_id):
            assert await c.refused("create_market_date", 404, market_id=market_id, scheduled_at="2020-01-04") == (
                f"Market {market_id} not found."
            )
        for market_date_id in (bobs.market_date_id, NEVER_EXISTED.market_date_id):
            assert await c.refused(
                "update_market_date", 404, market_date_id=market_date_id, start_time="18:00", end_time="09:00"
            ) == (f"Market date {market_date_id} not found.")
        for vendor_id in (bobs.vendor_id, NEVER_EXISTED.vendor_id):
            assert await c.refused(
                "create_credit", 404, vendor_id=vendor_id, credit_amount=10, expires_at="2020-01-04"
            ) == (f"Vendor {vendor_id} not found.")


# --- vendors, applications, credits ---------------------------------------------------------------------------

BOBS_VENDOR_EMAIL = "hello@bob-bakes.example.com"


async def test_lists_filtered_by_bobs_ids_or_searched_for_his_names_come_back_empty(
    alice: Tenant, world: tuple[Records, Records]
) -> None:
    _, bobs = world
    async with alice.client() as c:
        pages = {
            "list_vendors by his market": await c.ok("list_vendors", market_id=bobs.market_id),
            "list_vendors by his name": await c.ok("list_vendors", query="bob bakes"),
            "list_vendors by his email": await c.ok("list_vendors", query=BOBS_VENDOR_EMAIL),
            "list_applications by his market": await c.ok("list_applications", market_id=bobs.market_id),
            "list_applications by his vendor's name": await c.ok("list_applications", query="bob"),
            "list_credits by his vendor": await c.ok("list_credits", vendor_id=bobs.vendor_id),
            "list_credits by his notes": await c.ok("list_credits", query="bob bakes welcome"),
            "list_emails to his vendor": await c.ok("list_emails", vendor_id=bobs.vendor_id),
        }
    assert {
        name: {k: v for k, v in page.items() if k not in ("delivery", "delivery_note")} for name, page in pages.items()
    } == {name: EMPTY_PAGE for name in pages}


async def test_alices_lists_hold_exactly_her_own_vendor_application_credit_and_email(
    alice: Tenant, world: tuple[Records, Records]
) -> None:
    alices, _ = world
    async with alice.client() as c:
        vendors = await c.ok("list_vendors")
        applications = await c.ok("list_applications")
        credits = await c.ok("list_credits")
        emails = await c.ok("list_emails")
        notes = await c.ok("list_vendor_notes", vendor_id=alices.vendor_id)
        vendor = await c.ok("get_vendor", vendor_id=alices.vendor_id)
    assert [(v["id"], v["credit_balance_cents"]) for v in vendors["items"]] == [(alices.vendor_id, 2500)]
    assert [a["id"] for a in applications["items"]] == [alices.application_id]
    assert [cr["id"] for cr in credits["items"]] == [alices.credit_id]
    assert [(e["vendor_id"], e["to"]) for e in emails["items"]] == [
        (alices.vendor_id, "hello@apple-cart.example.com")
    ] * 2
    assert [(n["note"], n["author"]) for n in notes["items"]] == [("Apple Cart always sets up early", "alice write")]
    assert (
        vendor["notes_count"],
        [a["id"] for a in vendor["applications"]],
        [cr["id"] for cr in vendor["credits"]],
    ) == (
        1,
        [alices.application_id],
        [alices.credit_id],
    )


async def test_create_application_for_bobs_vendor_at_alices_market_is_not_found(
    alice: Tenant, bob: Tenant, world: tuple[Records, Records]
) -> None:
    alices, bobs = world
    bob_before = await rows_of(alice.db, bob.org_id)
    async with alice.client() as c:
        for vendor_id in (bobs.vendor_id, NEVER_EXISTED.vendor_id):
            refusal = await c.refused("create_application", 404, market_id=alices.market_id, vendor_id=vendor_id)
            assert refusal == f"Vendor {vendor_id} not found."
    assert await rows_of(alice.db, bob.org_id) == bob_before


async def test_create_application_with_the_email_of_bobs_vendor_creates_a_new_vendor_for_alice(
    alice: Tenant, bob: Tenant, world: tuple[Records, Records]
) -> None:
    alices, bobs = world
    bob_before = await rows_of(alice.db, bob.org_id)
    async with alice.client() as c:
        application = await c.ok(
            "create_application", market_id=alices.market_id, email=BOBS_VENDOR_EMAIL, business_name="River Loaves"
        )
        vendor = await c.ok("get_vendor", vendor_id=application["vendor_id"])
    assert (application["vendor_created"], application["business_name"], application["vendor_email"]) == (
        True,
        "River Loaves",
        BOBS_VENDOR_EMAIL,
    )
    assert application["vendor_id"] not in (bobs.vendor_id, alices.vendor_id)
    assert (vendor["business_name"], vendor["email"], vendor["credit_balance_cents"], vendor["notes_count"]) == (
        "River Loaves",
        BOBS_VENDOR_EMAIL,
        0,
        0,
    )
    assert await rows_of(alice.db, bob.org_id) == bob_before


async def test_an_email_only_application_naming_bobs_vendor_is_not_matched_to_him(
    alice: Tenant, bob: Tenant, world: tuple[Records, Records]
) -> None:
    # Without business_name, only an existing vendor of Alice's could be meant: Bob's must not be found.
    alices, _ = world
    bob_before = await rows_of(alice.db, bob.org_id)
    async with alice.client() as c:
        refusal = await c.refused("create_application", 422, market_id=alices.market_id, email=BOBS_VENDOR_EMAIL)
    assert refusal == f'No vendor has the email "{BOBS_VENDOR_EMAIL}"; give business_name to create one.'
    assert await rows_of(alice.db, bob.org_id) == bob_before


@pytest.mark.parametrize("tool", ["create_vendor", "update_vendor"])
async def test_alice_can_give_her_vendor_an_email_bobs_vendor_uses(
    alice: Tenant, bob: Tenant, world: tuple[Records, Records], tool: str
) -> None:
    alices, bobs = world
    arguments: dict[str, Any] = {"email": BOBS_VENDOR_EMAIL}
    if tool == "create_vendor":
        arguments["business_name"] = "River Loaves"
    else:
        arguments["vendor_id"] = alices.vendor_id
    bob_before = await rows_of(alice.db, bob.org_id)
    async with alice.client() as c:
        vendor = await c.ok(tool, **arguments)
    assert vendor["email"] == BOBS_VENDOR_EMAIL
    assert vendor["id"] != bobs.vendor_id
    assert await rows_of(alice.db, bob.org_id) == bob_before


async def test_alices_credit_writes_never_post_expiry_rows_on_bobs_credits(
    alice: Tenant, bob: Tenant, world: tuple[Records, Records]
) -> None:
    alices, bobs = world
    # Bob's credit has passed its expiry; the next write in *his* organisation posts its expire row, not Alice's.
    async with alice.db.transaction(write=True) as session:
        await session.execute(
            update(Credit).where(Credit.id == bobs.credit_id).values(expires_at=datetime.now(UTC) - timedelta(hours=1))
        )
    bob_before = await rows_of(alice.db, bob.org_id)
    async with alice.client() as c:
        await c.ok("create_credit", vendor_id=alices.vendor_id, credit_amount=5)
        await c.ok("update_credit", credit_id=alices.credit_id, notes="Still good")
        await c.ok(
            "update_application_status", application_id=alices.application_id, status="approved", starter_credit=5
        )
        await c.ok("delete_credit", credit_id=alices.credit_id)
    assert await rows_of(alice.db, bob.org_id) == bob_before


# --- bookings, waitlist, market dates that end ----------------------------------------------------------------------


async def test_bulk_cancel_skips_bobs_bookings_in_the_words_of_a_booking_that_never_existed(
    alice: Tenant, bob: Tenant, world: tuple[Records, Records]
) -> None:
    alices, bobs = world
    bob_before = await rows_of(alice.db, bob.org_id)
    async with alice.client() as c:
        result = await c.ok(
            "bulk_cancel_bookings",
            booking_ids=[bobs.booking_id, NEVER_EXISTED.booking_id, alices.booking_id],
            credit_vendor=True,
        )
    assert result["cancelled"] == [alices.booking_id]
    assert result["skipped"] == [
        {"booking_id": bobs.booking_id, "reason": f"Booking {bobs.booking_id} not found.", "code": 404},
        {
            "booking_id": NEVER_EXISTED.booking_id,
            "reason": f"Booking {NEVER_EXISTED.booking_id} not found.",
            "code": 404,
        },
    ]
    assert await rows_of(alice.db, bob.org_id) == bob_before


async def test_bobs_ids_inside_alices_own_requests_are_not_found_like_ids_that_never_existed(
    alice: Tenant, bob: Tenant, world: tuple[Records, Records]
) -> None:
    alices, bobs = world
    bob_before = await rows_of(alice.db, bob.org_id)
    async with alice.client() as c:
        for date_id in (bobs.market_date_id, NEVER_EXISTED.market_date_id):
            assert (
                await c.refused("rebook_booking", 404, booking_id=alices.booking_id, target_market_date_id=date_id)
                == f"Market date {date_id} not found."
            )
            assert await c.refused("list_waitlist", 404, market_date_id=date_id) == f"Market date {date_id} not found."
        for vendor_id in (bobs.vendor_id, NEVER_EXISTED.vendor_id):
            assert (
                await c.refused("add_to_waitlist", 404, market_date_id=alices.market_date_id, vendor_id=vendor_id)
                == f"Vendor {vendor_id} not found."
            )
    async with alice.db.transaction(write=True) as session:  # market day has come: it can be closed out
        await session.execute(
            update(MarketDate).where(MarketDate.id == alices.market_date_id).values(scheduled_at=today_in_melbourne())
        )
    async with alice.client() as c:
        for booking_id in (bobs.booking_id, NEVER_EXISTED.booking_id):
            assert await c.refused(
                "close_out_market_date", 422, market_date_id=alices.market_date_id, no_show_booking_ids=[booking_id]
            ) == (
                f"no_show_booking_ids: {booking_id} is not a confirmed booking on market date "
                f"{alices.market_date_id}; list_market_date_bookings shows its roster."
            )
    assert await rows_of(alice.db, bob.org_id) == bob_before


async def test_alices_booking_and_waitlist_lists_never_show_bobs(
    alice: Tenant, bob: Tenant, world: tuple[Records, Records]
) -> None:
    alices, bobs = world
    async with alice.client() as c:
        every = await c.ok("list_bookings")
        searched = await c.ok("list_bookings", query="bob")
        by_his_vendor = await c.ok("list_bookings", vendor_id=bobs.vendor_id)
        by_his_date = await c.ok("list_bookings", market_date_id=bobs.market_date_id)
        waitlist = await c.ok("list_waitlist", market_id=alices.market_id)
        every_dates_waitlist = await c.ok("list_waitlist")
        trading_that_day = await c.ok("list_orders", from_date=str(next_weekday(6)), to_date=str(next_weekday(6)))
    assert [b["id"] for b in every["items"]] == [alices.booking_id]
    assert searched == by_his_vendor == by_his_date == EMPTY_PAGE
    assert [e["id"] for e in waitlist["items"]] == [e["id"] for e in every_dates_waitlist["items"]] == [alices.entry_id]
    assert [o["id"] for o in trading_that_day["items"]] == [alices.order_id]  # both trade that Saturday
    assert CANARY not in json.dumps([every, waitlist, every_dates_waitlist, trading_that_day]).lower()
