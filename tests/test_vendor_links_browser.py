"""A vendor's link in a real headless browser (Debian's chromium, driven by Playwright), against a real
`market-mcp serve --transport http --public-url …` process: the organiser offers a waitlist space over MCP, the
vendor opens the link from the queued email with JavaScript off, presses Accept, sees the confirmation, and the
organiser's get_dashboard_summary (over HTTP) shows it. A screenshot of each page goes to artifacts/.

Without /usr/bin/chromium the test skips, unless MARKET_MCP_REQUIRE_BROWSER=1 (CI), when it fails.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from playwright.async_api import Browser, async_playwright, expect
from sqlalchemy import select

from market_mcp.db.tables import VendorDocument, WaitlistEntry
from market_mcp.scheduler import run_once
from tests.factories import Tenant, today
from tests.test_consent_browser import chromium, screenshot_to
from tests.test_http import http_server, sdk_client
from tests.test_mail import free_port
from tests.test_vendor_links import entry_of, mail
from tests.tools.test_compliance import INSURANCE, PDF
from tests.tools.test_waitlist import Clock, join, one_space_left, vendors


@pytest.fixture
async def served(alice: Tenant) -> AsyncIterator[tuple[str, Browser]]:
    """A server process on alice's database whose public URL is its own address, and a headless chromium."""
    executable = chromium()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with ExitStack() as stack, mock.patch("tests.test_http.free_port", return_value=port):
        async with async_playwright() as p:
            server, launched = await asyncio.gather(
                asyncio.to_thread(stack.enter_context, http_server(alice.db, "--stateless", "--public-url", url)),
                p.chromium.launch(executable_path=executable, headless=True),
                return_exceptions=True,
            )
            for outcome in (server, launched):
                if isinstance(outcome, BaseException):
                    raise outcome
            assert server == url and isinstance(launched, Browser)
            try:
                yield url, launched
            finally:
                await launched.close()


async def test_a_vendor_accepts_a_waitlist_offer_from_the_emailed_link_and_the_dashboard_shows_it(
    alice: Tenant, served: tuple[str, Browser]
) -> None:
    url, browser = served
    async with sdk_client(url, alice.token) as c:
        s, _ = await one_space_left(c)
        (vendor,) = await vendors(c, s.market_id, "Green Bean Coffee")
        entry = await join(c, s.date_ids[0], vendor)
        await c.ok("notify_waitlist", entry_id=entry["id"])
    body = (await mail(alice, "waitlist_offer"))[-1].body
    found = re.search(re.escape(url) + r"/v/[A-Za-z0-9_-]+", body)
    assert found is not None, body
    link = found.group(0)

    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(link)
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_have_text(re.compile(r"^A space at Riverside on "))
    await page.screenshot(path=screenshot_to("vendor-link-offer.png"), full_page=True)
    accept = page.get_by_role("button", name="Accept the space")
    await expect(accept).to_be_visible()
    await expect(page.get_by_role("button", name="Decline")).to_be_visible()
    await accept.click()
    await expect(heading).to_have_text("Thank you")
    confirmation = await page.locator("main").inner_text()
    await page.screenshot(path=screenshot_to("vendor-link-accepted.png"), full_page=True)
    await page.goto(link)  # the same link again: used
    await expect(heading).to_have_text("This link has already been used")
    await context.close()

    async with sdk_client(url, alice.token) as c:
        summary = await c.ok("get_dashboard_summary")
    stored: WaitlistEntry = await entry_of(alice, entry["id"])
    assert "Done: you accepted the waitlist offer for" in confirmation
    assert "The space is booked for you" in confirmation
    assert stored.status == "accepted" and stored.booking_id is not None
    day = f"{s.days[0]:%a} {s.days[0].day} {s.days[0]:%b}"
    assert summary["vendor_actions"] == [f"Green Bean Coffee accepted the waitlist offer for {day} (via their link)."]
    assert summary["vendor_actions"][0] in summary["text"]


async def test_a_vendor_uploads_a_new_certificate_from_the_emailed_reminder(
    alice: Tenant, served: tuple[str, Browser], tmp_path: Path
) -> None:
    url, browser = served
    expires, new_expiry = today() + timedelta(days=20), today() + timedelta(days=385)
    async with sdk_client(url, alice.token) as c:
        vendor = (await c.ok("create_vendor", business_name="Green Bean Coffee", email="bean@example.com"))["id"]
        await c.ok("set_document_kind", name=INSURANCE, required_for_all=True)
        await c.ok("record_vendor_document", vendor_id=vendor, kind=INSURANCE, expires_on=str(expires))
    assert await run_once(alice.db, Clock(), email_delivery=False, public_url=url) == 1
    body = (await mail(alice, "document_expiring"))[-1].body
    found = re.search(re.escape(url) + r"/v/[A-Za-z0-9_-]+", body)
    assert found is not None, body
    certificate = tmp_path / "insurance-2027.pdf"
    certificate.write_bytes(PDF)

    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(found.group(0))
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_have_text("Your new public liability insurance")
    await page.get_by_label("The new certificate").set_input_files(certificate)
    await page.get_by_label("Expiry date").fill(str(new_expiry))
    await page.get_by_label("Certificate or policy number (optional)").fill("P-88")
    await page.screenshot(path=screenshot_to("vendor-link-upload.png"), full_page=True)
    await page.get_by_role("button", name="Send the new certificate").click()
    await expect(heading).to_have_text("Thank you")
    thanked = await page.locator("main").inner_text()
    await page.screenshot(path=screenshot_to("vendor-link-uploaded.png"), full_page=True)
    await context.close()

    async with alice.db.transaction() as session:
        current = VendorDocument.is_current.is_(True)  # type: ignore[attr-defined]
        stmt = select(VendorDocument).where(VendorDocument.vendor_id == vendor, current)
        stored = (await session.execute(stmt)).scalar_one()
    assert f"Done: you uploaded a new public liability insurance (expires {new_expiry})." in thanked
    assert (stored.expires_on, stored.number, stored.filename) == (new_expiry, "P-88", "insurance-2027.pdf")
    assert bytes(stored.content or b"") == PDF
