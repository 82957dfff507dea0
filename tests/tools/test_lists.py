"""Every list tool, taken from the registry: compact rows by default and every field with detail="full", a
default page a model can read whole, and date ranges refused when they run backwards.

The lists run over the demo organisation (`demo`), which has something in every list.
"""

from __future__ import annotations

import inspect
import json
from typing import Any, get_args, get_type_hints

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

from market_mcp.db.tables import Booking, MarketDate, VendorNote
from market_mcp.schemas.common import PAGE_SIZE
from market_mcp.tools import TOOLSETS, ToolSpec
from tests.factories import Tenant, today

# What a model reads on every list call it makes: a default page stays a few kilobytes.
DEFAULT_PAGE_CHARS = 8_000

# Lists that take no detail argument: two whose rows declare COMPACT fields, so their other fields cannot be had
# at all (there is no get_* for a roster entry or a waitlist entry), and list_vendor_notes, whose rows have no
# COMPACT (they are already whole) but which a model calling every list alike gets a 422 from.
NO_DETAIL = {
    "list_vendor_notes": "its rows are whole already, so it takes no detail argument",
    "list_payments": "a ledger row is short: every field, always",
    "list_overdue_orders": "an overdue row is short: every field, always",
    "list_compliance": "a booking's row is its documents' states: every field, always",
}


def list_tools() -> list[ToolSpec]:
    return [spec for toolset in TOOLSETS.values() for spec in toolset.tools if spec.name.startswith("list_")]


def row_model(spec: ToolSpec) -> type[BaseModel]:
    """The model of one row of the tool's page (its return type's `items`)."""
    page = get_type_hints(spec.fn)["return"]
    (row,) = get_args(page.model_fields["items"].annotation)
    return row  # type: ignore[no-any-return]


def compact_fields(spec: ToolSpec) -> set[str]:
    """The fields a default row shows: the row model's COMPACT, or every field where it declares none."""
    row = row_model(spec)
    return set(getattr(row, "COMPACT", ()) or row.model_fields)


async def busiest(demo: Tenant) -> dict[str, int]:
    """The demo's market date with the most bookings on its roster, and its vendor with the most notes."""
    async with demo.db.transaction() as session:
        market_date_id = (
            await session.execute(
                select(Booking.market_date_id)
                .where(Booking.organization_id == demo.org_id, Booking.status.in_(("pending", "confirmed")))  # type: ignore[attr-defined]
                .group_by(Booking.market_date_id)
                .order_by(func.count().desc(), Booking.market_date_id)
                .limit(1)
            )
        ).scalar_one()
        vendor_id = (
            await session.execute(
                select(VendorNote.vendor_id)
                .where(VendorNote.organization_id == demo.org_id)
                .group_by(VendorNote.vendor_id)
                .order_by(func.count().desc(), VendorNote.vendor_id)
                .limit(1)
            )
        ).scalar_one()
    return {"market_date_id": market_date_id, "vendor_id": vendor_id}


async def a_days_work(demo: Tenant) -> None:
    """What an organiser might do in a day (the demo itself has no audit log): the busiest upcoming date
    cancelled for a storm with credit for everyone booked, every pending application decided, some notes."""
    async with demo.db.transaction() as session:
        stormy = (
            await session.execute(
                select(Booking.market_date_id)
                .join(MarketDate, MarketDate.id == Booking.market_date_id)
                .where(
                    Booking.organization_id == demo.org_id,
                    Booking.status.in_(("pending", "confirmed")),  # type: ignore[attr-defined]
                    MarketDate.status == "scheduled",
                    MarketDate.scheduled_at >= today(),
                )
                .group_by(Booking.market_date_id)
                .order_by(func.count().desc(), Booking.market_date_id)
                .limit(1)
            )
        ).scalar_one()
    vendor_id = (await busiest(demo))["vendor_id"]
    async with demo.client() as c:
        await c.ok("cancel_market_date", market_date_id=stormy, reason="Severe storm warning", credit_vendors=True)
        for application in (await c.ok("list_applications", status="pending", limit=200))["items"]:
            await c.ok("update_application_status", application_id=application["id"], status="approved")
        for n in range(20):
            await c.ok("add_vendor_note", vendor_id=vendor_id, note=f"Called about the storm credit ({n + 1}).")


async def arguments_for(tool: str, demo: Tenant) -> dict[str, Any]:
    """What the tool needs to list anything: the busiest record's id for the lists of one record; a day's
    work first for the audit log."""
    if tool == "list_audit_log":
        await a_days_work(demo)
    needed = {"list_market_date_bookings": "market_date_id", "list_vendor_notes": "vendor_id"}
    if tool not in needed:
        return {}
    return {needed[tool]: (await busiest(demo))[needed[tool]]}


