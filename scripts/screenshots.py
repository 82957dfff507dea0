"""The README's screenshots of the MCP Apps views, made from the demo organisation (as `market-mcp demo` makes it)
in a temporary SQLite file: each view is read through the server's resources/read, its tool called through the
in-process client, and the pair rendered in Debian's chromium by the test host page (tests/apps_host.html).

    .venv/bin/python scripts/screenshots.py            # writes docs/screenshots/dashboard.png

A view is one line of VIEWS: its file name, tool and arguments (a tool the server lacks is left out, with a word).
"""

from __future__ import annotations

import asyncio
import io
import sys
import tempfile
from pathlib import Path
from typing import Any

from mcp import Client
from PIL import Image
from playwright.async_api import Browser, async_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test host (tests/apps_host.py), run from anywhere

from tests.apps_host import forwarding, render_view, view_html, wire  # noqa: E402

from market_mcp.config import Settings  # noqa: E402
from market_mcp.db import Database  # noqa: E402
from market_mcp.db.migrate import upgrade  # noqa: E402
from market_mcp.demo import DEMO_SLUG, populate_demo  # noqa: E402
from market_mcp.server import build_server  # noqa: E402
from market_mcp.services import organizations  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
OUT = ROOT / "docs" / "screenshots"
VIEWS: list[tuple[str, str, dict[str, Any]]] = [
    ("dashboard.png", "get_dashboard", {}),
    ("map.png", "get_market_map", {"market_date_id": "next Northcote Farmers Market"}),
]


async def resolved(client: Client, arguments: dict[str, Any]) -> dict[str, Any]:
    """A view's arguments, with "next <market>" as that market's next trading day's id."""
    wanted = arguments.get("market_date_id")
    if not (isinstance(wanted, str) and wanted.startswith("next ")):
        return arguments
    markets = (await client.call_tool("list_markets", {"query": wanted.removeprefix("next ")})).structured_content
    market_id = markets["items"][0]["id"]  # type: ignore[index]
    dates = await client.call_tool("list_market_dates", {"market_id": market_id, "date_filter": "upcoming", "limit": 1})
    return arguments | {"market_date_id": dates.structured_content["items"][0]["id"]}  # type: ignore[index]


async def demo_store(path: Path) -> tuple[Database, str]:
    """A fresh store holding the demo organisation, and a write token for it."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade(db)
    async with db.transaction(write=True) as session:
        org, _ = await organizations.create_organization(
            session, name="Harbour & Hills Markets", slug=DEMO_SLUG, admin_email="admin@demo.example.com"
        )
        await populate_demo(session, org.id)  # type: ignore[arg-type]
        _, token = await organizations.create_token(session, slug=DEMO_SLUG, name="screenshots")
    return db, token


async def screenshot(browser: Browser, client: Client, tool: str, arguments: dict[str, Any], path: Path) -> None:
    """The view of `tool` called with `arguments`, rendered by the test host and saved as `path`."""
    uri = next(t.meta["ui"]["resourceUri"] for t in (await client.list_tools()).tools if t.name == tool and t.meta)
    html = await view_html(client, uri)
    result = wire(await client.call_tool(tool, arguments))
    page = await browser.new_page(device_scale_factor=1)
    await render_view(page, html, tool, arguments, result, forwarding(client))
    await page.wait_for_timeout(300)  # the view's size reaches the host frame
    png = await page.locator("#view").screenshot()
    await page.close()
    with Image.open(io.BytesIO(png)) as shot:  # a few dozen colours: a third of the size, the same to the eye
        shot.convert("RGB").quantize(colors=64).save(path, optimize=True)


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        db, token = await demo_store(Path(folder) / "demo.db")
        server = build_server(Settings(database_url=str(db.url)), db=db, token=token)
        async with Client(server) as client, async_playwright() as p:
            served = {tool.name for tool in (await client.list_tools()).tools}
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                for name, tool, arguments in VIEWS:
                    if tool not in served:
                        sys.stderr.write(f"skipped {name}: this server has no {tool}\n")
                        continue
                    await screenshot(browser, client, tool, await resolved(client, arguments), OUT / name)
                    sys.stderr.write(f"wrote {(OUT / name).relative_to(ROOT)}\n")
            finally:
                await browser.close()
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
