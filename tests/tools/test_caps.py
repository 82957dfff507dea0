"""Category caps: set and read back, the fifth baker refused at approval and at booking with the cap and its holders
named, a date's override, categories in any case, the waitlist passing over a vendor whose category is full, the
mix in the reads and on the dashboard, and another organisation's market unseen. Through the MCP client; the caps'
two admission questions are also asked of services/caps.py directly."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from market_mcp.auth import OrgContext
from market_mcp.db.tables import AuditEntry, CategoryRule, Market, MarketDate, Vendor
from market_mcp.services import caps
from tests.factories import Caller, Tenant
from tests.tools.test_orders import Setup, market_with_dates, order_of, outbox

BAKERS = ("Crust Co", "Flour Power", "Loaf Life", "Rye Society")


async def vendor_of(c: Caller, market_id: int, name: str, category: str, *, override_reason: str = "") -> int:
    """A vendor of that category with an approved application to the market (approved quietly; past a full
    category with override_reason)."""
    vendor = await c.ok(
        "create_vendor",
        business_name=name,
        email=name.lower().replace("'", "").replace(" ", ".") + "@example.com",
        category=category,
    )
    application = await c.ok("create_application", market_id=market_id, vendor_id=vendor["id"])
    await c.ok(
        "update_application_status",
        application_id=application["id"],
        status="approved",
        send_notification=False,
        **({"override_reason": override_reason} if override_reason else {}),
    )
    return vendor["id"]


async def four_bakers(c: Caller, s: Setup, *, dates: list[int] | None = None) -> list[int]:
    """Four approved bakers, each booked (pending) on the given dates (default: the first)."""
    bakers = [await vendor_of(c, s.market_id, name, "bakery") for name in BAKERS]
    for baker in bakers:
        await order_of(c, baker, dates or s.date_ids[:1])
    return bakers


async def asked(tenant: Tenant, vendor_id: int, market_id: int, date_ids: list[int] | None = None) -> list[str]:
    """What services/caps.py says stops the vendor: at approval (no dates) or booking on the dates."""
    async with tenant.db.transaction() as session:
        org = OrgContext.of(session, tenant.identity())
        vendor = (await session.execute(select(Vendor).where(Vendor.id == vendor_id))).scalar_one()
        market = (await session.execute(select(Market).where(Market.id == market_id))).scalar_one()
        if date_ids is None:
            return await caps.approval_problems(org, vendor, market)
        dates = (await session.execute(select(MarketDate).where(MarketDate.id.in_(date_ids)))).scalars()  # type: ignore[union-attr]
        return await caps.booking_problems(org, vendor, market, list(dates))


def holders() -> str:
    return ", ".join(f'"{name}"' for name in BAKERS)


def mix(entries: list[dict[str, Any]]) -> list[tuple[str, int, int | None, int | None, str]]:
    return [(e["category"], e["booked"], e["cap"], e["minimum"], e["note"]) for e in entries]


async def test_caps_and_goals_are_set_and_read_back_with_the_mix_of_the_next_dates(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=2)
        await four_bakers(c, s)
        grower = await vendor_of(c, s.market_id, "Green Acres", "Produce")
        await order_of(c, grower, s.date_ids)
        await vendor_of(c, s.market_id, "Bean There", "coffee")  # approved, not booked
        set_ = await c.ok(
            "set_category_caps",
            market_id=s.market_id,
            caps=[{"category": "Bakery", "max_vendors": 4}, {"category": "coffee", "max_vendors": 1}],
            minimums=[{"category": "produce", "at_least": 3}],
        )
        market = await c.ok("get_market", market_id=s.market_id)
        first = await c.ok("get_market_date", market_date_id=s.date_ids[0])
        audit = (await c.ok("list_audit_log", tool="set_category_caps", detail="full"))["items"]
    caps_, goals = (
        [{"category": "Bakery", "max_vendors": 4}, {"category": "coffee", "max_vendors": 1}],
        [{"category": "produce", "at_least": 3}],
    )
    assert (set_["caps"], set_["minimums"], set_["market_date_id"]) == (caps_, goals, None)
    on_first = [
        ("Bakery", 4, 4, None, "4 of at most 4 Bakery (full)"),
        ("coffee", 0, 1, None, "0 of at most 1 coffee"),
        ("produce", 1, None, 3, "1 of at least 3 produce (2 short)"),
    ]
    on_second = [
        ("Bakery", 0, 4, None, "0 of at most 4 Bakery"),
        ("coffee", 0, 1, None, "0 of at most 1 coffee"),
        ("produce", 1, None, 3, "1 of at least 3 produce (2 short)"),
    ]
    assert [(d["market_date_id"], mix(d["category_mix"])) for d in set_["dates"]] == [
        (s.date_ids[0], on_first),
        (s.date_ids[1], on_second),
    ]
    assert set_["notes"] == []
    assert (market["category_caps"], market["category_minimums"]) == (caps_, goals)
    assert [mix(d["category_mix"]) for d in market["upcoming_dates"]] == [on_first, on_second]
    assert mix(first["category_mix"]) == on_first
    assert len(audit) == 1 and audit[0]["arguments"]["caps"][0] == {"category": "Bakery", "max_vendors": 4}


async def test_minimums_left_out_are_kept_and_an_empty_list_clears_the_caps(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        await c.ok(
            "set_category_caps",
            market_id=s.market_id,
            caps=[{"category": "bakery", "max_vendors": 2}],
            minimums=[{"category": "produce", "at_least": 2}],
        )
        cleared = await c.ok("set_category_caps", market_id=s.market_id, caps=[])
        market = await c.ok("get_market", market_id=s.market_id)
        gone = await c.ok("set_category_caps", market_id=s.market_id, caps=[], minimums=[])
    assert (cleared["caps"], cleared["minimums"]) == ([], [{"category": "produce", "at_least": 2}])
    assert (market["category_caps"], market["category_minimums"]) == ([], [{"category": "produce", "at_least": 2}])
    assert (gone["caps"], gone["minimums"], gone["dates"][0]["category_mix"]) == ([], [], [])
    async with alice.db.transaction() as session:
        assert (await session.execute(select(CategoryRule))).scalars().all() == []


async def test_the_fifth_baker_is_refused_at_approval_naming_the_cap_and_its_holders(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, "Riverside Farmers Market", dates=1)
        await four_bakers(c, s)
        await c.ok("set_category_caps", market_id=s.market_id, caps=[{"category": "bakery", "max_vendors": 4}])
        fifth = await c.ok("create_vendor", business_name="Sour Power", email="sour@example.com", category="Bakery")
        florist = await c.ok(
            "create_vendor", business_name="Petal Pushers", email="petal@example.com", category="flowers"
        )
    said = await asked(alice, fifth["id"], s.market_id)
    assert said == [
        f"Riverside Farmers Market allows 4 bakery vendors and has 4 approved ({holders()}); waitlist the "
        'application (status "waitlisted") until a place frees up, or raise the cap with set_category_caps.'
    ]
    assert await asked(alice, florist["id"], s.market_id) == []
    # an approved baker is not counted against themself
    async with alice.db.transaction() as session:
        crust = (await session.execute(select(Vendor.id).where(Vendor.business_name == "Crust Co"))).scalar_one()
    assert await asked(alice, crust, s.market_id) == []


async def test_the_fifth_baker_is_refused_a_booking_on_a_full_date_and_not_on_another(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, "Riverside Farmers Market", dates=2)
        await four_bakers(c, s)
        fifth = await vendor_of(c, s.market_id, "Sour Power", "BAKERY ")  # any case, any spacing
        await c.ok("set_category_caps", market_id=s.market_id, caps=[{"category": "bakery", "max_vendors": 4}])
    said = await asked(alice, fifth, s.market_id, s.date_ids)
    assert said == [
        f"Riverside Farmers Market allows 4 bakery vendors and has 4 on {s.days[0]} ({holders()}); add the vendor to "
        "the waitlist for a bakery space with add_to_waitlist, or raise the cap with set_category_caps."
    ]
    assert await asked(alice, fifth, s.market_id, s.date_ids[1:]) == []


async def test_a_dates_override_replaces_the_markets_cap_on_that_date_only(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=2)
        await four_bakers(c, s, dates=s.date_ids)
        fifth = await vendor_of(c, s.market_id, "Sour Power", "bakery")
        await c.ok("set_category_caps", market_id=s.market_id, caps=[{"category": "bakery", "max_vendors": 4}])
        raised = await c.ok(
            "set_category_caps",
            market_id=s.market_id,
            market_date_id=s.date_ids[1],
            caps=[{"category": "Bakery", "max_vendors": 5}],
        )
        second = await c.ok("get_market_date", market_date_id=s.date_ids[1])
        first = await c.ok("get_market_date", market_date_id=s.date_ids[0])
        refused = await asked(alice, fifth, s.market_id, s.date_ids)
        await c.ok("set_category_caps", market_id=s.market_id, market_date_id=s.date_ids[1], caps=[])
        back = await c.ok("get_market_date", market_date_id=s.date_ids[1])
    assert (raised["market_date_id"], raised["caps"]) == (s.date_ids[1], [{"category": "bakery", "max_vendors": 4}])
    (only,) = raised["dates"]
    assert (only["market_date_id"], only["cap_overrides"]) == (
        s.date_ids[1],
        [{"category": "Bakery", "max_vendors": 5}],
    )
    assert mix(second["category_mix"]) == [("bakery", 4, 5, None, "4 of at most 5 bakery")]
    assert mix(first["category_mix"]) == [("bakery", 4, 4, None, "4 of at most 4 bakery (full)")]
    assert [f" on {s.days[0]} " in p for p in refused] == [True]  # the second date lets the fifth in
    assert mix(back["category_mix"]) == [("bakery", 4, 4, None, "4 of at most 4 bakery (full)")]


async def test_a_cap_below_its_holders_removes_nobody_and_says_so(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, "Riverside Farmers Market", dates=1)
        await four_bakers(c, s)
        lowered = await c.ok(
            "set_category_caps",
            market_id=s.market_id,
            caps=[{"category": "bakery", "max_vendors": 3}, {"category": "Bakey", "max_vendors": 1}],
        )
    assert lowered["notes"] == [
        "No vendor has the category 'Bakey' yet: the cap or goal applies to vendors given it (update_vendor sets a "
        "vendor's category).",
        "Riverside Farmers Market has 4 approved bakery vendors, over the cap of 3: nobody is removed; the cap refuses "
        "new approvals until fewer hold one.",
        f"{s.days[0]}: 4 of at most 3 bakery (1 over); nobody is removed, new bookings of it are refused until fewer "
        "hold one.",
    ]


async def test_bad_caps_are_refused_naming_the_fix(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        other = await market_with_dates(c, "Hilltop", dates=1)
        twice = await c.refused(
            "set_category_caps",
            422,
            market_id=s.market_id,
            caps=[{"category": "Bakery", "max_vendors": 4}, {"category": "bakery ", "max_vendors": 2}],
        )
        elsewhere = await c.refused(
            "set_category_caps", 422, market_id=s.market_id, market_date_id=other.date_ids[0], caps=[]
        )
        goals_on_a_date = await c.refused(
            "set_category_caps",
            422,
            market_id=s.market_id,
            market_date_id=s.date_ids[0],
            caps=[],
            minimums=[{"category": "produce", "at_least": 1}],
        )
    assert twice == (
        "caps lists the category 'bakery' twice (as 'Bakery' too; categories match in any case); give each "
        "category once."
    )
    assert elsewhere == (
        f"market_date_id {other.date_ids[0]} is a date of market {other.market_id}, not of market {s.market_id} "
        f"(list_market_dates with market_id={s.market_id} gives its dates)."
    )
    assert goals_on_a_date.startswith("minimums are the market's goals, not a date's")


async def test_the_waitlist_passes_over_a_vendor_whose_category_is_full(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        day = s.date_ids[0]
        await order_of(c, await vendor_of(c, s.market_id, "Crust Co", "bakery"), [day])
        await c.ok("set_category_caps", market_id=s.market_id, caps=[{"category": "Bakery", "max_vendors": 1}])
        rye = await vendor_of(c, s.market_id, "Rye Society", "Bakery", override_reason="Waits for a space")
        petal = await vendor_of(c, s.market_id, "Petal Pushers", "flowers")
        waiting_baker = await c.ok("add_to_waitlist", market_date_id=day, vendor_id=rye)
        waiting_florist = await c.ok("add_to_waitlist", market_date_id=day, vendor_id=petal)
        offered = await c.ok("notify_waitlist", market_date_id=day)
        nobody_fits = await c.refused("notify_waitlist", 409, market_date_id=day)
        bakers = await c.ok("list_waitlist", market_date_id=day, category="BAKERY")
        florists = await c.ok("list_waitlist", market_date_id=day, category="flowers")
    assert (offered["id"], offered["vendor_id"], offered["status"]) == (waiting_florist["id"], petal, "notified")
    assert [(m["kind"], m["vendor_id"]) for m in await outbox(alice)] == [("waitlist_offer", petal)]
    assert nobody_fits == (
        f"Everyone waiting for market date {day} ({s.days[0]}) is of a category at its cap on that date "
        "(get_market_date shows the mix); offer one the space anyway with entry_id, or raise the cap with "
        "set_category_caps."
    )
    assert [(e["id"], e["category"], e["status"]) for e in bakers["items"]] == [
        (waiting_baker["id"], "Bakery", "waiting")
    ]
    assert [(e["id"], e["category"]) for e in florists["items"]] == [(waiting_florist["id"], "flowers")]


async def test_a_freed_space_goes_to_the_first_waiting_vendor_who_fits(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1, capacity=2)
        day = s.date_ids[0]
        await c.ok("update_market", market_id=s.market_id, waitlist_auto_notify=True)
        crust = await order_of(c, await vendor_of(c, s.market_id, "Crust Co", "bakery"), [day])
        beans = await order_of(c, await vendor_of(c, s.market_id, "Bean There", "coffee"), [day])
        for order in (crust, beans):
            await c.ok("approve_order", order_id=order["id"])
        await c.ok("set_category_caps", market_id=s.market_id, caps=[{"category": "bakery", "max_vendors": 1}])
        rye = await vendor_of(c, s.market_id, "Rye Society", "bakery", override_reason="Waits for a space")
        petal = await vendor_of(c, s.market_id, "Petal Pushers", "flowers")
        await c.ok("add_to_waitlist", market_date_id=day, vendor_id=rye)
        await c.ok("add_to_waitlist", market_date_id=day, vendor_id=petal)
        (booking,) = [
            b for b in (await c.ok("list_bookings", market_date_id=day))["items"] if b["order_id"] == beans["id"]
        ]
        cancelled = await c.ok("cancel_booking", booking_id=booking["id"], reason="Van broke down")
    assert [(o["vendor_id"], o["business_name"]) for o in cancelled["waitlist_offers"]] == [(petal, "Petal Pushers")]


async def test_the_dashboard_names_a_coming_date_short_of_its_mix(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        await order_of(c, await vendor_of(c, s.market_id, "Green Acres", "produce"), s.date_ids)
        await c.ok(
            "set_category_caps", market_id=s.market_id, caps=[], minimums=[{"category": "Produce", "at_least": 3}]
        )
        summary = await c.ok("get_dashboard_summary")
    (item,) = [i for i in summary["attention"] if i["tool"] == "get_market_date"]
    assert item["arguments"] == {"market_date_id": s.date_ids[0]} and item["count"] == 1
    assert item["what"].startswith("Riverside ") and item["what"].endswith(": 1 of at least 3 Produce (2 short)")
    assert item["what"] in summary["text"]


async def test_another_organisations_market_and_date_are_not_found(alice: Tenant, bob: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
    async with bob.client() as c:
        mine = await market_with_dates(c, dates=1)
        market = await c.refused("set_category_caps", 404, market_id=s.market_id, caps=[])
        day = await c.refused("set_category_caps", 404, market_id=mine.market_id, market_date_id=s.date_ids[0], caps=[])
    assert (market, day) == (f"Market {s.market_id} not found.", f"Market date {s.date_ids[0]} not found.")
    async with alice.db.transaction() as session:
        assert (
            await session.execute(select(AuditEntry.outcome).where(AuditEntry.tool == "set_category_caps"))
        ).scalars().all() == ["404", "404"]


async def audited(tenant: Tenant, tool: str) -> list[tuple[str, str | None]]:
    """Each call of the tool in the audit log: its outcome and the override_reason it was given."""
    async with tenant.db.transaction() as session:
        rows = await session.execute(
            select(AuditEntry.outcome, AuditEntry.arguments).where(AuditEntry.tool == tool).order_by(AuditEntry.id)
        )
        return [(outcome, arguments.get("override_reason")) for outcome, arguments in rows.all()]


async def test_approving_the_fifth_baker_is_refused_until_overridden_and_the_reason_is_audited(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, "Riverside Farmers Market", dates=1)
        await four_bakers(c, s)
        await c.ok("set_category_caps", market_id=s.market_id, caps=[{"category": "bakery", "max_vendors": 4}])
        fifth = await c.ok("create_vendor", business_name="Sour Power", email="sour@example.com", category="Bakery")
        application = await c.ok("create_application", market_id=s.market_id, vendor_id=fifth["id"])
        approve = dict(application_id=application["id"], status="approved", send_notification=False)
        refused = await c.refused("update_application_status", 409, **approve)
        still = await c.ok("get_application", application_id=application["id"])
        waitlisted = await c.ok("update_application_status", **approve | {"status": "waitlisted"})
        approved = await c.ok("update_application_status", **approve, override_reason="Replaces Crust Co in March")
    assert refused == (
        f"Riverside Farmers Market allows 4 bakery vendors and has 4 approved ({holders()}); waitlist the "
        'application (status "waitlisted") until a place frees up, or raise the cap with set_category_caps. To go '
        "ahead anyway, call again with override_reason saying why (kept in the audit log)."
    )
    assert (still["status"], waitlisted["status"], approved["status"]) == ("pending", "waitlisted", "approved")
    assert (await audited(alice, "update_application_status"))[-3:] == [
        ("409", None),
        ("ok", None),
        ("ok", "Replaces Crust Co in March"),
    ]


async def test_create_order_for_the_fifth_baker_is_refused_naming_the_cap_until_overridden(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, "Riverside Farmers Market", dates=2)
        await four_bakers(c, s)
        fifth = await vendor_of(c, s.market_id, "Sour Power", "Bakery")
        await c.ok("set_category_caps", market_id=s.market_id, caps=[{"category": "BAKERY", "max_vendors": 4}])
        refused = await c.refused("create_order", 409, vendor_id=fifth, market_date_ids=s.date_ids)
        orders_before = (await c.ok("list_orders", vendor_id=fifth))["total"]
        other_day = await order_of(c, fifth, s.date_ids[1:])
        overridden = await order_of(c, fifth, s.date_ids[:1], override_reason="Market manager's call")
        first = await c.ok("get_market_date", market_date_id=s.date_ids[0])
        summary = await c.ok("get_dashboard_summary")
    assert refused == (
        f"Riverside Farmers Market allows 4 BAKERY vendors and has 4 on {s.days[0]} ({holders()}); add the vendor to "
        "the waitlist for a BAKERY space with add_to_waitlist, or raise the cap with set_category_caps. To go ahead "
        "anyway, call again with override_reason saying why (kept in the audit log)."
    )
    assert orders_before == 0 and other_day["status"] == overridden["status"] == "pending"
    assert mix(first["category_mix"]) == [("BAKERY", 5, 4, None, "5 of at most 4 BAKERY (1 over)")]
    (item,) = [i for i in summary["attention"] if i["tool"] == "get_market_date"]  # the override let it through
    assert (item["arguments"], item["what"].split(": ")[1]) == (
        {"market_date_id": s.date_ids[0]},
        "5 of at most 4 BAKERY (1 over)",
    )
    assert (await audited(alice, "create_order"))[-3:] == [
        ("409", None),
        ("ok", None),
        ("ok", "Market manager's call"),
    ]


async def test_a_cap_of_none_refuses_the_first_of_its_category_saying_so(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, "Riverside Farmers Market", dates=1)
        vendor = await vendor_of(c, s.market_id, "Smoke Stack", "BBQ")
        await c.ok("set_category_caps", market_id=s.market_id, caps=[{"category": "bbq", "max_vendors": 0}])
        refused = await c.refused("create_order", 409, vendor_id=vendor, market_date_ids=s.date_ids)
    assert refused.startswith(
        "Riverside Farmers Market allows no bbq vendors; add the vendor to the waitlist for a bbq space with "
        "add_to_waitlist, or raise the cap with set_category_caps."
    )
