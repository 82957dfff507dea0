"""resources/*: every market-mcp:// address search and fetch hand out reads as JSON, scoped like the tools."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, INVALID_REQUEST
from sqlalchemy import update

from market_mcp import apps
from market_mcp.db.tables import Organization
from market_mcp.demo import populate_demo
from market_mcp.errors import MISSING_TOKEN
from market_mcp.schemas.connector import KINDS
from tests.clients import connect
from tests.factories import Caller, Tenant
from tests.test_http import http_server, sdk_client
from tests.tools.test_vendors import add_market

JSON = "application/json"


async def demo(tenant: Tenant) -> None:
    async with tenant.db.transaction(write=True) as session:
        await populate_demo(session, tenant.org_id)


async def read(client: Client, uri: str) -> Any:
    result = await client.read_resource(uri)
    [content] = result.contents
    assert (str(content.uri), content.mime_type) == (uri, JSON)
    return json.loads(content.text)  # type: ignore[union-attr]


async def refusal(client: Client, uri: str) -> MCPError:
    with pytest.raises(MCPError) as refused:
        await client.read_resource(uri)
    return refused.value


async def as_tools_give_it(c: Caller, kind: str, number: int) -> dict[str, Any]:
    """The record at market-mcp://<kind>/<number> as its get_* tool returns it (a market date with its roster)."""
    if kind != "market_date":
        return await c.ok(f"get_{kind}", **{f"{kind}_id": number})
    roster, offset = [], 0
    while offset is not None:
        page = await c.ok("list_market_date_bookings", market_date_id=number, detail="full", limit=200, offset=offset)
        roster += page["items"]
        offset = page["next_offset"]
    return await c.ok("get_market_date", market_date_id=number) | {"roster": roster}


async def urls_search_hands_out(c: Caller) -> list[str]:
    """Every url search gives for each market's name and the first vendors' names."""
    queries = [m["name"] for m in (await c.ok("list_markets"))["items"]]
    queries += [v["business_name"] for v in (await c.ok("list_vendors", limit=4))["items"]]
    urls: list[str] = []
    for query in queries:
        urls += [r["url"] for r in (await c.ok("search", query=query))["results"] if r["url"] not in urls]
    return urls


async def test_every_url_search_hands_out_reads_as_its_get_tool_returns_the_record(alice: Tenant) -> None:
    await demo(alice)
    async with alice.client() as c, connect(alice) as client:
        urls = await urls_search_hands_out(c)
        for url in urls:
            kind, number = url.removeprefix("market-mcp://").split("/")
            assert await read(client, url) == await as_tools_give_it(c, kind, int(number)), url
    assert {url.removeprefix("market-mcp://").split("/")[0] for url in urls} == set(KINDS)
    assert len(urls) > 40


async def test_a_market_dates_resource_carries_its_whole_roster(alice: Tenant) -> None:
    await demo(alice)
    async with alice.client() as c, connect(alice) as client:
        day = (await c.ok("list_market_dates", date_filter="upcoming"))["items"][0]
        roster = (await c.ok("list_market_date_bookings", market_date_id=day["id"], detail="full", limit=200))["items"]
        read_back = await read(client, f"market-mcp://market_date/{day['id']}")
    assert read_back["roster"] == roster
    assert len(roster) == day["confirmed_count"] + day["pending_count"] > 0


async def test_bob_reads_none_of_alices_records_and_hears_what_a_missing_record_sounds_like(
    alice: Tenant, bob: Tenant
) -> None:
    await demo(alice)
    async with alice.client() as c:
        urls = await urls_search_hands_out(c)
    async with bob.client() as bob_tools, connect(bob) as client:
        for url in urls:
            kind, number = url.removeprefix("market-mcp://").split("/")
            error = await refusal(client, url)
            tool_says = await bob_tools.refused(f"get_{kind}", 404, **{f"{kind}_id": int(number)})
            assert (error.code, error.message, error.data) == (INVALID_PARAMS, tool_says, {"uri": url, "code": 404})
        listed = await client.list_resources()
    assert listed.resources == apps.listed()  # the views alone: they hold no organisation's data


async def test_over_http_each_request_reads_with_its_own_bearer_token(alice: Tenant, bob: Tenant) -> None:
    market = await add_market(alice, "Riverside")
    with http_server(alice.db) as url:
        async with sdk_client(url, alice.token) as mine, sdk_client(url, bob.token) as theirs:
            read_back = await read(mine.client, f"market-mcp://market/{market}")
            listed = await theirs.client.list_resources()
            error = await refusal(theirs.client, f"market-mcp://market/{market}")
    assert read_back["name"] == "Riverside"
    assert listed.resources == apps.listed()
    assert (error.message, error.data) == (
        f"Market {market} not found.",
        {"uri": f"market-mcp://market/{market}", "code": 404},
    )


async def test_a_missing_record_is_the_specs_resource_not_found_for_the_protocol_spoken(alice: Tenant) -> None:
    async with connect(alice, mode="legacy") as legacy, connect(alice) as modern:
        versions = (legacy.protocol_version, modern.protocol_version)
        before_2026 = await refusal(legacy, "market-mcp://vendor/77")
        from_2026 = await refusal(modern, "market-mcp://vendor/77")
    assert versions == ("2025-11-25", "2026-07-28")
    assert (before_2026.code, from_2026.code) == (-32002, INVALID_PARAMS)
    assert before_2026.message == from_2026.message == "Vendor 77 not found."


