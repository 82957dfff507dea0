"""The consent page in a real headless browser: Debian's chromium, driven by Playwright.

The HTTP tests (test_oauth.py) post the consent form by hand; these press its buttons as an organiser does,
with the keyboard and with JavaScript off, and let the browser follow the redirect to the application's
callback (a small loopback server here). Screenshots of the page go to artifacts/ at the project root.

Without /usr/bin/chromium the tests skip, unless MARKET_MCP_REQUIRE_BROWSER=1 (CI), when they fail.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.factories import Tenant
from tests.test_http import http_server, rpc
from tests.test_oauth import authorize, pkce, register, token_request

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def chromium() -> str:
    """Debian's chromium; skip without it, unless CI says a browser is required (then fail)."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium); the consent page's browser tests need it"
        if os.environ.get("MARKET_MCP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"MARKET_MCP_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return str(CHROMIUM)


@pytest.fixture
async def served(alice: Tenant) -> AsyncIterator[tuple[str, Browser]]:
    """A server process on alice's database and a headless chromium, started side by side (both are slow)."""
    executable = chromium()
    with ExitStack() as stack:
        async with async_playwright() as p:
            server, launched = await asyncio.gather(
                asyncio.to_thread(stack.enter_context, http_server(alice.db, "--stateless")),
                p.chromium.launch(executable_path=executable, headless=True),
                return_exceptions=True,
            )
            for outcome in (server, launched):
                if isinstance(outcome, BaseException):
                    raise outcome
            assert isinstance(server, str) and isinstance(launched, Browser)
            try:
                yield server, launched
            finally:
                await launched.close()


class Application:
    """The connecting application, on loopback as http://localhost:PORT: another site than the server's
    127.0.0.1, as chatgpt.com is. Its /start page links to /authorize; /callback is its redirect URI."""

    def __init__(self) -> None:
        self.authorize_url = ""
        self.callbacks: list[str] = []  # the path and query of every request to /callback
        application = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = urlsplit(self.path).path
                if path == "/callback":
                    application.callbacks.append(self.path)
                    self.reply("<title>Connected</title><p>You can close this window.")
                elif path == "/start":
                    self.reply(f'<title>App</title><a href="{escape(application.authorize_url)}">Connect</a>')
                else:  # the browser also asks for /favicon.ico
                    self.send_error(404)

            def reply(self, html: str) -> None:
                body = f"<!doctype html>{html}".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://localhost:{self.server.server_address[1]}"
        self.callback = f"{self.origin}/callback"


@contextmanager
def application() -> Iterator[Application]:
    app = Application()
    thread = threading.Thread(target=app.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        app.server.shutdown()
        app.server.server_close()


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def arrive(page: Page, callback: str) -> dict[str, str]:
    """Wait until the browser has followed the redirect to the callback; the parameters it carried."""
    await page.wait_for_url(lambda address: address.startswith(f"{callback}?"))
    await expect(page).to_have_title("Connected")
    return query(page.url)


def screenshot_to(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.unlink(missing_ok=True)
    return path


async def test_approving_read_only_with_the_keyboard_and_no_javascript_returns_a_code_for_read_tools(
    alice: Tenant, served: tuple[str, Browser]
) -> None:
    url, browser = served
    with application() as app:
        client = register(url, redirect_uris=[app.callback])
        verifier, challenge = pkce()
        app.authorize_url = f"{url}/authorize?" + urlencode({
            "response_type": "code", "client_id": client["client_id"], "redirect_uri": app.callback,
            "code_challenge": challenge, "code_challenge_method": "S256", "state": "s-123",
            "scope": "markets:read markets:write", "resource": f"{url}/mcp",
        })  # fmt: skip

        context = await browser.new_context(java_script_enabled=False)  # the page needs no script
        context.set_default_timeout(10_000)
        page = await context.new_page()
        # As from ChatGPT: the application's own page (another site) sends the organiser to /authorize.
        await page.goto(f"{app.origin}/start")
        async with page.expect_navigation(url=lambda address: address.startswith(f"{url}/consent?")) as navigation:
            await page.get_by_role("link", name="Connect").click()
        opened = await navigation.value
        assert opened is not None and opened.status == 200
        await expect(page).to_have_title("Connect Test Connector · market-mcp")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Connect Test Connector to your market")
        await expect(page.locator(".who")).to_contain_text(f"sent back to {urlsplit(app.origin).hostname}")

        # What assistive technology sees: a labelled, required token field; a radio group named "Access".
        token = page.get_by_label("Organisation API token")
        await expect(token).to_have_attribute("type", "password")
        await expect(token).to_have_attribute("required", "")
        access = page.get_by_role("group", name="Access")
        read, write = access.get_by_role("radio", name="Read only"), access.get_by_role("radio", name="Full access")
        await expect(read).to_be_checked()
        await expect(write).to_be_enabled()  # the application asked for markets:write too
        shot = screenshot_to("consent-page.png")
        await page.screenshot(path=shot, full_page=True)

        # Keyboard only: the token field is the first stop, then the radio group, then Approve.
        await page.keyboard.press("Tab")
        await expect(token).to_be_focused()
        await page.keyboard.type(alice.token)
        await page.keyboard.press("Tab")
        await expect(read).to_be_focused()
        await page.keyboard.press("ArrowDown")
        await expect(write).to_be_checked()
        await page.keyboard.press("ArrowUp")  # and back: read only, chosen on purpose
        await expect(read).to_be_checked()
        await expect(write).not_to_be_checked()
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("button", name="Approve")).to_be_focused()
        await page.keyboard.press("Enter")  # the anti-forgery cookie (SameSite=Strict) must go with it

        answer = await arrive(page, app.callback)
        await context.close()
    exchanged = token_request(
        url, client, grant_type="authorization_code", code=answer["code"], code_verifier=verifier,
        redirect_uri=app.callback, resource=f"{url}/mcp",
    )  # fmt: skip
    assert exchanged.status_code == 200, exchanged.text
    issued = exchanged.json()
    listed = rpc(url, issued["access_token"], "tools/list")
    assert shot.stat().st_size > 0
    assert answer["code"].startswith("mk_code_") and (answer["state"], answer["iss"]) == ("s-123", url)
    assert app.callbacks == [f"/callback?{urlsplit(page.url).query}"]  # the code went there, once
    assert issued["scope"] == "markets:read"
    names = {tool["name"] for tool in listed.json()["result"]["tools"]}
    assert "list_markets" in names
    assert not names & {"create_market", "approve_order", "bulk_cancel_bookings"}


async def test_a_bad_token_is_shown_as_an_error_and_denying_returns_access_denied(
    alice: Tenant, served: tuple[str, Browser]
) -> None:
    url, browser = served
    with application() as app:
        client = register(url, redirect_uris=[app.callback])
        start = authorize(url, client["client_id"], pkce()[1], redirect_uri=app.callback)
        page = await browser.new_page()
        page.set_default_timeout(10_000)
        await page.goto(start.headers["location"])
        token = page.get_by_label("Organisation API token")
        approve, deny = page.get_by_role("button", name="Approve"), page.get_by_role("button", name="Deny")

        # The browser will not send the form without a token (the field is required) ...
        await approve.click()
        assert await token.evaluate("field => field.validity.valueMissing")
        await expect(page.get_by_role("alert")).to_have_count(0)

        # ... and the server explains a token it does not know, next to the field, without echoing it.
        await token.fill("mk_org_not-a-real-token")
        await page.get_by_role("radio", name="Read only").check()
        async with page.expect_navigation() as navigation:
            await approve.click()
        refused = await navigation.value
        assert refused is not None and refused.status == 400
        alert = page.get_by_role("alert")
        await expect(alert).to_have_text(
            "That token was not recognised, or it has been revoked. Check it, or create a new one."
        )
        # The error is read with the field first, then the field's own hint.
        await expect(token).to_have_accessible_description(
            re.compile("^" + re.escape(await alert.inner_text()) + " The token")
        )
        await expect(token).to_be_focused()
        await expect(token).to_have_value("")
        await expect(page.get_by_role("radio", name="Read only")).to_be_checked()  # the choice is kept
        assert "not-a-real-token" not in await page.content()
        shot = screenshot_to("consent-bad-token.png")
        await page.screenshot(path=shot, full_page=True)

        # Something that is not an API token at all gets its own explanation.
        await token.fill("hunter2")
        await approve.click()
        await expect(page.get_by_role("alert")).to_have_text(
            "That is not an organisation API token: those start with mk_org_."
        )

        # Deny needs no token (formnovalidate) and sends the organiser back with the refusal.
        await expect(token).to_have_value("")
        await deny.click()
        answer = await arrive(page, app.callback)
        await page.close()
    assert shot.stat().st_size > 0
    assert answer == {
        "error": "access_denied", "error_description": "The organiser declined.", "state": "s-123", "iss": url,
    }  # fmt: skip
    assert len(app.callbacks) == 1 and "code=" not in app.callbacks[0]
