"""A minimal MCP Apps host for tests and screenshots: tests/apps_host.html in a Playwright page, the view in its
sandboxed iframe, the view's tools/call answered by a Python function (the real in-process client, or a stub)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import CallToolResult, TextResourceContents
from playwright.async_api import FrameLocator, Page

HOST = Path(__file__).with_name("apps_host.html")
WIDTH = 900

CallTool = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


def wire(result: CallToolResult) -> dict[str, Any]:
    """A CallToolResult as the host passes it on: its JSON-RPC form."""
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


async def view_html(client: Client, uri: str) -> str:
    """The view's HTML, read through the server's resources/read as a host reads it."""
    content = (await client.read_resource(uri)).contents[0]
    assert isinstance(content, TextResourceContents) and content.mime_type == "text/html;profile=mcp-app"
    return content.text


def forwarding(client: Client) -> CallTool:
    """The view's tools/call forwarded to the server through the client, as a host forwards it."""

    async def call_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return wire(await client.call_tool(name, arguments))

    return call_tool


async def render_view(
    page: Page,
    html: str,
    tool_name: str,
    arguments: dict[str, Any],
    result: dict[str, Any],
    call_tool: CallTool,
    *,
    theme: str = "light",
) -> FrameLocator:
    """Show `html` as the view of `tool_name`'s call with `arguments` and its `result` (wire form): the handshake,
    tool-input and tool-result, then the view's own tools/call through `call_tool`. Returns the view's frame."""
    await page.set_viewport_size({"width": WIDTH, "height": 900})
    await page.expose_function("hostCallTool", call_tool)
    await page.goto(HOST.as_uri())
    context = {
        "theme": theme,
        "displayMode": "inline",
        "availableDisplayModes": ["inline"],
        "containerDimensions": {"width": WIDTH, "maxHeight": 4000},
        "locale": "en-AU",
        "timeZone": "Australia/Melbourne",
        "platform": "web",
        "toolInfo": {"tool": {"name": tool_name, "inputSchema": {"type": "object"}}},
    }
    await page.evaluate("([h, c, a, r]) => window.host.start(h, c, a, r)", [html, context, arguments, result])
    return page.frame_locator("#view")
