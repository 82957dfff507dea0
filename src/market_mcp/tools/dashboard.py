"""dashboard: who am I, and what needs attention today."""

from __future__ import annotations

from mcp.server.mcpserver import Context

from market_mcp.schemas.dashboard import Context as ContextOut
from market_mcp.schemas.dashboard import Dashboard, DashboardSummary
from market_mcp.services import dashboard
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("dashboard", "Dashboard: the organisation at a glance, and what needs attention today.")


@toolset.read("Who am I")
async def get_context(org: Org, ctx: Context) -> ContextOut:
    """Call first: the organisation (name, currency, timezone, today's date), this token's name and scope
    (read or write), the markets with their ids, and the toolsets available."""
    toolsets = sorted({spec.toolset for spec in ctx.mcp_server.specs.values()})  # type: ignore[attr-defined]
    return await dashboard.get_context(org, toolsets=toolsets)


@toolset.read("Dashboard")
async def get_dashboard(org: Org) -> Dashboard:
    """The organisation in numbers: pending applications and orders, unpaid orders and money owed, money taken
    this month, upcoming dates and the next one with its bookings, vendors, open waitlist offers, emails."""
    return await dashboard.get_dashboard(org)


@toolset.read("What needs attention")
async def get_dashboard_summary(org: Org) -> DashboardSummary:
    """Answer "what's pending today?": a few short lines (next market, money owed and taken, what needs
    attention) plus an attention list naming the tool and arguments that show each item."""
    return await dashboard.get_dashboard_summary(org)
