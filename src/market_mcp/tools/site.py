"""site: a market's site plan and prices, who stands where on a date, and the map of it."""

from __future__ import annotations

import base64
from typing import Annotated

from mcp.types import CallToolResult, ImageContent, ResourceLink, TextContent
from pydantic import Field
from pydantic_core import to_json

from market_mcp import apps
from market_mcp.schemas.common import MAX_ID, DryRun, IdempotencyKey
from market_mcp.schemas.site import (
    AddOnIn,
    AutoAssigned,
    Code,
    FeatureIn,
    MarketMap,
    RowIn,
    SitePlan,
    StallAssigned,
    StallIn,
    StallTypeIn,
)
from market_mcp.services import site
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("site", "Site: stall plans, stall types and add-ons, stall assignment and the market-day map.")

MarketId = Annotated[int, Field(ge=1, le=MAX_ID)]
MarketDateId = Annotated[int, Field(ge=1, le=MAX_ID)]
BookingId = Annotated[int, Field(ge=1, le=MAX_ID)]


@toolset.read("Get site plan")
async def get_site_plan(org: Org, market_id: MarketId) -> SitePlan:
    """A market's site plan: stalls (code, row, type, position and size in metres, facing, attributes), features,
    stall types and add-ons with fees."""
    return await site.get_site_plan(org, market_id)


@toolset.write("Set site plan", destructive=True, idempotent=False)
async def set_site_plan(
    org: Org,
    market_id: MarketId,
    rows: Annotated[
        list[RowIn] | None, Field(max_length=50, description="Lay out rows (replacing a row of that letter).")
    ] = None,
    stalls: Annotated[list[StallIn] | None, Field(max_length=500, description="Add or change stalls by code.")] = None,
    remove_stalls: Annotated[list[Code] | None, Field(max_length=500)] = None,
    features: Annotated[
        list[FeatureIn] | None, Field(max_length=100, description="Entrances, toilets, paths (replaces all).")
    ] = None,
    stall_types: Annotated[
        list[StallTypeIn] | None, Field(max_length=20, description="Priced types, default first (replaces all).")
    ] = None,
    add_ons: Annotated[list[AddOnIn] | None, Field(max_length=20, description="Priced extras (replaces all).")] = None,
    separate_categories: Annotated[
        bool | None, Field(description="Auto-assign keeps one category out of neighbouring stalls.")
    ] = None,
    copy_from_market_id: Annotated[
        int | None, Field(ge=1, le=MAX_ID, description="Start from a copy of that market's plan and prices.")
    ] = None,
    aisle: Annotated[float, Field(ge=0, le=100, description="Metres between rows laid out.")] = site.DEFAULT_AISLE,
    idempotency_key: IdempotencyKey = None,
) -> SitePlan:
    """Create or edit a market's site plan and stall prices in one call, e.g. rows A and B of 12 3x3 m stalls
    facing each other, power on row A; standard $45, double $80; power add-on +$15. Orders are then priced by type
    plus add-ons. Refuses to drop a stall held on a date to come. Emails nobody."""
    return await site.set_site_plan(
        org,
        market_id,
        copy_from_market_id=copy_from_market_id,
        rows=rows,
        stalls=stalls,
        remove_stalls=remove_stalls,
        features=features,
        stall_types=stall_types,
        add_ons=add_ons,
        separate_categories=separate_categories,
        aisle=aisle,
    )


@toolset.write("Assign stall", destructive=True, idempotent=True)
async def assign_stall(
    org: Org,
    booking_id: BookingId,
    stall: Annotated[Code | None, Field(description="A stall code on the plan; null frees the booking's stall.")],
    swap: Annotated[bool, Field(description="If another booking holds it, swap the two.")] = False,
    idempotency_key: IdempotencyKey = None,
) -> StallAssigned:
    """Put a booking in a stall on its date, or swap two vendors (swap: true). Warns, not refuses, when the stall
    lacks what the vendor needs or is beside the same category. Emails nobody."""
    return await site.assign_stall(org, booking_id, stall=stall, swap=swap)


@toolset.write("Auto-assign stalls", destructive=False, idempotent=True)
async def auto_assign_stalls(
    org: Org, market_date_id: MarketDateId, dry_run: DryRun = False, idempotency_key: IdempotencyKey = None
) -> AutoAssigned:
    """Give every booking without a stall on a date one: regulars their usual stall, needs (power, type) met, one
    category kept apart where the market says; lists who could not be placed and why. Preview with dry_run. Emails
    nobody."""
    return await site.auto_assign_stalls(org, market_date_id, dry_run=dry_run)


@toolset.read("Market-day map", app=apps.MAP)
async def get_market_map(org: Org, market_date_id: MarketDateId) -> Annotated[CallToolResult, MarketMap]:
    """The site map of a market date: who is in which stall, empty stalls, bookings without one, unpaid marked. Also
    a PNG of it and the printable day sheet (map and roster with phones, A4 PDF) as a resource."""
    from market_mcp import drawing

    out, scene, _ = await site.market_map(org, market_date_id)
    said = out.model_dump(mode="json", by_alias=True, exclude={"svg"})
    image = base64.b64encode(drawing.png(scene)).decode()
    return CallToolResult(
        content=[
            TextContent(type="text", text=to_json(said).decode()),
            ImageContent(type="image", data=image, mime_type="image/png"),
            ResourceLink(
                type="resource_link",
                uri=out.sheet_pdf,
                name=f"day-sheet-{out.date}.pdf",
                title=f"{out.market}, {out.date}: day sheet",
                mime_type="application/pdf",
            ),
        ],
        structured_content=said | {"svg": drawing.svg(scene)},
    )
