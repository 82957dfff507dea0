"""The MCP Apps views in a real headless browser (Debian's chromium, driven by Playwright), shown by a minimal host
(tests/apps_host.py): the handshake, the tool's input and result, and the view's own tools/call.

The dashboard renders a real get_dashboard result read through the in-process client, and the map a real
get_market_map result whose drag calls the real assign_stall through the host; the map's finer behaviours (details,
keyboard moves, refusals) are also shown on a small hand-built result following the tool's contract. Screenshots
go to artifacts/ at the project root.

Without /usr/bin/chromium the tests skip, unless MARKET_MCP_REQUIRE_BROWSER=1 (CI), when they fail.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import escape
from typing import Any

import pytest
from mcp.types import CallToolResult, TextContent
from playwright.async_api import FrameLocator, Locator, Page, async_playwright, expect
from pydantic_core import to_json

from market_mcp import apps
from tests.apps_host import forwarding, render_view, view_html, wire
from tests.clients import connect
from tests.factories import Tenant
from tests.test_consent_browser import chromium, screenshot_to
from tests.tools.test_dashboard import known_week
from tests.tools.test_site import booked, bookings_on, laid_out


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    executable = chromium()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, headless=True)
        try:
            yield await (await browser.new_context()).new_page()
        finally:
            await browser.close()


async def test_the_dashboard_view_shows_the_season_money_owed_and_applications_waiting(
    alice: Tenant, page: Page
) -> None:
    await known_week(alice)
    async with connect(alice) as client:
        html = await view_html(client, apps.DASHBOARD)
        result = wire(await client.call_tool("get_dashboard", {}))
        view = await render_view(page, html, "get_dashboard", {}, result, forwarding(client))
        season = result["structuredContent"]["season"]
        rows = view.locator("#season li")
        await expect(rows).to_have_count(3)
        assert await rows.count() == len(season) == 3  # one bar per date the server sent, no more
        for row, date in zip(await rows.all(), season, strict=True):
            await expect(row).to_contain_text(date["market"])
            await expect(row).to_contain_text(f"{date['booked']}/{date['capacity']}")
        await expect(rows.first).to_contain_text("20%")
        await expect(view.locator("#owed")).to_have_text("$90.00")
        await expect(view.locator("#applications")).to_have_text("1")
        await expect(view.get_by_text("applications waiting")).to_be_visible()
        await page.locator("#view").screenshot(path=screenshot_to("dashboard-view.png"))


async def test_the_dashboard_view_follows_the_hosts_dark_theme(alice: Tenant, page: Page) -> None:
    await known_week(alice)
    backgrounds = {}
    async with connect(alice) as client:
        html = await view_html(client, apps.DASHBOARD)
        result = wire(await client.call_tool("get_dashboard", {}))
        for theme in ("light", "dark"):
            page = await page.context.new_page()  # a host page per view, as a chat shows each in its own frame
            view = await render_view(page, html, "get_dashboard", {}, result, forwarding(client), theme=theme)
            await expect(view.locator("#owed")).to_have_text("$90.00")
            body = view.locator("body")
            backgrounds[theme] = await body.evaluate("b => getComputedStyle(b).backgroundColor")
            if theme == "dark":
                await page.locator("#view").screenshot(path=screenshot_to("dashboard-view-dark.png"))
    assert backgrounds == {"light": "rgb(255, 255, 255)", "dark": "rgb(23, 24, 27)"}


# get_market_map's contract (its server side is being built beside this view): a hand-built result, six stalls.
VENDORS = {
    5: ("Bread & Co", "bakery", True),
    6: ("Green Leaf Farm", "produce", False),
    7: ("Honey Bee Apiary", "honey", False),
    9: ("Cheese Cave", "dairy", False),
}
JAM_JAR = {"booking_id": 8, "vendor_id": 4, "vendor": "Jam Jar", "category": "preserves", "unpaid": False}
STALLS = ("A1", "A2", "A3", "B1", "B2", "B3")


def market_map(where: dict[str, int], unassigned: list[dict[str, Any]]) -> dict[str, Any]:
    """get_market_map's structuredContent for bookings at stalls (`where`: code → booking id), drawn as a small SVG
    following the contract: each stall a <g class="stall" data-code>, with data-booking-id and data-vendor when taken."""
    rows = []
    for code, booking in where.items():
        name, category, unpaid = VENDORS[booking] if booking in VENDORS else (JAM_JAR["vendor"], "preserves", False)
        rows.append(
            {"code": code, "booking_id": booking, "vendor_id": booking + 100, "vendor": name, "category": category}
            | {"unpaid": unpaid}
        )
    by_code = {row["code"]: row for row in rows}
    groups = []
    for i, code in enumerate(STALLS):
        x, y = 10 + (i % 3) * 130, 10 + (i // 3) * 90
        row = by_code.get(code)
        taken = f' data-booking-id="{row["booking_id"]}" data-vendor="{escape(row["vendor"])}"' if row else ""
        label = escape(row["vendor"]) if row else "empty"
        groups.append(
            f'<g class="stall" data-code="{code}"{taken}><rect x="{x}" y="{y}" width="120" height="80" rx="6" '
            f'fill="{"#d2e3fc" if row else "#f1f3f4"}" stroke="#5f6368"/><text x="{x + 8}" y="{y + 20}" '
            f'font-size="13" font-weight="bold">{code}</text><text x="{x + 8}" y="{y + 45}" font-size="12">{label}</text></g>'
        )
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 410 190" width="410" height="190">{"".join(groups)}</svg>'
    unpaid = sum(row["unpaid"] for row in rows) + sum(row["unpaid"] for row in unassigned)
    return {
        "market_date_id": 12,
        "market_id": 3,
        "market": "Riverside Farmers Market",
        "date": "2026-12-12",
        "stalls": rows,
        "empty_stalls": [code for code in STALLS if code not in by_code],
        "unassigned": unassigned,
        "counts": {"stalls": 6, "occupied": len(rows), "empty": 6 - len(rows), "unassigned": len(unassigned)}
        | {"unpaid": unpaid},
        "sheet_pdf": "market-mcp://market-dates/12/sheet.pdf",
        "svg": svg,
    }


def result_of(structured: dict[str, Any], *, is_error: bool = False) -> dict[str, Any]:
    text = TextContent(type="text", text=to_json(structured).decode())
    return wire(CallToolResult(content=[text], structured_content=structured, is_error=is_error))


BEFORE = market_map({"A1": 5, "A2": 6, "B1": 7, "B2": 9}, [JAM_JAR | {"needs": ["power"]}])
AFTER = market_map({"A1": 5, "A2": 6, "A3": 8, "B1": 7, "B2": 9}, [])


class Recording:
    """The host's tools/call as a stub: records each call; assign_stall answers `assign`, get_market_map AFTER."""

    def __init__(self, assign: dict[str, Any]) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.assign = assign

    async def __call__(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, arguments))
        return self.assign if name == "assign_stall" else result_of(AFTER)


