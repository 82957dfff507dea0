"""The site: a plan laid out in one call, stall types and add-ons pricing orders, stalls assigned by hand, by swap
and automatically (every rule checked on the result), the plan's guards, and another organisation's site unseen.
Through the MCP client; the store read back where a result could mislead."""

from __future__ import annotations

import base64
import io
import json
from typing import Any
from xml.etree import ElementTree

from mcp.types import ImageContent, ResourceLink
from PIL import Image
from sqlalchemy import select

from market_mcp.db.tables import Booking
from tests.factories import Caller, Tenant
from tests.tools.test_invoices import pdf_at, refusal
from tests.tools.test_orders import Setup, approved_vendor, market_with_dates, order_of

CATEGORIES = ("bakery", "produce", "coffee", "flowers", "cheese", "crafts")


async def laid_out(c: Caller, *, dates: int = 2) -> Setup:
    """The issue's site: rows A and B of 12 3x3 m stalls facing each other, power on row A, and a row C of six
    double stalls; standard $45, double $80, power +$15."""
    s = await market_with_dates(c, dates=dates)
    plan = await c.ok(
        "set_site_plan",
        market_id=s.market_id,
        rows=[
            {"row": "A", "stalls": 12, "attributes": ["power"]},
            {"row": "B", "stalls": 12},
            {"row": "C", "stalls": 6, "width": 6, "stall_type": "double"},
        ],
        features=[{"kind": "entrance", "label": "Main gate", "x": 0, "y": 30, "width": 4, "depth": 2}],
        stall_types=[{"name": "standard", "fee": 45}, {"name": "double", "fee": 80}],
        add_ons=[{"name": "power", "fee": 15}],
    )
    assert len(plan["stalls"]) == 30
    return s


