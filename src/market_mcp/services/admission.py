"""Who may trade: the checks an approval and a booking pass besides capacity.

A vendor's required documents (services/compliance.py) and a market's category caps (services/caps.py) each give
their problems as sentences that name what stops the call and the tool that fixes it. Without an override, any
problem refuses the call (409) with all of them; with `override_reason` the organiser, who may know better, goes
ahead, and the reason stays in the audit entry of the call, as its arguments do.
"""

from __future__ import annotations

from market_mcp.auth import OrgContext
from market_mcp.db.tables import Market, MarketDate, Vendor
from market_mcp.errors import Conflict
from market_mcp.services import caps, compliance

_OVERRIDE = "To go ahead anyway, call again with override_reason saying why (kept in the audit log)."


def _refuse_unless(problems: list[str], override_reason: str | None, *, can_override: bool = True) -> None:
    if problems and not (override_reason and override_reason.strip()):
        raise Conflict(" ".join([*problems, _OVERRIDE] if can_override else problems))


async def check_approval(org: OrgContext, vendor: Vendor, market: Market, *, override_reason: str | None) -> None:
    """Refuse (409) approving a vendor's application to a market they may not trade at, unless overridden."""
    problems = await compliance.approval_problems(org, vendor, market) + await caps.approval_problems(
        org, vendor, market
    )
    _refuse_unless(problems, override_reason)


async def check_booking(
    org: OrgContext,
    vendor: Vendor,
    market: Market,
    dates: list[MarketDate],
    *,
    override_reason: str | None,
    can_override: bool = True,
) -> None:
    """Refuse (409) booking a vendor on dates they may not trade on, unless overridden (where the calling tool
    takes override_reason: `can_override`)."""
    problems = await compliance.booking_problems(org, vendor, market, dates) + await caps.booking_problems(
        org, vendor, market, dates
    )
    _refuse_unless(problems, override_reason, can_override=can_override)
