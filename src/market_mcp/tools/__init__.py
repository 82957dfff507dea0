"""One module per toolset; each declares its thin tools on a Toolset. TOOLSETS is the catalog."""

from market_mcp.tools import (
    activity,
    applications,
    bookings,
    calendars,  # noqa: F401  (adds get_calendar_links to the markets toolset)
    compliance,
    connector,
    credits,
    dashboard,
    market_dates,
    markets,
    orders,
    seasons,
    site,
    vendors,
    waitlist,
)
from market_mcp.tools.registry import Org, Toolset, ToolSpec

TOOLSETS: dict[str, Toolset] = {
    t.name: t
    for t in (
        dashboard.toolset,
        markets.toolset,
        market_dates.toolset,
        vendors.toolset,
        applications.toolset,
        credits.toolset,
        orders.toolset,
        bookings.toolset,
        site.toolset,
        compliance.toolset,
        seasons.toolset,
        waitlist.toolset,
        activity.toolset,
        connector.toolset,
    )
}

__all__ = ["TOOLSETS", "Org", "ToolSpec", "Toolset"]
