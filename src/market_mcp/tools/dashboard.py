"""dashboard: who am I, and what needs attention today."""

from __future__ import annotations

import base64
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ImageContent, TextContent
from pydantic_core import to_json

from market_mcp import apps, charts
from market_mcp.schemas.dashboard import Context as ContextOut
from market_mcp.schemas.dashboard import Dashboard, DashboardSummary
from market_mcp.services import dashboard
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("dashboard", "Dashboard: the organisation at a glance, and what needs attention today.")


@toolset.read("Who am I")
async def get_context(org: Org, ctx: Context) -> ContextOut:
    """Call first: the organisation (name, currency, timezone, today), token scope (read or write), market ids,
    toolsets, and whether email is delivered."""
    toolsets = sorted({spec.toolset for spec in ctx.mcp_server.specs.values()})  # type: ignore[attr-defined]
    return await dashboard.get_context(org, toolsets=toolsets)


@toolset.read("Dashboard", app=apps.DASHBOARD)
async def get_dashboard(org: Org) -> Annotated[CallToolResult, Dashboard]:
    """The organisation in numbers: pending applications and orders, money owed and taken this month, upcoming dates
    (season: next 12's fill), offers, emails; calls: what lists each figure's records. For chat: get_dashboard_summary."""
    board = await dashboard.get_dashboard(org)
    structured = board.model_dump(mode="json", by_alias=True)
    bars = [charts.Bar(f"{day.date:%a %-d %b} {day.market}", day.booked, day.capacity) for day in board.season]
    png = charts.fill_bars("Bookings of capacity, coming market dates", bars)
    return CallToolResult(
        content=[
            TextContent(type="text", text=to_json(structured).decode()),  # the JSON, as every tool's text
            ImageContent(type="image", data=base64.b64encode(png).decode(), mime_type="image/png"),
        ],
        structured_content=structured,
    )


@toolset.read("What needs attention")
async def get_dashboard_summary(org: Org) -> DashboardSummary:
    """Answers "what's pending today?": a few lines to relay and an attention list naming, per item, the call that
    lists exactly those records."""
    return await dashboard.get_dashboard_summary(org)
