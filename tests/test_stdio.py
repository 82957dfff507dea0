"""`market-mcp serve` as Claude Desktop runs it: a subprocess speaking JSON-RPC on stdin/stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from market_mcp.db import Database
from tests.factories import Caller, Tenant, next_weekday


def _env(db: Database, token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_MCP_")}
    env["MARKET_MCP_DATABASE_URL"] = str(db.url)
    if token is not None:
        env["MARKET_MCP_TOKEN"] = token
    return env


def _stdio(db: Database, token: str | None) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "market_mcp", "serve"], env=_env(db, token))


class RawStdio:
    """Hand-written JSON-RPC, as a script or an older client would send it."""

    def __init__(self, db: Database, token: str | None, *, stderr: Any = subprocess.PIPE, **env: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "market_mcp", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=_env(db, token) | env,
        )
        self.notifications: list[dict[str, Any]] = []  # what the server sent between replies (log messages)

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        return json.loads(line)  # anything on stdout that is not JSON-RPC fails here

    def request(self, request_id: int, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, **({"params": params} if params else {})})
        reply = self.receive()
        while "id" not in reply:
            self.notifications.append(reply)
            reply = self.receive()
        assert reply["id"] == request_id
        return reply

    def initialize(self, version: str) -> dict[str, Any]:
        reply = self.request(
            1,
            "initialize",
            {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
        )
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return reply

    def close(self) -> tuple[str, str]:
        out, err = self.process.communicate(timeout=15)
        return out, err


async def test_an_assistant_sets_up_a_season_over_stdio_and_another_organisation_sees_none_of_it(
    alice: Tenant, bob: Tenant
) -> None:
    first = next_weekday(6)
    last = first + timedelta(weeks=12)
    async with Client(_stdio(alice.db, alice.token)) as client:
        c = Caller(client)
        market = await c.ok("create_market", name="Harbourside Farmers Market", default_fee=45, capacity=30)
        season = await c.ok(
            "bulk_create_market_dates",
            market_id=market["id"],
            start_date=str(first),
            end_date=str(last),
            day_of_week=6,
            start_time="08:00",
            end_time="13:00",
        )
        again = await c.ok(
            "bulk_create_market_dates", market_id=market["id"], start_date=str(first), end_date=str(last), day_of_week=6
        )
        changed = await c.ok("update_market_date", market_date_id=season["created"][0]["id"], capacity=12)
        log = await c.ok("list_audit_log")
        bad = await c.refused("create_market", 422, name="Nope", capacity=-3)

    assert [d["scheduled_at"] for d in season["created"]] == [str(first + timedelta(weeks=n)) for n in range(13)]
    assert {d["weekday"] for d in season["created"]} == {"Saturday"}
    assert again["created"] == [] and len(again["skipped"]) == 13
    assert changed["capacity"] == 12 and changed["spaces_left"] == 12
    assert [e["tool"] for e in log["items"]] == [
        "update_market_date",
        "bulk_create_market_dates",
        "bulk_create_market_dates",
        "create_market",
    ]
    assert bad.startswith("Invalid arguments: capacity")

    async with Client(_stdio(bob.db, bob.token)) as client:
        c = Caller(client)
        assert (await c.ok("list_markets"))["total"] == 0
        assert (await c.ok("list_market_dates"))["total"] == 0
        assert await c.refused("get_market", 404, market_id=market["id"]) == f"Market {market['id']} not found."


async def test_the_sdk_client_negotiates_the_legacy_handshake_too(alice: Tenant) -> None:
    async with Client(_stdio(alice.db, alice.token), mode="legacy") as client:
        tools = await client.list_tools()
        listed = await Caller(client).ok("list_markets")
    assert "create_market" in {t.name for t in tools.tools}
    assert listed["items"] == []


@pytest.mark.parametrize("version", HANDSHAKE_PROTOCOL_VERSIONS)
def test_every_handshake_protocol_version_is_negotiated_with_nothing_but_protocol_on_stdout(
    alice: Tenant, version: str
) -> None:
    raw = RawStdio(alice.db, alice.token)
    try:
        hello = raw.initialize(version)
        tools = raw.request(2, "tools/list")
        created = raw.request(3, "tools/call", {"name": "create_market", "arguments": {"name": "Night Bazaar"}})
        refused = raw.request(4, "tools/call", {"name": "get_market", "arguments": {"market_id": 999}})
    finally:
        out, err = raw.close()

    assert hello["result"]["protocolVersion"] == version
    assert hello["result"]["serverInfo"]["name"] == "market-mcp"
    assert "list_markets" in {t["name"] for t in tools["result"]["tools"]}
    assert json.loads(created["result"]["content"][0]["text"])["name"] == "Night Bazaar"
    assert created["result"].get("isError") in (None, False)
    assert refused["result"]["isError"] is True
    assert json.loads(refused["result"]["content"][0]["text"]) == {"error": "Market 999 not found.", "code": 404}
    # At the default level (warning) the client hears of the refusal, not of the calls that went well.
    assert raw.notifications == [
        {
            "jsonrpc": "2.0",
            "method": "notifications/message",
            "params": {"level": "warning", "logger": "market-mcp", "data": "get_market refused: 404"},
        }
    ]
    assert out.strip() == ""  # every line was a reply or notification we read; nothing else reached stdout


def test_without_a_token_the_server_still_starts_warns_on_stderr_and_refuses_each_call_with_401(alice: Tenant) -> None:
    raw = RawStdio(alice.db, None)
    try:
        hello = raw.initialize("2024-11-05")
        refused = raw.request(2, "tools/call", {"name": "list_markets", "arguments": {}})
    finally:
        _, err = raw.close()
    assert hello["result"]["protocolVersion"] == "2024-11-05"
    assert json.loads(refused["result"]["content"][0]["text"]) == {
        "error": "The API token is missing or revoked. Create one with `market-mcp token create --org SLUG`.",
        "code": 401,
    }
    assert "warning: The API token is missing or revoked" in err


async def test_an_organiser_lays_out_a_site_fills_a_saturday_and_gets_its_map_three_ways_over_stdio(
    alice: Tenant,
) -> None:
    """Issue 18's whole path as Claude Desktop would take it: the site in one call with its prices, 30 bookings
    placed by auto_assign_stalls, two vendors swapped, and the map as a view, a PNG and a printable PDF."""
    import base64
    import io

    from mcp.types import BlobResourceContents, TextResourceContents
    from PIL import Image
    from pypdf import PdfReader

    from tests.tools.test_site import CATEGORIES, booked, laid_out

    fast = _stdio(alice.db, alice.token)
    fast.env = {**(fast.env or {}), "MARKET_MCP_RATE_LIMIT": "100000"}  # setting up 30 vendors is 150 calls
    async with Client(fast) as client:
        c = Caller(client)
        s = await laid_out(c, dates=1)
        day = s.date_ids[0]
        for i in range(30):
            kind = {"stall_type": "double"} if i < 6 else {"add_ons": ["power"]} if i < 14 else {}
            await booked(c, s, f"Stallholder {i:02}", category=CATEGORIES[i % 6], **kind)
        done = await c.ok("auto_assign_stalls", market_date_id=day)
        first, second = done["placed"][0], done["placed"][1]
        swapped = await c.ok("assign_stall", booking_id=first["booking_id"], stall=second["stall"], swap=True)
        result = await c.call("get_market_map", market_date_id=day)
        tool = next(t for t in (await client.list_tools()).tools if t.name == "get_market_map")
        view = (await client.read_resource(tool.meta["ui"]["resourceUri"])).contents[0]  # type: ignore[index]
        sheet = (await client.read_resource(f"market-mcp://market-dates/{day}/sheet.pdf")).contents[0]

    assert done["not_placed"] == [] and len(done["placed"]) == 30
    assert [(m["booking_id"], m["to_stall"]) for m in swapped["moves"]] == [
        (first["booking_id"], second["stall"]),
        (second["booking_id"], first["stall"]),
    ]
    out = result.structured_content
    assert out is not None and out["counts"]["occupied"] == 30 and out["unassigned"] == []
    assert next(m for m in out["stalls"] if m["code"] == second["stall"])["vendor"] == first["vendor"]
    png = base64.b64decode(result.content[1].data)  # type: ignore[union-attr]
    assert Image.open(io.BytesIO(png)).format == "PNG" and len(png) < 100_000
    assert isinstance(view, TextResourceContents) and view.mime_type == "text/html;profile=mcp-app"
    assert "ui/initialize" in view.text  # the app, which draws the map that comes in the result
    assert isinstance(sheet, BlobResourceContents) and sheet.mime_type == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(base64.b64decode(sheet.blob))).pages)
    assert all(f"Stallholder {i:02}" in text for i in range(30))


async def test_who_may_trade_over_stdio_documents_the_fifth_baker_and_a_season_rolled_over_with_its_regulars(
    alice: Tenant,
) -> None:
    """Issue 19's done-when as Claude Desktop would take it: "who is booked Saturday without current insurance?",
    a fifth baker refused with the cap named, and next season made from this one with its regulars' standing
    bookings in one previewed call. (The vendor's link in a real browser: tests/test_vendor_links_browser.py.)"""
    from tests.tools.test_orders import market_with_dates

    fast = _stdio(alice.db, alice.token)
    fast.env = {**(fast.env or {}), "MARKET_MCP_RATE_LIMIT": "100000"}
    async with Client(fast) as client:
        c = Caller(client)
        s = await market_with_dates(c, dates=3)
        saturday = s.date_ids[0]

        async def approved(name: str, category: str) -> int:
            vendor = await c.ok(
                "create_vendor", business_name=name, email=f"{name.split()[0].lower()}@example.com", category=category
            )
            application = await c.ok("create_application", market_id=s.market_id, vendor_id=vendor["id"])
            await c.ok("update_application_status", application_id=application["id"], status="approved")
            return vendor["id"]

        bakers = [await approved(f"Baker{i} Bread", "Bakery") for i in range(1, 5)]
        grower = await approved("Greens Grower", "Produce")
        for vendor in [*bakers, grower]:
            order = await c.ok("create_order", vendor_id=vendor, market_date_ids=[saturday])
            await c.ok("approve_order", order_id=order["id"])

        # Documents: insurance required from now on; two of the five have it, one lapsing before Saturday.
        await c.ok("set_document_kind", name="Public liability insurance", required_for_all=True)
        for vendor, expires in (
            (bakers[0], s.days[0] + timedelta(days=800)),
            (bakers[1], s.days[0] - timedelta(days=1)),
        ):
            await c.ok(
                "record_vendor_document", vendor_id=vendor, kind="Public liability insurance", expires_on=str(expires)
            )
        uninsured = await c.ok("list_compliance", market_date_id=saturday)

        # Caps: four bakers is the limit; the fifth is refused with the cap and its holders named.
        await c.ok("set_category_caps", market_id=s.market_id, caps=[{"category": "bakery", "max_vendors": 4}])
        fifth = await c.ok("create_vendor", business_name="Fifth Crust", email="fifth@example.com", category="bakery")
        application = await c.ok("create_application", market_id=s.market_id, vendor_id=fifth["id"])
        refusal = await c.refused("update_application_status", 409, application_id=application["id"], status="approved")

        # A season with two regulars, rolled over: the preview first, then the same call for real.
        season = await c.ok(
            "set_season", market_id=s.market_id, name="Summer", starts_on=str(s.days[0]), ends_on=str(s.days[-1])
        )
        await c.ok(
            "record_vendor_document",
            vendor_id=grower,
            kind="Public liability insurance",
            expires_on=str(s.days[0] + timedelta(days=800)),
        )
        for vendor in (bakers[0], grower):
            await c.ok("create_standing_booking", vendor_id=vendor, season_id=season["id"])
        preview = await c.ok("roll_over_season", season_id=season["id"], dry_run=True)
        rolled = await c.ok("roll_over_season", season_id=season["id"], dry_run=False)

    assert uninsured["total"] == 4 and not any(row["vendor_id"] == bakers[0] for row in uninsured["items"])
    assert {row["vendor_id"] for row in uninsured["items"]} == {*bakers[1:], grower}
    assert "without" in uninsured["summary"] or "missing" in uninsured["summary"]
    assert "allows 4 bakery vendors" in refusal and '"Baker1 Bread"' in refusal and "set_category_caps" in refusal
    assert preview["dry_run"] is True and rolled["dry_run"] is False
    assert [d["scheduled_at"] for d in preview["would_schedule"]] == [d["scheduled_at"] for d in rolled["dates"]]
    assert len(rolled["dates"]) == 3 and all(d["market_date_id"] for d in rolled["dates"])
    assert {b["vendor_id"] for b in rolled["standing_bookings"]} == {bakers[0], grower}
    assert [b["dates_booked"] for b in preview["would_book"]] == [
        b["dates_booked"] for b in rolled["standing_bookings"]
    ]
    assert all(len(b["dates_booked"]) == 3 for b in rolled["standing_bookings"])
