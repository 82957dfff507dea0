"""Placeholder: the caps checks of issue 19 (services/admission.py calls these)."""

from __future__ import annotations

from market_mcp.auth import OrgContext
from market_mcp.db.tables import Market, MarketDate, Vendor


async def approval_problems(org: OrgContext, vendor: Vendor, market: Market) -> list[str]:
    return []


async def booking_problems(org: OrgContext, vendor: Vendor, market: Market, dates: list[MarketDate]) -> list[str]:
    return []
