"""Vendor self-service links: the link in a queued email (only with a public URL), its page on the HTTP server (the
ASGI app through httpx, in-process), what accepting and declining do to the store, single use, expiry, the audit
entry in the vendor's name, and the organiser's dashboard line."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx2
from mcp import Client
from sqlalchemy import select
from starlette.applications import Starlette

from market_mcp.config import Settings
from market_mcp.db.tables import Booking, Email, VendorLink, WaitlistEntry
from market_mcp.server import build_server
from market_mcp.services.vendor_links import token_hash
from market_mcp.vendor_pages import routes
from tests.factories import Caller, Tenant
from tests.tools.test_orders import order_of
from tests.tools.test_waitlist import Clock, confirmed_booking, join, one_space_left, vendors

BASE = "https://market.example.com"
LINK = re.compile(re.escape(BASE) + r"/v/([A-Za-z0-9_-]+)")


@asynccontextmanager
async def organiser(
    tenant: Tenant, *, public_url: str | None = BASE, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[Caller]:
    settings = Settings(database_url=str(tenant.db.url), rate_limit=100_000, public_url=public_url)
    server = build_server(settings, db=tenant.db, token=tenant.token, **({"clock": clock} if clock else {}))
    async with Client(server) as client:
        yield Caller(client)


@asynccontextmanager
async def pages(tenant: Tenant, clock: Callable[[], datetime] | None = None) -> AsyncIterator[httpx2.AsyncClient]:
    app = Starlette(routes=routes(tenant.db, clock or Clock(), None, BASE))
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE) as http:
        yield http


async def offer(c: Caller, name: str = "Green Bean Coffee") -> tuple[Any, int, int]:
    """(setup, vendor id, entry id) of a waitlist offer just made for the first date's last space."""
    s, _ = await one_space_left(c)
    (vendor,) = await vendors(c, s.market_id, name)
    entry = await join(c, s.date_ids[0], vendor)
    await c.ok("notify_waitlist", entry_id=entry["id"])
    return s, vendor, entry["id"]


async def mail(tenant: Tenant, *kinds: str) -> list[Email]:
    """The organisation's queued emails of these kinds, oldest first (the tests' tenants share one store)."""
    async with tenant.db.transaction() as session:
        rows = await session.execute(
            select(Email)
            .where(Email.organization_id == tenant.org_id, Email.kind.in_(kinds))  # type: ignore[attr-defined]
            .order_by(Email.id)
        )
    return list(rows.scalars())


async def link_in(tenant: Tenant, kind: str) -> str:
    """The path of the vendor link in the newest queued email of `kind`."""
    body = (await mail(tenant, kind))[-1].body
    found = LINK.search(body)
    assert found is not None, body
    return f"/v/{found.group(1)}"


async def entry_of(tenant: Tenant, entry_id: int) -> WaitlistEntry:
    async with tenant.db.transaction() as session:
        return (await session.execute(select(WaitlistEntry).where(WaitlistEntry.id == entry_id))).scalar_one()


async def active_bookings(tenant: Tenant, market_date_id: int) -> list[int]:
    async with tenant.db.transaction() as session:
        rows = await session.execute(
            select(Booking.vendor_id).where(
                Booking.market_date_id == market_date_id, Booking.status.in_(("pending", "confirmed"))
            )
        )
    return sorted(rows.scalars())


async def test_the_offer_email_carries_a_link_only_with_a_public_url_and_the_store_keeps_only_its_hash(
    alice: Tenant, bob: Tenant
) -> None:
    async with organiser(alice) as c:
        await offer(c)
    async with organiser(bob, public_url=None) as c:
        await offer(c)
    path = await link_in(alice, "waitlist_offer")
    token = path.removeprefix("/v/")
    (bobs,) = [e.body for e in await mail(bob, "waitlist_offer")]
    async with alice.db.transaction() as session:
        stmt = select(VendorLink).where(VendorLink.action == "waitlist_offer").order_by(VendorLink.id)
        links = (await session.execute(stmt)).scalars().all()
    (alices,) = [e.body for e in await mail(alice, "waitlist_offer")]
    assert "Take it (or let it go to the next vendor) here:" in alices
    assert "Reply to this email to take it." in bobs and "/v/" not in bobs
    assert [(link.organization_id, link.action, link.token_hash) for link in links] == [
        (alice.org_id, "waitlist_offer", token_hash(token))
    ]
    assert token not in repr([link.model_dump() for link in links])
    offered = await entry_of(alice, links[0].record_id)
    assert links[0].expires_at == offered.offer_expires_at  # the link expires with the offer