async def map_view(page: Page, tenant: Tenant, call_tool: Recording) -> FrameLocator:
    async with connect(tenant) as client:
        html = await view_html(client, apps.MAP)
    return await render_view(page, html, "get_market_map", {"market_date_id": 12}, result_of(BEFORE), call_tool)


async def drag(page: Page, source: Locator, target: Locator) -> None:
    start, end = await source.bounding_box(), await target.bounding_box()
    assert start is not None and end is not None
    await page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=8)
    await page.mouse.up()


async def test_the_map_view_shows_every_vendor_marks_the_unpaid_and_lists_those_without_a_stall(
    alice: Tenant, page: Page
) -> None:
    view = await map_view(page, alice, Recording(result_of({})))
    for name in ("Bread & Co", "Green Leaf Farm", "Honey Bee Apiary", "Cheese Cave", "Jam Jar"):
        await expect(view.get_by_text(name).first).to_be_visible()
    await expect(view.locator("#title")).to_have_text("Riverside Farmers Market")
    await expect(view.locator("#summary")).to_contain_text("4 of 6 stalls taken · 1 unpaid · 1 without a stall")
    bread = view.locator('g.stall[data-code="A1"]')
    await expect(bread).to_have_class(re.compile(r"\bunpaid\b"))
    await expect(bread).to_have_attribute("aria-label", "Stall A1: Bread & Co, bakery, unpaid")
    await expect(view.locator("g.stall.unpaid")).to_have_count(1)
    await expect(view.locator("#unassigned .chip")).to_have_text(["Jam Jarpreserves · needs power"])
    assert await view.locator("g.stall").count() == len(STALLS)  # the empty stalls are drawn too
    await page.locator("#view").screenshot(path=screenshot_to("map-view.png"))


