"""get_dashboard as an MCP App: its season of coming dates, its chart for hosts without apps, its linked view."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

from PIL import Image

from market_mcp import apps
from tests.clients import connect
from tests.factories import Caller, Tenant, today
from tests.test_resources import refusal
from tests.tools.test_dashboard import known_week


async def test_the_season_lists_each_coming_date_with_its_active_bookings_of_capacity(alice: Tenant) -> None:
    known = await known_week(alice)
    async with alice.client() as c:
        board = await c.ok("get_dashboard")
        dates = (await c.ok("list_market_dates", market_id=known["market_id"], date_filter="upcoming"))["items"]
    days = {d["id"]: d["scheduled_at"] for d in dates}
    assert board["season"] == [
        {"market_date_id": i, "market_id": known["market_id"], "market": "Riverside", "date": days[i], **counts}
        for i, counts in zip(
            days,
            # Rosa's paid booking and Bob's unpaid one; Bob's; Cat's order waiting for approval (pending)
            [{"booked": 2, "capacity": 10}, {"booked": 1, "capacity": 10}, {"booked": 1, "capacity": 10}],
            strict=True,
        )
    ]
    assert board["season"][0]["date"] == str(today() + timedelta(days=2))


async def test_the_season_is_the_next_twelve_dates_of_the_callers_organisation_alone(
    alice: Tenant, bob: Tenant
) -> None:
    await known_week(bob)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Harbour", capacity=20)
        first = today() + timedelta(days=1)
        await c.ok(
            "bulk_create_market_dates",
            market_id=market["id"],
            start_date=str(first),
            end_date=str(first + timedelta(weeks=14)),
            day_of_week=first.isoweekday() % 7,
        )
        board = await c.ok("get_dashboard")
    assert [row["date"] for row in board["season"]] == [str(first + timedelta(weeks=n)) for n in range(12)]
    assert {(row["market"], row["booked"], row["capacity"]) for row in board["season"]} == {("Harbour", 0, 20)}


async def test_the_result_carries_a_small_png_chart_for_hosts_without_apps(alice: Tenant) -> None:
    await known_week(alice)
    async with alice.client() as c:
        result = await Caller(c.client).call("get_dashboard")
    image = result.content[1]
    assert (image.type, image.mime_type) == ("image", "image/png")  # type: ignore[union-attr]
    png = base64.b64decode(image.data)  # type: ignore[union-attr]
    assert len(png) < 30_000
    with Image.open(io.BytesIO(png)) as chart:
        assert chart.format == "PNG"
        assert chart.width == 640 and chart.height > 3 * 26


async def test_tools_list_links_get_dashboard_to_its_view(alice: Tenant) -> None:
    async with connect(alice) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert tools["get_dashboard"].meta == {
        "ui": {"resourceUri": "ui://market-mcp/dashboard.html"},
        "ui/resourceUri": "ui://market-mcp/dashboard.html",
    }
    assert tools["get_dashboard_summary"].meta is None


async def test_resources_read_gives_each_view_as_an_mcp_app_html_document(alice: Tenant) -> None:
    async with connect(alice) as client:
        read = {uri: (await client.read_resource(uri)).contents[0] for uri in apps.VIEWS}
    for uri, content in read.items():
        assert (content.uri, content.mime_type) == (uri, "text/html;profile=mcp-app")
        assert content.text.startswith("<!doctype html>")  # type: ignore[union-attr]
        assert content.meta == {"ui": {"csp": {"connectDomains": [], "resourceDomains": []}, "prefersBorder": True}}
    assert "<script src" not in read[apps.DASHBOARD].text  # type: ignore[union-attr]


async def test_a_ui_address_that_names_no_view_is_not_found_with_the_views_named(alice: Tenant) -> None:
    async with connect(alice) as client:
        error = await refusal(client, "ui://market-mcp/calendar.html")
    assert error.message == (
        "There is no view ui://market-mcp/calendar.html; the views are ui://market-mcp/dashboard.html, "
        "ui://market-mcp/map.html."
    )
