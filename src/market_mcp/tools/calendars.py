"""get_calendar_links: calendar feed addresses, a tool of the markets toolset (services/calendars.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from market_mcp.schemas.calendars import CalendarLinks
from market_mcp.schemas.common import MAX_ID
from market_mcp.services import calendars
from market_mcp.tools.markets import toolset
from market_mcp.tools.registry import Org


@toolset.read("Get calendar links")
async def get_calendar_links(
    org: Org,
    market_id: Annotated[int | None, Field(ge=1, le=MAX_ID, description="That market's trading dates.")] = None,
    vendor_id: Annotated[int | None, Field(ge=1, le=MAX_ID, description="That vendor's booked dates.")] = None,
) -> CalendarLinks:
    """iCal feed addresses to subscribe to in a calendar app: a market's trading dates (cancelled ones marked), or a
    vendor's booked dates to send them; neither: every market's. Says how to set the public URL if none is set."""
    return await calendars.get_calendar_links(org, market_id=market_id, vendor_id=vendor_id)