@pytest.mark.parametrize(
    "uri",
    [
        "market-mcp://stall/3",
        "market-mcp://market/0",
        "market-mcp://market/three",
        "market-mcp://market",
        "file:///etc/passwd",
    ],
)
async def test_an_address_that_names_no_record_is_not_found_and_says_what_addresses_look_like(
    alice: Tenant, uri: str
) -> None:
    async with connect(alice) as client:
        error = await refusal(client, uri)
    assert (error.code, error.data) == (INVALID_PARAMS, {"uri": uri, "code": 404})
    assert error.message == (
        f"There is no resource {uri}. Addresses are market-mcp://<kind>/<id> with kind one of market, market_date, "
        "vendor, application, order, booking, as search and fetch give them (resources/templates/list shows them)."
    )


async def test_an_id_beyond_any_record_is_not_found_in_the_same_words(alice: Tenant) -> None:
    async with connect(alice) as client:
        error = await refusal(client, "market-mcp://order/99999999999")
    assert error.message == "Order 99999999999 not found."


async def test_resources_list_offers_the_organisations_markets_by_name(alice: Tenant) -> None:
    riverside = await add_market(alice, "Riverside")
    async with alice.client() as c:
        await c.ok("update_market", market_id=riverside, region="Inner North", status="published")
        night = (await c.ok("create_market", name="Night Bazaar"))["id"]
    async with connect(alice) as client:
        listed = await client.list_resources()
    assert [r.model_dump(exclude_none=True) for r in listed.resources] == [
        {
            "name": "Night Bazaar",
            "title": "Night Bazaar",
            "uri": f"market-mcp://market/{night}",
            "description": "Night Bazaar: unpublished market; no upcoming date",
            "mime_type": JSON,
        },
        {
            "name": "Riverside",
            "title": "Riverside",
            "uri": f"market-mcp://market/{riverside}",
            "description": "Riverside: published market in Inner North; no upcoming date",
            "mime_type": JSON,
        },
        *[view.model_dump(exclude_none=True) for view in apps.listed()],
    ]
    assert listed.next_cursor is None


async def test_a_cursor_resources_list_never_gave_is_invalid_params(alice: Tenant) -> None:
    async with connect(alice) as client:
        with pytest.raises(MCPError) as refused:
            await client.list_resources(cursor="page two")
    assert (refused.value.code, refused.value.data) == (INVALID_PARAMS, {"code": 422})
    assert refused.value.message == "cursor must be the nextCursor of an earlier resources/list; got 'page two'."


async def test_there_is_one_template_for_each_kind_of_record_search_hands_out_exports_and_pdfs(
    alice: Tenant,
) -> None:
    async with connect(alice) as client:
        templates = (await client.list_resource_templates()).resource_templates
    assert [(t.name, t.uri_template, t.mime_type) for t in templates] == [
        *((kind, f"market-mcp://{kind}/{{{kind}_id}}", JSON) for kind in KINDS),
        ("export", "market-mcp://exports/{kind}.csv{?from_date,to_date,market_id}", "text/csv"),
        ("invoice", "market-mcp://orders/{order_id}/invoice.pdf", "application/pdf"),
        ("receipt", "market-mcp://payments/{payment_id}/receipt.pdf", "application/pdf"),
        ("day_sheet", "market-mcp://market-dates/{market_date_id}/sheet.pdf", "application/pdf"),
        ("vendor_document_file", "market-mcp://vendor-documents/{document_id}/file", None),
    ]


async def test_an_export_of_another_organisations_market_reads_as_a_missing_one(alice: Tenant, bob: Tenant) -> None:
    async with bob.client() as c:
        bobs = (await c.ok("create_market", name="Bob's", default_fee="10"))["id"]
    async with connect(alice) as client:
        his = await refusal(client, f"market-mcp://exports/orders.csv?market_id={bobs}")
        none = await refusal(client, "market-mcp://exports/orders.csv?market_id=900001")
        odd = await refusal(client, "market-mcp://exports/vendors.csv")
    assert (his.data["code"], his.message) == (404, f"Market {bobs} not found.")  # type: ignore[index]
    assert (none.data["code"], none.message) == (404, "Market 900001 not found.")  # type: ignore[index]
    assert odd.data["code"] == 404  # type: ignore[index]


async def test_a_refused_token_reads_nothing_and_is_told_the_tools_fix(alice: Tenant) -> None:
    await add_market(alice, "Riverside")
    async with connect(alice, token="mk_org_" + "x" * 43) as client:
        read_error = await refusal(client, "market-mcp://market/1")
        with pytest.raises(MCPError) as list_error:
            await client.list_resources()
    for error in (read_error, list_error.value):
        assert (error.code, error.message, error.data["code"]) == (INVALID_REQUEST, MISSING_TOKEN, 401)


async def test_a_draft_organisations_token_reads_nothing_and_is_told_how_to_activate_it(alice: Tenant) -> None:
    market = await add_market(alice, "Riverside")
    async with alice.db.transaction(write=True) as session:
        await session.execute(update(Organization).where(Organization.id == alice.org_id).values(status="draft"))
    async with alice.client() as c, connect(alice) as client:
        tool_says = await c.refused("get_market", 403, market_id=market)
        error = await refusal(client, f"market-mcp://market/{market}")
    assert (error.code, error.message, error.data["code"]) == (INVALID_REQUEST, tool_says, 403)
    assert "market-mcp org set-status alice active" in tool_says


async def test_reads_count_against_the_tokens_rate_limit_like_tool_calls(alice: Tenant) -> None:
    market = await add_market(alice, "Riverside")
    async with connect(alice, rate_limit=2) as client:
        await read(client, f"market-mcp://market/{market}")
        await client.list_resources()
        error = await refusal(client, f"market-mcp://market/{market}")
        over = await client.call_tool("list_markets", {})
    assert (error.code, error.data["code"]) == (INVALID_REQUEST, 429)
    assert error.message.startswith("Rate limit of 2 requests per minute reached; retry in ")
    assert json.loads(over.content[0].text)["code"] == 429  # type: ignore[union-attr]