async def test_clicking_or_pressing_enter_on_a_stall_shows_its_booking(alice: Tenant, page: Page) -> None:
    host = Recording(result_of({}))
    view = await map_view(page, alice, host)
    await view.locator('g.stall[data-code="A2"]').click()
    details = view.locator("#details")
    await expect(details).to_contain_text("Green Leaf Farm")
    await expect(details.locator("dd")).to_have_text(["A2", "produce", "Paid", "6"])
    await view.locator('g.stall[data-code="A1"]').focus()
    await page.keyboard.press("Enter")
    await expect(details.locator("dd")).to_have_text(["A1", "bakery", "Unpaid", "5"])
    assert host.calls == []  # looking at a stall calls no tool


async def test_dragging_a_vendor_without_a_stall_onto_an_empty_one_assigns_it_and_redraws(
    alice: Tenant, page: Page
) -> None:
    host = Recording(result_of({"booking_id": 8, "stall": "A3"}))
    view = await map_view(page, alice, host)
    await drag(page, view.locator(".chip", has_text="Jam Jar"), view.locator('g.stall[data-code="A3"]'))
    await expect(view.locator('g.stall[data-code="A3"]')).to_have_attribute("data-vendor", "Jam Jar")
    assert host.calls == [
        ("assign_stall", {"booking_id": 8, "stall": "A3", "swap": True}),
        ("get_market_map", {"market_date_id": 12}),
    ]
    await expect(view.locator("#unassigned")).to_have_text("Every booking has a stall.")
    await expect(view.locator("#details")).to_have_text("Jam Jar is now at stall A3.")
    await page.locator("#view").screenshot(path=screenshot_to("map-view-after-drag.png"))


async def test_a_refused_move_shows_the_servers_words_and_leaves_the_map_as_it_was(alice: Tenant, page: Page) -> None:
    refusal = {"error": "Stall B3 has no power; Jam Jar needs power.", "code": 409}
    host = Recording(result_of(refusal, is_error=True))
    view = await map_view(page, alice, host)
    await drag(page, view.locator(".chip", has_text="Jam Jar"), view.locator('g.stall[data-code="B3"]'))
    await expect(view.locator("#details")).to_have_text("Stall B3 has no power; Jam Jar needs power.")
    assert host.calls == [("assign_stall", {"booking_id": 8, "stall": "B3", "swap": True})]
    await expect(view.locator("#unassigned .chip")).to_have_count(1)


async def test_a_view_opens_with_the_handshake_and_tells_the_host_its_size(alice: Tenant, page: Page) -> None:
    view = await map_view(page, alice, Recording(result_of({})))
    await expect(view.locator("#title")).to_have_text("Riverside Farmers Market")
    seen = await page.evaluate("window.host.seen")
    assert [m.get("method") for m in seen[:2]] == ["ui/initialize", "ui/notifications/initialized"]
    assert seen[0]["params"] == {
        "protocolVersion": "2026-01-26",
        "appInfo": {"name": "market-mcp map", "version": "1.0.0"},
        "appCapabilities": {"availableDisplayModes": ["inline"]},
    }
    sizes = [m["params"] for m in seen if m.get("method") == "ui/notifications/size-changed"]
    assert sizes and sizes[-1]["height"] > 300
    assert await page.locator("#view").evaluate("frame => frame.getBoundingClientRect().height") == sizes[-1]["height"]


