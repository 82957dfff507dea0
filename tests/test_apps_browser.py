"""The MCP Apps views in a real headless browser (Debian's chromium, driven by Playwright), shown by a minimal host
(tests/apps_host.py): the handshake, the tool's input and result, and the view's own tools/call.

The dashboard renders a real get_dashboard result read through the in-process client. The map renders a hand-built
result following get_market_map's contract until that tool lands: swapping it for the real call is one change (the
`result` and `call_tool` given to render_view). Screenshots go to artifacts/ at the project root.

Without /usr/bin/chromium the tests skip, unless MARKET_MCP_REQUIRE_BROWSER=1 (CI), when they fail.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp.types import CallToolResult, TextContent
from playwright.async_api import Page, async_playwright, expect
from pydantic_core import to_json

from market_mcp import apps
from tests.apps_host import forwarding, render_view, view_html, wire
from tests.clients import connect
from tests.factories import Tenant
from tests.test_consent_browser import chromium, screenshot_to
from tests.tools.test_dashboard import known_week


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