async def test_the_page_asks_and_accepting_books_the_space_once_audited_as_the_vendor(alice: Tenant) -> None:
    async with organiser(alice) as c:
        s, vendor, entry_id = await offer(c)
        path = await link_in(alice, "waitlist_offer")
        async with pages(alice) as http:
            shown = await http.get(path)
            accepted = await http.post(path, data={"choice": "accept"})
            again = await http.post(path, data={"choice": "accept"})
            looked_again = await http.get(path)
        audit = await c.ok("list_audit_log", tool="accept_waitlist_offer", detail="full")
        summary = await c.ok("get_dashboard_summary")
    assert shown.status_code == 200 and shown.headers["content-type"].startswith("text/html")
    assert "<h1>A space at Riverside on" in shown.text
    assert '<form method="post"' in shown.text
    assert '<button type="submit" name="choice" value="accept" class="primary">Accept the space</button>' in shown.text
    assert '<button type="submit" name="choice" value="decline" class="secondary">Decline</button>' in shown.text
    assert shown.headers["referrer-policy"] == "no-referrer"
    assert accepted.status_code == 200 and "<h1>Thank you</h1>" in accepted.text
    assert "Done: you accepted the waitlist offer for" in accepted.text
    assert (await entry_of(alice, entry_id)).status == "accepted"
    assert vendor in await active_bookings(alice, s.date_ids[0])
    assert again.status_code == 410 and "already been used" in again.text and "Alice Markets" in again.text
    assert looked_again.status_code == 410
    [entry] = audit["items"]
    assert entry["token_name"] == "vendor: Green Bean Coffee (link)"
    assert entry["arguments"] == {"entry_id": entry_id, "via": "vendor link"}
    assert f"waitlist_entry:{entry_id}" in entry["records"]
    day = f"{s.days[0]:%a} {s.days[0].day} {s.days[0]:%b}"
    line = f"Green Bean Coffee accepted the waitlist offer for {day} (via their link)."
    assert summary["vendor_actions"] == [line]
    assert line in summary["text"]


async def test_declining_frees_the_space_for_the_next_vendor(alice: Tenant) -> None:
    async with organiser(alice) as c:
        s, vendor, entry_id = await offer(c)
        path = await link_in(alice, "waitlist_offer")
        before = (await c.ok("list_waitlist", market_date_id=s.date_ids[0]))["spaces_left"]
        async with pages(alice) as http:
            declined = await http.post(path, data={"choice": "decline"})
        after = await c.ok("list_waitlist", market_date_id=s.date_ids[0])
        audit = await c.ok("list_audit_log", tool="remove_from_waitlist")
    assert declined.status_code == 200 and "declined the waitlist offer" in declined.text
    stored = await entry_of(alice, entry_id)
    assert (stored.status, stored.removed_reason) == ("removed", "Declined by the vendor through their link.")
    assert (before, after["spaces_left"]) == (0, 1)
    assert vendor not in await active_bookings(alice, s.date_ids[0])
    assert audit["items"][0]["token_name"] == "vendor: Green Bean Coffee (link)"


async def test_an_expired_link_is_refused_kindly_and_changes_nothing(alice: Tenant) -> None:
    clock = Clock()
    async with organiser(alice, clock=clock) as c:
        s, vendor, entry_id = await offer(c)
        path = await link_in(alice, "waitlist_offer")
    clock.advance(hours=49)
    async with pages(alice, clock) as http:
        shown = await http.get(path)
        tried = await http.post(path, data={"choice": "accept"})
    assert shown.status_code == 410 and "<h1>This link has expired</h1>" in shown.text
    assert tried.status_code == 410 and "please contact Alice Markets" in tried.text
    assert '<form method="post"' not in tried.text
    assert (await entry_of(alice, entry_id)).status == "notified"
    assert vendor not in await active_bookings(alice, s.date_ids[0])


async def test_an_unknown_or_altered_token_is_404_and_another_organisations_link_acts_only_on_its_own(
    alice: Tenant, bob: Tenant
) -> None:
    async with organiser(alice) as c:
        _, _, alices_entry = await offer(c)
    async with organiser(bob) as c:
        bs, bobs_vendor, bobs_entry = await offer(c, "Bob's Bagels")
    bobs_path = await link_in(bob, "waitlist_offer")
    async with pages(alice) as http:
        unknown = await http.get("/v/not-a-real-token")
        altered = await http.post(bobs_path[:-2] + "xx", data={"choice": "accept"})
        bad_choice = await http.post(bobs_path, data={"choice": "delete everything"})
        bobs = await http.post(bobs_path, data={"choice": "accept"})
    assert unknown.status_code == 404 and "<h1>This link doesn&#x27;t work</h1>" in unknown.text
    assert altered.status_code == 404
    assert bad_choice.status_code == 400
    assert bobs.status_code == 200
    assert (await entry_of(alice, alices_entry)).status == "notified"
    assert (await entry_of(bob, bobs_entry)).status == "accepted"
    assert bobs_vendor in await active_bookings(bob, bs.date_ids[0])