async def test_with_the_keyboard_a_vendor_moves_to_the_stall_chosen_with_enter(alice: Tenant, page: Page) -> None:
    host = Recording(result_of({"booking_id": 6, "stall": "B3"}))
    view = await map_view(page, alice, host)
    await view.locator('g.stall[data-code="A2"]').focus()
    await page.keyboard.press("Enter")
    await view.get_by_role("button", name="Move to another stall").click()
    await expect(view.locator("#details")).to_have_text(
        "Choose the stall for Green Leaf Farm and press Enter (Escape: cancel)."
    )
    await view.locator('g.stall[data-code="B3"]').focus()
    await page.keyboard.press("Enter")
    await expect(view.locator("#details")).to_have_text("Green Leaf Farm is now at stall B3.")
    assert host.calls[0] == ("assign_stall", {"booking_id": 6, "stall": "B3", "swap": True})


async def test_the_map_view_follows_the_hosts_dark_theme(alice: Tenant, page: Page) -> None:
    async with connect(alice) as client:
        html = await view_html(client, apps.MAP)
    view = await render_view(
        page, html, "get_market_map", {"market_date_id": 12}, result_of(BEFORE), Recording({}), theme="dark"
    )
    await expect(view.locator("#title")).to_have_text("Riverside Farmers Market")
    assert await view.locator("body").evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(23, 24, 27)"
    await page.locator("#view").screenshot(path=screenshot_to("map-view-dark.png"))


async def test_the_real_map_shows_every_booked_vendor_marks_the_unpaid_and_a_drag_assigns_through_the_server(
    alice: Tenant, page: Page
) -> None:
    async with alice.client() as c:
        s = await laid_out(c, dates=1)
        day = s.date_ids[0]
        names = ["Rosa's Bakery", "Green Leaf Farm", "Honey & Co", "Cheese Cave", "Bean There Coffee"]
        for i, name in enumerate(names):
            order = await booked(c, s, name, category=("bakery", "produce", "honey", "dairy", "coffee")[i])
            if i % 2 == 0:  # three paid, two still owing
                await c.ok("approve_order", order_id=order)
                await c.ok("record_order_payment", order_id=order, amount=45, method="cash")
        await booked(c, s, "Late Larry", category="produce")
        placed = await c.ok("auto_assign_stalls", market_date_id=day)
        larry = next(p for p in placed["placed"] if p["vendor"] == "Late Larry")
        await c.ok("assign_stall", booking_id=larry["booking_id"], stall=None)  # one left without a stall
    async with connect(alice) as client:
        html = await view_html(client, apps.MAP)
        result = wire(await client.call_tool("get_market_map", {"market_date_id": day}))
        view = await render_view(page, html, "get_market_map", {"market_date_id": day}, result, forwarding(client))
        await page.set_viewport_size({"width": 900, "height": 1400})  # the whole site and its chips on screen, to drag
        for name in names:  # on the map, in its stall
            await expect(view.locator(f'g.stall[data-vendor="{name}"]')).to_be_visible()
        unpaid = view.locator("g.stall.unpaid")
        await expect(unpaid).to_have_count(2)
        for stall in await unpaid.all():
            assert (await stall.get_attribute("data-vendor")) in ("Green Leaf Farm", "Cheese Cave")
        await expect(view.locator("#unassigned .chip")).to_have_count(1)
        await page.locator("#view").screenshot(path=screenshot_to("map-view-real.png"))
        await drag(page, view.locator(".chip", has_text="Late Larry"), view.locator('g.stall[data-code="B12"]'))
        await expect(view.locator('g.stall[data-code="B12"]')).to_have_attribute("data-vendor", "Late Larry")
        await expect(view.locator("#details")).to_have_text("Late Larry is now at stall B12.")
    assert (await bookings_on(alice, day))[larry["booking_id"]] == "B12"