async def test_a_site_is_laid_out_in_one_call_and_read_back(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await laid_out(c)
        plan = await c.ok("get_site_plan", market_id=s.market_id)
    assert plan["summary"] == (
        '"Riverside": 30 stalls in 3 rows (A, B, C), 12 with power; 1 feature. Types: standard $45.00, double $80.00.'
        " Add-ons: power +$15.00."
    )
    stalls = {st["code"]: st for st in plan["stalls"]}
    a1, a12, b1, c1 = stalls["A1"], stalls["A12"], stalls["B1"], stalls["C1"]
    assert (a1["x"], a1["y"], a1["width"], a1["depth"], a1["facing"]) == (0, 0, 3, 3, "S")
    assert (a12["x"], b1["y"], b1["facing"]) == (33, 7, "N")  # B faces A across a 4 m aisle
    assert a1["attributes"] == ["power", "corner"] and stalls["A2"]["attributes"] == ["power"]
    assert stalls["B2"]["attributes"] == [] and c1["stall_type"] == "double" and c1["width"] == 6
    assert [t["name"] for t in plan["stall_types"]] == ["standard", "double"]
    assert plan["add_ons"] == [{"name": "power", "fee_cents": 1500}] and plan["separate_categories"] is True
    assert plan["features"][0]["label"] == "Main gate"


async def test_orders_are_priced_by_stall_type_and_add_ons(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await laid_out(c)
        plain = await order_of(c, await approved_vendor(c, s.market_id, "Plain Stall"), s.date_ids)
        double = await order_of(
            c, await approved_vendor(c, s.market_id, "Big Van"), s.date_ids, stall_type="Double", add_ons=["power"]
        )
        assert plain["total_cents"] == 2 * 4500 and double["total_cents"] == 2 * 9500
        wrong = await c.refused(
            "create_order", 422, vendor_id=await approved_vendor(c, s.market_id, "Odd"), market_date_ids=s.date_ids,
            stall_type="triple",
        )  # fmt: skip
        assert 'stall_type "triple" is not one of "Riverside"\'s stall types: standard, double.' in wrong
        no_add_on = await c.refused(
            "create_order", 422, vendor_id=await approved_vendor(c, s.market_id, "Odd2"), market_date_ids=s.date_ids,
            add_ons=["table"],
        )  # fmt: skip
        assert "add-ons are power" in no_add_on
        # A market without types keeps its flat fee.
        flat = await market_with_dates(c, "Flat Market", fee="30", dates=1)
        order = await order_of(c, await approved_vendor(c, flat.market_id, "Flat Vendor"), flat.date_ids)
        assert order["total_cents"] == 3000


async def booked(c: Caller, s: Setup, name: str, *, category: str, **order: Any) -> int:
    vendor = await approved_vendor(c, s.market_id, name)
    needs = order.pop("needs", None)
    await c.ok("update_vendor", vendor_id=vendor, category=category, **({"needs": needs} if needs else {}))
    made = await order_of(c, vendor, order.pop("dates", s.date_ids[-1:]), **order)
    return made["id"]


async def bookings_on(tenant: Tenant, market_date_id: int) -> dict[int, str | None]:
    async with tenant.db.transaction() as session:
        rows = await session.execute(
            select(Booking.id, Booking.space_number).where(Booking.market_date_id == market_date_id)
        )
        return dict(rows.all())  # type: ignore[arg-type]


async def test_auto_assign_places_thirty_bookings_keeping_every_rule(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await laid_out(c)
        day = s.date_ids[-1]
        regular = await approved_vendor(c, s.market_id, "The Regular")
        await c.ok("update_vendor", vendor_id=regular, category="bakery")
        first = await c.ok("create_order", vendor_id=regular, market_date_ids=s.date_ids)
        earlier = next(
            b
            for b in (await c.ok("get_order", order_id=first["id"]))["bookings"]
            if b["market_date_id"] == s.date_ids[0]
        )
        await c.ok("assign_stall", booking_id=earlier["booking_id"], stall="B5")
        for i in range(29):  # 6 doubles, 8 needing power, the rest plain; six categories in turn
            kind = {"stall_type": "double"} if i < 6 else {"add_ons": ["power"]} if i < 14 else {}
            await booked(c, s, f"Vendor {i:02}", category=CATEGORIES[i % 6], **kind)

        preview = await c.ok("auto_assign_stalls", market_date_id=day, dry_run=True)
        assert preview["note"].startswith(
            "Preview only: no stall was given. Call again with dry_run false to do it. 30 bookings on "
        )
        assert "would be given a stall." in preview["note"] and len(preview["would_place"]) == 30
        assert all(code is None for code in (await bookings_on(alice, day)).values())
        done = await c.ok("auto_assign_stalls", market_date_id=day)
        assert done["note"].startswith("30 bookings on ") and done["note"].endswith(" were given a stall.")
        assert "would_place" not in done
        assert done["not_placed"] == [] and len(done["placed"]) == 30
        plan = await c.ok("get_site_plan", market_id=s.market_id)
        listed = await c.ok("list_bookings", market_date_id=day, limit=200, detail="full")

    stalls = {st["code"]: st for st in plan["stalls"]}
    at = {b["space_number"]: b for b in listed["items"]}
    assert len(at) == 30 and None not in at  # everyone has a stall, no stall twice
    vendors = {v["business_name"]: v for v in await _vendors(alice)}
    for code, b in at.items():
        vendor = vendors[b["business_name"]]
        order = await _order(alice, b["order_id"])
        needs = set(vendor["needs"] or []) | {a for a in order["add_ons"] or [] if a == "power"}
        assert needs <= set(stalls[code]["attributes"]), (code, b["business_name"])
        assert (stalls[code]["stall_type"] or "standard") == (order["stall_type"] or "standard"), code
    near = _neighbours(stalls)
    for code, b in at.items():
        category = vendors[b["business_name"]]["category"]
        assert all(vendors[at[n]["business_name"]]["category"] != category for n in near[code] if n in at), code
    assert at["B5"]["business_name"] == "The Regular"
    assert next(p for p in done["placed"] if p["stall"] == "B5")["why"] == "their usual stall"


async def test_what_cannot_be_placed_is_said_with_why(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        await c.ok(
            "set_site_plan",
            market_id=s.market_id,
            rows=[{"row": "A", "stalls": 3}],
            stalls=[{"code": "A1", "attributes": ["power"]}],
        )
        await booked(c, s, "Sparky One", category="coffee", needs=["power"])
        await booked(c, s, "Sparky Two", category="coffee", needs=["power"])
        await booked(c, s, "Bread One", category="bakery")
        await booked(c, s, "Bread Two", category="bakery")
        done = await c.ok("auto_assign_stalls", market_date_id=s.date_ids[0])
    reasons = {n["vendor"]: n["reason"] for n in done["not_placed"]}
    assert reasons["Sparky Two"] == "no free stall with power."
    assert "beside another bakery vendor" in reasons["Bread Two"] and "assign_stall" in reasons["Bread Two"]
    assert "were given a stall; 2 could not be placed (see not_placed)." in done["note"]


async def test_assign_and_swap_two_vendors_in_one_call(alice: Tenant, bob: Tenant) -> None:
    async with alice.client() as c:
        s = await laid_out(c, dates=1)
        day = s.date_ids[0]
        one = await _booking_of(c, await booked(c, s, "Rosa's Bakery", category="bakery"))
        two = await _booking_of(c, await booked(c, s, "Ann's Bread", category="bakery"))
        placed = await c.ok("assign_stall", booking_id=one, stall="a3")
        assert placed["stall"] == "A3" and placed["warnings"] == []
        beside = await c.ok("assign_stall", booking_id=two, stall="A4")
        assert beside["warnings"] == ['"Ann\'s Bread" (bakery) at A4 is beside A3, also bakery.']
        taken = await c.refused("assign_stall", 409, booking_id=two, stall="A3")
        assert "held by booking" in taken and "swap: true" in taken and "A1" in taken
        swapped = await c.ok("assign_stall", booking_id=two, stall="A3", swap=True)
        assert [(m["booking_id"], m["from_stall"], m["to_stall"]) for m in swapped["moves"]] == [
            (two, "A4", "A3"),
            (one, "A3", "A4"),
        ]
        assert (await bookings_on(alice, day))[one] == "A4"
        missing = await c.refused("assign_stall", 404, booking_id=one, stall="Z9")
        assert 'No stall "Z9" on "Riverside"\'s plan; its stalls are A1–A12, B1–B12, C1–C6' in missing
        off_plan = await c.refused("update_space_number", 404, booking_id=one, space_number="Z9")
        assert "No stall" in off_plan
        assert (await c.ok("update_space_number", booking_id=one, space_number="c2"))["space_number"] == "C2"
        type_warning = await c.ok("assign_stall", booking_id=one, stall="C3")
        assert type_warning["warnings"] == ['C3 is a double stall, not standard, which "Rosa\'s Bakery" needs.']
        freed = await c.ok("assign_stall", booking_id=one, stall=None)
        assert freed["stall"] is None and (await bookings_on(alice, day))[one] is None
        # The plan cannot drop a stall a booking holds on a date to come.
        refused = await c.refused("set_site_plan", 409, market_id=s.market_id, remove_stalls=["A3"])
        assert "A3 on" in refused and f"booking {two}" in refused and "assign_stall" in refused
        copied = await market_with_dates(c, "Hillside", dates=1)
        copy = await c.ok("set_site_plan", market_id=copied.market_id, copy_from_market_id=s.market_id)
        assert len(copy["stalls"]) == 30 and copy["add_ons"] == [{"name": "power", "fee_cents": 1500}]
    async with bob.client() as c:
        for tool, arguments in (
            ("get_site_plan", {"market_id": s.market_id}),
            ("set_site_plan", {"market_id": s.market_id, "rows": [{"row": "A", "stalls": 2}]}),
            ("assign_stall", {"booking_id": one, "stall": "A1"}),
            ("auto_assign_stalls", {"market_date_id": day}),
        ):
            assert "not found" in await c.refused(tool, 404, **arguments)


async def test_a_plan_refuses_what_it_cannot_draw(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        m = s.market_id
        said = await c.refused("set_site_plan", 422, market_id=m, stalls=[{"code": "X1"}])
        assert "Stall X1 is not on the plan: give its x and y to add it." in said
        said = await c.refused("set_site_plan", 422, market_id=m, rows=[{"row": "A", "stalls": 2, "stall_type": "big"}])
        assert 'Stall A1 is of type "big", which is not one of the market\'s stall types (none)' in said
        said = await c.refused("set_site_plan", 422, market_id=m, rows=[{"row": "A", "stalls": 2, "colour": "red"}])
        assert said == "Invalid arguments: rows[0].colour is not a field it takes (tools/list shows the fields)."
        said = await c.refused("set_site_plan", 422, market_id=m, rows=[{"row": "A", "stalls": 500}])
        assert said == "Invalid arguments: rows[0].stalls must be at most 200; got 500."
        said = await c.refused("auto_assign_stalls", 409, market_date_id=s.date_ids[0])
        assert "has no site plan" in said and "set_site_plan" in said
        plan = await c.ok("get_site_plan", market_id=m)
        assert (
            plan["summary"] == '"Riverside" has no site plan yet: set_site_plan lays one out. Flat fee $45.00 per date.'
        )


async def _booking_of(c: Caller, order_id: int) -> int:
    return (await c.ok("get_order", order_id=order_id))["bookings"][0]["booking_id"]


async def _vendors(tenant: Tenant) -> list[dict[str, Any]]:
    from market_mcp.db.tables import Vendor

    async with tenant.db.transaction() as session:
        rows = await session.execute(select(Vendor).where(Vendor.organization_id == tenant.org_id))
        return [v.model_dump() for v in rows.scalars()]


async def _order(tenant: Tenant, order_id: int) -> dict[str, Any]:
    from market_mcp.db.tables import Order

    async with tenant.db.transaction() as session:
        return (await session.get(Order, order_id)).model_dump()  # type: ignore[union-attr]


def _neighbours(stalls: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """Side-by-side neighbours, worked out here from the plan as a person would: touching edges."""
    near: dict[str, set[str]] = {code: set() for code in stalls}
    for a in stalls.values():
        for b in stalls.values():
            if a is b:
                continue
            same_row_y = a["y"] == b["y"] and (a["x"] + a["width"] == b["x"] or b["x"] + b["width"] == a["x"])
            if same_row_y:
                near[a["code"]].add(b["code"])
    return near


async def test_the_map_is_a_result_a_png_and_a_printable_day_sheet(alice: Tenant, bob: Tenant) -> None:
    async with alice.client() as c:
        s = await laid_out(c, dates=1)
        day = s.date_ids[0]
        paid = await booked(c, s, "Rosa's Bakery", category="bakery")
        owing = await booked(c, s, "Jam & <Jar>", category="preserves", add_ons=["power"])
        await booked(c, s, "Late Larry", category="produce")
        await c.ok("approve_order", order_id=paid)
        await c.ok("record_order_payment", order_id=paid, amount=45, method="cash")
        await c.ok(
            "update_vendor", vendor_id=(await c.ok("get_order", order_id=owing))["vendor_id"], phone="0400 111 222"
        )
        await c.ok("assign_stall", booking_id=await _booking_of(c, paid), stall="B1")
        await c.ok("assign_stall", booking_id=await _booking_of(c, owing), stall="A1")
        result = await c.call("get_market_map", market_date_id=day)
        sheet = await pdf_at(c, f"market-mcp://market-dates/{day}/sheet.pdf")
    out = result.structured_content
    assert out is not None and not result.is_error
    assert out["summary"] == (
        '"Riverside" on ' + out["summary"].split(" on ", 1)[1].split(":")[0] + ": 2 of 30 stalls taken, 28 empty; "
        "1 booking without a stall; 2 unpaid. auto_assign_stalls places them."
    )
    assert [(m["code"], m["vendor"], m["unpaid"]) for m in out["stalls"]] == [
        ("A1", "Jam & <Jar>", True),
        ("B1", "Rosa's Bakery", False),
    ]
    assert [u["vendor"] for u in out["unassigned"]] == ["Late Larry"] and len(out["empty_stalls"]) == 28
    assert out["counts"] == {"stalls": 30, "occupied": 2, "empty": 28, "unassigned": 1, "unpaid": 2}
    # The drawing, for apps: each stall a group the view can hook, the vendor's name escaped.
    svg = ElementTree.fromstring(out["svg"])
    groups = {g.get("data-code"): g for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "stall"}
    assert len(groups) == 30 and groups["A1"].get("data-vendor") == "Jam & <Jar>"
    assert groups["A1"].get("data-booking-id") == str(booking_at(out, "A1"))
    assert "svg" not in json.loads(result.content[0].text)  # the model reads the summary, not the drawing
    image = result.content[1]
    assert isinstance(image, ImageContent) and image.mime_type == "image/png"
    png = base64.b64decode(image.data)
    assert len(png) < 100_000 and Image.open(io.BytesIO(png)).size[0] >= 1000
    link = result.content[2]
    assert isinstance(link, ResourceLink) and str(link.uri) == out["sheet_pdf"]
    assert "Rosa's Bakery" in sheet and "Jam & <Jar>" in sheet and "0400 111 222" in sheet
    assert "owes $60.00" in sheet and "Late Larry" in sheet  # standard $45 + power $15
    async with bob.client() as c:
        refused = await c.refused("get_market_map", 404, market_date_id=day)
        assert refused == f"Market date {day} not found."
        assert "not found" in str(await refusal(c, f"market-mcp://market-dates/{day}/sheet.pdf"))


async def test_a_market_without_a_plan_says_so_on_its_map(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=1)
        await booked(c, s, "Rosa's Bakery", category="bakery")
        out = await c.ok("get_market_map", market_date_id=s.date_ids[0])
    assert out["summary"].endswith("has no site plan, so there is no map to draw; 1 booking on the date. "
                                   "set_site_plan lays one out.")  # fmt: skip
    assert out["stalls"] == [] and [u["vendor"] for u in out["unassigned"]] == ["Rosa's Bakery"]


def booking_at(out: dict[str, Any], code: str) -> int:
    return next(m["booking_id"] for m in out["stalls"] if m["code"] == code)