async def test_an_offer_taken_back_meanwhile_says_so_and_books_nothing(alice: Tenant) -> None:
    async with organiser(alice) as c:
        s, vendor, entry_id = await offer(c)
        path = await link_in(alice, "waitlist_offer")
        await c.ok("remove_from_waitlist", entry_id=entry_id)
        async with pages(alice) as http:
            shown = await http.get(path)
            tried = await http.post(path, data={"choice": "accept"})
    assert shown.status_code == 410 and tried.status_code == 410
    assert "<h1>This can no longer be done</h1>" in tried.text
    assert vendor not in await active_bookings(alice, s.date_ids[0])


async def test_approval_and_reminder_emails_carry_an_ill_be_there_link_that_records_attendance(alice: Tenant) -> None:
    async with organiser(alice) as c:
        s, _ = await one_space_left(c)
        (vendor,) = await vendors(c, s.market_id, "Green Bean Coffee")
        order = await order_of(c, vendor, s.date_ids[1:3])
        await c.ok("approve_order", order_id=order["id"])
        approval = await link_in(alice, "order_approved")
        await c.ok("send_order_reminder", order_id=order["id"])
        reminder = await link_in(alice, "order_reminder")
        async with pages(alice) as http:
            shown = await http.get(reminder)
            confirmed = await http.post(reminder, data={"choice": "confirm"})
        audit = await c.ok("list_audit_log", tool="confirm_attendance")
        summary = await c.ok("get_dashboard_summary")
    assert approval != reminder
    assert shown.status_code == 200 and "I&#x27;ll be there</button>" in shown.text
    assert confirmed.status_code == 200 and "confirmed they&#x27;ll be there on" in confirmed.text
    [entry] = audit["items"]
    assert entry["token_name"] == "vendor: Green Bean Coffee (link)"
    assert f"order:{order['id']}" in entry["records"]
    assert len([r for r in entry["records"] if r.startswith("booking:")]) == 2
    assert summary["vendor_actions"][0].startswith("Green Bean Coffee confirmed they'll be there on ")


async def test_without_a_public_url_payment_emails_are_as_before(alice: Tenant) -> None:
    async with organiser(alice, public_url=None) as c:
        s, _ = await one_space_left(c)
        (vendor,) = await vendors(c, s.market_id, "Green Bean Coffee")
        order_id, _ = await confirmed_booking(c, vendor, s.date_ids[1])
        await c.ok("send_order_reminder", order_id=order_id)
    bodies = [e.body for e in await mail(alice, "order_approved", "order_reminder")]
    assert len(bodies) == 3 and not any("/v/" in body or "be there" in body for body in bodies)


async def test_the_dashboard_shows_only_yesterdays_vendor_actions(alice: Tenant) -> None:
    clock = Clock()
    async with organiser(alice, clock=clock) as c:
        await offer(c)
        path = await link_in(alice, "waitlist_offer")
        async with pages(alice, clock) as http:
            assert (await http.post(path, data={"choice": "accept"})).status_code == 200
        clock.advance(hours=25)
        later = await c.ok("get_dashboard_summary")
    assert "vendor_actions" not in later
    assert "through their links" not in later["text"]


def test_a_link_lives_fourteen_days_unless_it_is_an_offers() -> None:
    from market_mcp.services.vendor_links import LINK_LIFETIME

    assert LINK_LIFETIME == timedelta(days=14)


def test_the_access_log_never_records_a_links_token() -> None:
    import logging

    from market_mcp.serving import WithoutQueryStrings

    paths = ["/v/AbC-123_x", "/ical/m12-0123456789abcdef0123456789abcdef.ics", "/mcp?access_token=x"]
    records = [
        logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s"', ("1.2.3.4", "GET", p), None)
        for p in paths
    ]
    for record in records:
        WithoutQueryStrings().filter(record)
    assert [record.getMessage() for record in records] == [
        '1.2.3.4 - "GET /v/…"',
        '1.2.3.4 - "GET /ical/…"',
        '1.2.3.4 - "GET /mcp"',
    ]