def test_every_list_tools_rows_are_read_from_its_return_type() -> None:
    # The tests below find each list's row model this way: a list whose return type hides it fails here first.
    assert {spec.name: row_model(spec).__name__ for spec in list_tools()} == {
        "list_markets": "MarketOut",
        "list_market_dates": "MarketDateOut",
        "list_market_date_bookings": "RosterEntry",
        "list_vendors": "VendorSummary",
        "list_vendor_notes": "VendorNoteOut",
        "list_applications": "ApplicationOut",
        "list_credits": "CreditOut",
        "list_orders": "OrderOut",
        "list_bookings": "BookingOut",
        "list_waitlist": "WaitlistEntryOut",
        "list_audit_log": "AuditEntryOut",
        "list_emails": "EmailOut",
        "list_payments": "PaymentOut",
        "list_overdue_orders": "OverdueOrderOut",
        "list_compliance": "ComplianceRow",
        "list_seasons": "SeasonOut",
    }


@pytest.mark.parametrize(
    "spec",
    [spec for spec in list_tools()],
    ids=lambda spec: spec.name,
)
def test_every_list_pages_20_items_by_default(spec: ToolSpec) -> None:
    assert (inspect.signature(spec.fn).parameters["limit"].default, PAGE_SIZE) == (20, 20)


@pytest.mark.parametrize("spec", list_tools(), ids=lambda spec: spec.name)
async def test_a_default_list_row_has_exactly_its_compact_fields(demo: Tenant, spec: ToolSpec) -> None:
    async with demo.client() as c:
        page = await c.ok(spec.name, **await arguments_for(spec.name, demo))
    assert page["items"], f"the demo should have something in {spec.name}"
    assert [sorted(item) for item in page["items"]] == [sorted(compact_fields(spec))] * len(page["items"])


@pytest.mark.parametrize(
    "spec",
    [spec for spec in list_tools() if spec.name not in NO_DETAIL],
    ids=lambda spec: spec.name,
)
async def test_a_list_row_in_full_has_every_field_of_its_record(demo: Tenant, spec: ToolSpec) -> None:
    async with demo.client() as c:
        page = await c.ok(spec.name, **await arguments_for(spec.name, demo), detail="full")
    assert page["items"], f"the demo should have something in {spec.name}"
    assert [sorted(item) for item in page["items"]] == [sorted(row_model(spec).model_fields)] * len(page["items"])


@pytest.mark.parametrize("spec", list_tools(), ids=lambda spec: spec.name)
async def test_a_default_page_of_the_demo_is_at_most_8000_characters(demo: Tenant, spec: ToolSpec) -> None:
    async with demo.client() as c:
        result = await c.call(spec.name, **await arguments_for(spec.name, demo))
    assert not result.is_error, result.content[0].text
    text = result.content[0].text  # type: ignore[union-attr]
    assert json.loads(text)["items"], f"the demo should have something in {spec.name}"
    assert len(text) <= DEFAULT_PAGE_CHARS, (len(text), json.loads(text)["page"])


# ---------------------------------------------------------------- date ranges

# The (from, to) pairs a list can take, as its input schema names them.
RANGES = (("from_date", "to_date"), ("paid_from", "paid_to"), ("start_date", "end_date"))


def ranged_lists() -> list[tuple[str, str, str]]:
    """(tool, from argument, to argument) for every range every list tool takes."""
    return [
        (spec.name, start, end)
        for spec in list_tools()
        for start, end in RANGES
        if {start, end} <= set(get_type_hints(spec.fn, include_extras=True))
    ]


def test_the_lists_with_date_ranges_are_the_ones_the_catalog_promises() -> None:
    assert sorted(ranged_lists()) == [
        ("list_applications", "start_date", "end_date"),
        ("list_audit_log", "from_date", "to_date"),
        ("list_bookings", "from_date", "to_date"),
        ("list_emails", "from_date", "to_date"),
        ("list_market_dates", "from_date", "to_date"),
        ("list_orders", "from_date", "to_date"),
        ("list_orders", "paid_from", "paid_to"),
        ("list_payments", "from_date", "to_date"),
        ("list_vendors", "start_date", "end_date"),
    ]


@pytest.mark.parametrize(("tool", "start", "end"), ranged_lists(), ids=lambda value: str(value))
async def test_a_range_that_ends_before_it_starts_is_refused_naming_both_ends(
    alice: Tenant, tool: str, start: str, end: str
) -> None:
    async with alice.client() as c:
        message = await c.refused(tool, 422, **{start: "2026-03-05", end: "2026-03-01"})
    assert message == f"{start} 2026-03-05 is after {end} 2026-03-01; swap them, or give only one."


@pytest.mark.parametrize(("tool", "start", "end"), ranged_lists(), ids=lambda value: str(value))
async def test_a_range_of_one_day_is_accepted(alice: Tenant, tool: str, start: str, end: str) -> None:
    async with alice.client() as c:
        page = await c.ok(tool, **{start: "2026-03-05", end: "2026-03-05"})
    assert (page["items"], page["total"], page["page"]) == ([], 0, "Nothing matches.")


@pytest.mark.parametrize("spec", [s for s in list_tools() if s.name in NO_DETAIL], ids=lambda spec: spec.name)
def test_a_list_without_detail_shows_its_rows_whole(spec: ToolSpec) -> None:
    assert not getattr(row_model(spec), "COMPACT", ())
    assert "detail" not in inspect.signature(spec.fn).parameters
