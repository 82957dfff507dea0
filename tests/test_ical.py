"""Calendar feeds: get_calendar_links gives the addresses (or says how to set the public URL); the feeds, served by
the HTTP server's ASGI app, parse with icalendar: a market's trading dates (a cancelled one as STATUS:CANCELLED, set
hours in the organisation's timezone), a vendor's booked dates; an unknown or altered address is 404."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx2
from icalendar import Calendar
from starlette.applications import Starlette

from market_mcp.vendor_pages import routes
from tests.factories import Tenant
from tests.test_vendor_links import BASE, organiser
from tests.tools.test_orders import market_with_dates
from tests.tools.test_waitlist import Clock, confirmed_booking, vendors


async def fetch(tenant: Tenant, url: str) -> httpx2.Response:
    app = Starlette(routes=routes(tenant.db, Clock(), None, BASE))
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE) as http:
        return await http.get(url.removeprefix(BASE))


def events(response: httpx2.Response) -> list[tuple[object, str, str]]:
    calendar = Calendar.from_ical(response.content)
    return [(e.decoded("dtstart"), str(e.get("summary")), str(e.get("status"))) for e in calendar.walk("VEVENT")]


async def test_a_markets_feed_has_its_trading_dates_and_marks_the_cancelled_one(alice: Tenant) -> None:
    async with organiser(alice) as c:
        s = await market_with_dates(c, dates=3)
        await c.ok("update_market_date", market_date_id=s.date_ids[0], start_time="08:00", end_time="13:00")
        await c.ok("cancel_market_date", market_date_id=s.date_ids[2], reason="Storms")
        links = await c.ok("get_calendar_links", market_id=s.market_id)
        every = await c.ok("get_calendar_links")
    [link] = links["links"]
    assert links["configured"] is True
    assert (link["kind"], link["id"], link["name"]) == ("market", s.market_id, "Riverside")
    assert link["url"].startswith(f"{BASE}/ical/m{s.market_id}-") and link["url"].endswith(".ics")
    assert every["links"] == links["links"]
    response = await fetch(alice, link["url"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    melbourne = ZoneInfo("Australia/Melbourne")
    opening = datetime(s.days[0].year, s.days[0].month, s.days[0].day, 8, 0, tzinfo=melbourne)
    found = events(response)
    assert found == [
        (opening, "Riverside", "CONFIRMED"),
        (s.days[1], "Riverside", "CONFIRMED"),
        (s.days[2], "Riverside (cancelled)", "CANCELLED"),
    ]
    assert found[0][0].utcoffset() == opening.utcoffset()  # type: ignore[union-attr]
    assert b"TZID=Australia/Melbourne" in response.content and b"BEGIN:VTIMEZONE" in response.content


async def test_a_vendors_feed_has_their_booked_dates_only(alice: Tenant) -> None:
    async with organiser(alice) as c:
        s = await market_with_dates(c, dates=3)
        green, other = await vendors(c, s.market_id, "Green Bean Coffee", "Other Stall")
        await confirmed_booking(c, green, s.date_ids[1])
        await confirmed_booking(c, other, s.date_ids[0])
        links = await c.ok("get_calendar_links", vendor_id=green)
    [link] = links["links"]
    assert (link["kind"], link["name"]) == ("vendor", "Green Bean Coffee")
    response = await fetch(alice, link["url"])
    assert events(response) == [(s.days[1], "Riverside", "CONFIRMED")]


async def test_unknown_altered_and_other_records_addresses_are_404(alice: Tenant, bob: Tenant) -> None:
    async with organiser(alice) as c:
        s = await market_with_dates(c, dates=1)
        [link] = (await c.ok("get_calendar_links", market_id=s.market_id))["links"]
    async with organiser(bob) as c:
        bobs = await market_with_dates(c, "Bob's", dates=1)
        refused = await c.refused("get_calendar_links", 404, market_id=s.market_id)
    signature = link["url"].rsplit("-", 1)[1]
    other = f"{BASE}/ical/m{bobs.market_id}-{signature}"  # alice's signature on bob's market
    altered = link["url"][:-6] + "00.ics"
    answers = [await fetch(alice, url) for url in (f"{BASE}/ical/nothing.ics", other, altered)]
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert refused == f"Market {s.market_id} not found."


async def test_without_a_public_url_the_tool_says_how_to_set_one(alice: Tenant) -> None:
    async with organiser(alice, public_url=None) as c:
        s = await market_with_dates(c, dates=1)
        links = await c.ok("get_calendar_links", market_id=s.market_id)
        both = await c.refused("get_calendar_links", 422, market_id=s.market_id, vendor_id=1)
    assert (links["configured"], links["links"]) == (False, [])
    assert "MARKET_MCP_PUBLIC_URL" in links["note"] and "--public-url" in links["note"]
    assert "not both" in both
