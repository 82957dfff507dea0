from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from market_mcp.schemas.common import Schema, when_set
from market_mcp.schemas.emails import EmailDelivery
from market_mcp.schemas.market_dates import MarketDateDetail


class ContextMarket(Schema):
    id: int
    name: str
    status: Literal["published", "unpublished"]


class Context(Schema):
    organization_name: str
    organization_slug: str
    currency: str
    timezone: str
    today: date = Field(description="Today on the organisation's calendar.")
    token_name: str
    scope: Literal["read", "write"] = Field(description="read: only list/get tools; write: everything.")
    markets: list[ContextMarket]
    toolsets: list[str] = Field(description="The toolsets this server exposes.")
    email_delivery: EmailDelivery = Field(description="Whether emails the tools queue reach anyone.")


class Call(Schema):
    """The tool call that lists exactly the records a figure counts."""

    tool: str
    arguments: dict[str, Any]


class SeasonDate(Schema):
    """A coming market date and how full it is."""

    market_date_id: int
    market_id: int
    market: str
    date: date
    booked: int = Field(description="Active bookings: pending and confirmed.")
    capacity: int


class Dashboard(Schema):
    today: date
    currency: str
    pending_applications: int = Field(description="Applications waiting for a decision.")
    pending_orders: int = Field(description="Orders waiting for approval.")
    unpaid_orders: int = Field(description="Approved orders still payment_pending.")
    money_owed_cents: int = Field(description="What vendors still owe on payment_pending orders.")
    money_taken_this_month_cents: int = Field(
        description="Payments received this calendar month less refunds paid out (not those given as credit)."
    )
    upcoming_market_dates: int = Field(description="Scheduled dates from today on.")
    next_market_date: MarketDateDetail | None
    season: list[SeasonDate] = Field(
        description="The next scheduled market dates (up to 12, all markets) with their active bookings and capacity."
    )
    total_vendors: int
    open_waitlist_offers: int
    emails_queued: int
    emails_failed: int
    calls: dict[str, Call] = Field(description="For each figure, the call that lists exactly what it counts.")


class AttentionItem(Schema):
    """Something to deal with, and the call that lists exactly those records."""

    what: str
    count: int
    tool: str
    arguments: dict[str, Any]


class DashboardSummary(Schema):
    text: str = Field(description="A few short lines for a chat reply.")
    attention: list[AttentionItem] = Field(description="What needs attention today, most urgent first.")
    vendor_actions: list[str] | None = when_set("What vendors did through their email links since yesterday.")
