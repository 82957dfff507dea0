"""Calendar feed addresses (services/calendars.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from market_mcp.schemas.common import Schema


class CalendarLink(Schema):
    kind: Literal["market", "vendor"] = Field(description="market: its trading dates; vendor: their booked dates.")
    id: int = Field(description="The market's or vendor's id.")
    name: str
    url: str = Field(description="The .ics address to subscribe to; unguessable: share it only with whom it's for.")


class CalendarLinks(Schema):
    configured: bool = Field(description="Whether a public URL is set; without it there are no addresses.")
    links: list[CalendarLink]
    note: str = Field(description="What to tell the organiser.")
