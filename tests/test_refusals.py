"""Refusals that name the fix: one table of the mistakes a model makes and what the refusal must tell it.

Every row calls the tool through the real in-process MCP client, in a fresh organisation set up by the row's
`given` (through the tools), and checks the code and that the message names the fix: the expected format,
the allowed values, the tool that finds an id, or the tool that does what was probably meant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from mcp import Client

from market_mcp import catalog, hints
from market_mcp.config import Settings
from market_mcp.server import build_server
from tests.factories import Caller, Tenant
from tests.tools.test_orders import approved_vendor, market_with_dates, order_of

World = dict[str, Any]  # the ids (and days) a row's set-up made

# ---------------------------------------------------------------- what a row starts from, made through the tools


async def nothing(c: Caller) -> World:
    return {}


async def a_market(c: Caller) -> World:
    """Riverside: two Saturdays of one space each; Rosa's Bakery approved to trade there."""
    s = await market_with_dates(c, dates=2, capacity=1)
    rosa = await approved_vendor(c, s.market_id, "Rosa's Bakery")
    return {"market": s.market_id, "date": s.date_ids[0], "date2": s.date_ids[1], "vendor": rosa}


async def a_pending_booking(c: Caller) -> World:
    world = await a_market(c)
    order = await order_of(c, world["vendor"], [world["date"]])
    return world | {"order": order["id"], "booking": order["bookings"][0]["booking_id"]}


async def a_confirmed_booking(c: Caller) -> World:
    """Approved, so its order is payment_pending."""
    world = await a_pending_booking(c)
    await c.ok("approve_order", order_id=world["order"])
    return world


async def a_cancelled_booking(c: Caller) -> World:
    world = await a_confirmed_booking(c)
    await c.ok("cancel_booking", booking_id=world["booking"])
    return world


async def a_complete_order(c: Caller) -> World:
    world = await a_confirmed_booking(c)
    await c.ok("record_order_payment", order_id=world["order"], method="cash")
    return world


async def an_archived_order(c: Caller) -> World:
    world = await a_pending_booking(c)
    await c.ok("archive_order", order_id=world["order"])
    return world


async def a_rejected_vendor(c: Caller) -> World:
    """Sweet Pea Cupcakes, whose application to Riverside was rejected."""
    world = await a_market(c)
    vendor = await c.ok("create_vendor", business_name="Sweet Pea Cupcakes", email="hello@sweetpea.example.com")
    application = await c.ok("create_application", market_id=world["market"], vendor_id=vendor["id"])
    await c.ok("update_application_status", application_id=application["id"], status="rejected")
    return world | {"vendor": vendor["id"], "application": application["id"]}


async def a_pending_application(c: Caller) -> World:
    world = await a_market(c)
    vendor = await c.ok("create_vendor", business_name="Sweet Pea Cupcakes", email="hello@sweetpea.example.com")
    application = await c.ok("create_application", market_id=world["market"], vendor_id=vendor["id"])
    return world | {"vendor": vendor["id"], "application": application["id"]}


async def an_approved_application(c: Caller) -> World:
    world = await a_pending_application(c)
    await c.ok("update_application_status", application_id=world["application"], status="approved")
    return world


async def a_full_date(c: Caller) -> World:
    """Rosa's confirmed booking fills the first date; Tom's Tomatoes is approved and wants it too."""
    world = await a_confirmed_booking(c)
    tom = await approved_vendor(c, world["market"], "Tom's Tomatoes")
    return world | {"other": tom}


async def a_waiting_entry(c: Caller) -> World:
    world = await a_full_date(c)
    entry = await c.ok("add_to_waitlist", market_date_id=world["date"], vendor_id=world["other"])
    return world | {"entry": entry["id"]}


async def an_offer(c: Caller) -> World:
    """Tom is offered the space Rosa's cancellation freed."""
    world = await a_waiting_entry(c)
    await c.ok("cancel_booking", booking_id=world["booking"])
    await c.ok("notify_waitlist", entry_id=world["entry"])
    return world


async def a_cancelled_date(c: Caller) -> World:
    world = await a_market(c)
    await c.ok("cancel_market_date", market_date_id=world["date"])
    day = (await c.ok("get_market_date", market_date_id=world["date"]))["scheduled_at"]
    return world | {"day": day}


async def a_used_credit(c: Caller) -> World:
    world = await a_market(c)
    credit = await c.ok("create_credit", vendor_id=world["vendor"], credit_amount=10)
    order = await order_of(c, world["vendor"], [world["date"]])
    await c.ok("approve_order", order_id=order["id"])  # spends the credit
    return world | {"credit": credit["id"]}


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    mistake: str  # the row's name: what the caller got wrong
    tool: str
    arguments: Callable[[World], dict[str, Any]]
    code: int
    fix: tuple[str, ...]  # phrases the message must contain
    given: Callable[[Caller], Awaitable[World]] = nothing
    not_said: tuple[str, ...] = ()  # phrases it must not contain


def args(**arguments: Any) -> Callable[[World], dict[str, Any]]:
    return lambda world: arguments


CASES = [
    # ---- a name where an id belongs: every id names the tool that finds it
    Case(
        "a vendor's name as vendor_id",
        "get_vendor",
        args(vendor_id="Sweet Pea Cupcakes"),
        422,
        ("vendor_id must be a number, the vendor's id", 'call list_vendors with query="Sweet Pea Cupcakes"'),
    ),
    Case(
        "a market's name as market_id",
        "get_market",
        args(market_id="Riverside"),
        422,
        ("market_id must be a number", 'call list_markets with query="Riverside"'),
    ),
    Case(
        "a day as market_date_id",
        "get_market_date",
        args(market_date_id="2026-12-12"),
        422,
        ("market_date_id must be a number", "To find the id of 2026-12-12, call list_market_dates"),
    ),
    Case(
        "a weekday as target_market_date_id",
        "rebook_booking",
        args(booking_id=1, target_market_date_id="next Saturday"),
        422,
        ("target_market_date_id must be a number", "list_market_dates"),
    ),
    Case(
        "days in market_date_ids",
        "create_order",
        args(vendor_id=1, market_date_ids=["12/12/2026"]),
        422,
        ("market_date_ids[0] must be a number", "To find the id of 2026-12-12, call list_market_dates"),
    ),
    Case(
        "a vendor's name as application_id",
        "get_application",
        args(application_id="Sweet Pea Cupcakes"),
        422,
        ("application_id must be a number", 'call list_applications with query="Sweet Pea Cupcakes"'),
    ),
    Case(
        "a vendor's name as order_id",
        "get_order",
        args(order_id="Sweet Pea Cupcakes"),
        422,
        ("order_id must be a number", 'call list_orders with query="Sweet Pea Cupcakes"'),
    ),
    Case(
        "a vendor's name as booking_id",
        "cancel_booking",
        args(booking_id="Sweet Pea Cupcakes"),
        422,
        ("booking_id must be a number", 'call list_bookings with query="Sweet Pea Cupcakes"'),
    ),
    Case(
        "names in booking_ids",
        "bulk_cancel_bookings",
        args(booking_ids=[3, "Sweet Pea Cupcakes"]),
        422,
        ("booking_ids[1] must be a number", 'call list_bookings with query="Sweet Pea Cupcakes"'),
    ),
    Case(
        "names in no_show_booking_ids",
        "close_out_market_date",
        args(market_date_id=1, no_show_booking_ids=["Sweet Pea Cupcakes"]),
        422,
        ("no_show_booking_ids[0] must be a number", "list_bookings"),
    ),
    Case(
        "a vendor's name as entry_id",
        "accept_waitlist_offer",
        args(entry_id="Sweet Pea Cupcakes"),
        422,
        ("entry_id must be a number", "To find it, call list_waitlist with market_id or market_date_id"),
    ),
    Case(
        "a vendor's name as credit_id",
        "get_credit",
        args(credit_id="Sweet Pea Cupcakes"),
        422,
        ("credit_id must be a number", 'call list_credits with query="Sweet Pea Cupcakes"'),
    ),
    Case(
        "a missing id",
        "get_vendor",
        args(),
        422,
        (
            "vendor_id is required: a number, the vendor's id",
            "To find it, call list_vendors (query= finds one by name)",
        ),
    ),
    Case(
        "an id of 0",
        "get_order",
        args(order_id=0),
        422,
        ("order_id must be at least 1; got 0", "To find it, call list_orders"),
    ),
    # ---- formats
    Case(
        "a day/month/year date that reads one way",
        "create_market_date",
        args(market_id=1, scheduled_at="12/12/2026"),
        422,
        ("scheduled_at must be a date as YYYY-MM-DD, e.g. 2026-12-12", "Did you mean 2026-12-12?"),
        not_said=("invalid character",),
    ),
    Case(
        "a day/month/year date with the day first",
        "create_market_date",
        args(market_id=1, scheduled_at="25/12/2026"),
        422,
        ("YYYY-MM-DD", "Did you mean 2026-12-25?"),
    ),
    Case(
        "a day/month/year date that could be either",
        "create_market_date",
        args(market_id=1, scheduled_at="03/04/2026"),
        422,
        ("scheduled_at must be a date as YYYY-MM-DD",),
        not_said=("Did you mean",),
    ),
    Case(
        "a day written out",
        "bulk_create_market_dates",
        args(market_id=1, start_date="5 December 2026", end_date="2026-12-31", day_of_week=6),
        422,
        ("start_date must be a date as YYYY-MM-DD", "Did you mean 2026-12-05?"),
    ),
    Case(
        "a day that is not in the calendar",
        "create_market_date",
        args(market_id=1, scheduled_at="2026-02-30"),
        422,
        ("YYYY-MM-DD", "2026-02-30 is not a day of the calendar"),
    ),
    Case(
        "a missing date",
        "create_market_date",
        args(market_id=1),
        422,
        ("scheduled_at is required: a date as YYYY-MM-DD",),
    ),
    Case(
        "words as a moment",
        "list_audit_log",
        args(since="yesterday"),
        422,
        ("since must be a date and time in ISO 8601, e.g. 2026-05-01T09:00:00Z",),
    ),
    Case(
        "a 12-hour time",
        "create_market_date",
        args(market_id=1, scheduled_at="2030-01-05", start_time="8am"),
        422,
        ("start_time must be a time as HH:MM (24-hour), e.g. 08:00", "Did you mean 08:00?"),
    ),
    Case(
        "an afternoon time",
        "update_market_date",
        args(market_date_id=1, end_time="2:30 pm"),
        422,
        ("HH:MM (24-hour)", "Did you mean 14:30?"),
    ),
    Case(
        "a weekday's name as day_of_week",
        "bulk_create_market_dates",
        args(market_id=1, start_date="2030-01-01", end_date="2030-03-01", day_of_week="Saturday"),
        422,
        ("day_of_week must be a number, 0 = Sunday … 6 = Saturday", "Did you mean 6 (Saturday)?"),
        not_said=("parse",),
    ),
    Case(
        "a day_of_week past Saturday",
        "bulk_create_market_dates",
        args(market_id=1, start_date="2030-01-01", end_date="2030-03-01", day_of_week=9),
        422,
        ("day_of_week must be a number, 0 = Sunday … 6 = Saturday; got 9",),
    ),
    Case(
        "Sunday as 7",
        "bulk_create_market_dates",
        args(market_id=1, start_date="2030-01-01", end_date="2030-03-01", day_of_week=7),
        422,
        ("0 = Sunday … 6 = Saturday", "Did you mean 0 (Sunday)?"),
    ),
    Case(
        "money in words",
        "create_market",
        args(name="Riverside", default_fee="forty-five"),
        422,
        ('default_fee must be an amount such as 45 or "45.50"',),
    ),
    Case(
        "a missing amount",
        "create_credit",
        args(vendor_id=1),
        422,
        ('credit_amount is required: an amount in the organisation\'s currency, such as 45 or "45.50"',),
    ),
    Case(
        "yes for a boolean",
        "create_market",
        args(name="Riverside", booking_enabled="yes please"),
        422,
        ("booking_enabled must be true or false",),
    ),
    Case(
        "a limit over 200",
        "list_vendors",
        args(limit=500),
        422,
        ("limit must be at most 200; got 500",),
    ),
    Case(
        "a number in words",
        "create_market",
        args(name="Riverside", capacity="forty"),
        422,
        ("capacity must be a whole number from 0 to 10000",),
        not_said=("unable to parse",),
    ),
    # ---- enumerations: every allowed value, missing or wrong
    Case(
        "no payment method",
        "record_order_payment",
        args(order_id=1),
        422,
        ("method is required: one of card, cash, bank_transfer, cheque or online",),
    ),
    Case(
        "an unknown payment method",
        "record_order_payment",
        args(order_id=1, method="paypal"),
        422,
        ("method must be one of card, cash, bank_transfer, cheque or online; got 'paypal'",),
    ),
    Case(
        "a payment method in a person's words",
        "record_order_payment",
        args(order_id=1, method="Bank Transfer"),
        422,
        ("one of card, cash, bank_transfer, cheque or online", "Did you mean bank_transfer?"),
    ),
    Case(
        "no decision",
        "update_application_status",
        args(application_id=1),
        422,
        ("status is required: one of approved, rejected or waitlisted",),
    ),
    Case(
        "an unknown status filter",
        "list_orders",
        args(status="unpaid"),
        422,
        ("status must be one of pending, payment_pending, complete, rejected or archived",),
    ),
    # ---- names a model reaches for
    Case("an unknown tool", "get_vendors", args(), 404, ("Did you mean list_vendors or get_vendor?",)),
    Case("a tool under another verb", "fetch_waitlist", args(), 404, ("Did you mean list_waitlist?",)),
    Case(
        "booking instead of ordering",
        "create_booking",
        args(),
        404,
        ("Did you mean create_order or create_standing_booking?",),
    ),
    Case(
        "a misspelt argument",
        "update_market",
        args(market_id=1, fee=50),
        422,
        ("fee is not an argument of update_market (did you mean default_fee?)",),
    ),
    # ---- arguments that go together
    Case(
        "notify_waitlist with neither argument",
        "notify_waitlist",
        args(),
        422,
        ("Pass entry_id", "or market_date_id", "list_waitlist"),
        not_said=("not both",),
    ),
    Case(
        "notify_waitlist with both arguments",
        "notify_waitlist",
        args(entry_id=1, market_date_id=1),
        422,
        ("Pass entry_id or market_date_id, not both",),
    ),
    Case(
        "an application naming no vendor",
        "create_application",
        lambda w: {"market_id": w["market"]},
        422,
        ("Give vendor_id for an existing vendor (list_vendors gives it), or email and business_name",),
        given=a_market,
    ),
    # ---- state conflicts: the tool that does what was meant
    Case(
        "cancelling a pending booking",
        "cancel_booking",
        lambda w: {"booking_id": w["booking"]},
        409,
        ("a pending booking is turned down with reject_booking",),
        given=a_pending_booking,
    ),
    Case(
        "rejecting a confirmed booking",
        "reject_booking",
        lambda w: {"booking_id": w["booking"]},
        409,
        ("a confirmed booking is cancelled with cancel_booking",),
        given=a_confirmed_booking,
    ),
    Case(
        "confirming a cancelled booking",
        "confirm_booking",
        lambda w: {"booking_id": w["booking"]},
        409,
        ("restore_booking brings a cancelled booking back",),
        given=a_cancelled_booking,
    ),
    Case(
        "moving a pending booking",
        "rebook_booking",
        lambda w: {"booking_id": w["booking"], "target_market_date_id": w["date2"]},
        409,
        ("turn it down with reject_booking and book the other date with create_order",),
        given=a_pending_booking,
    ),
    Case(
        "restoring an order that is not archived",
        "restore_order",
        lambda w: {"order_id": w["order"]},
        409,
        ("restore_booking brings back a cancelled booking",),
        given=a_pending_booking,
    ),
    Case(
        "archiving an archived order",
        "archive_order",
        lambda w: {"order_id": w["order"]},
        409,
        ("restore_order brings it back",),
        given=an_archived_order,
    ),
    Case(
        "approving an archived order",
        "approve_order",
        lambda w: {"order_id": w["order"]},
        409,
        ("Restore it with restore_order first",),
        given=an_archived_order,
    ),
    Case(
        "approving an approved order",
        "approve_order",
        lambda w: {"order_id": w["order"]},
        409,
        ("record_order_payment marks it paid", "send_order_reminder"),
        given=a_confirmed_booking,
    ),
    Case(
        "recording payment before approving",
        "record_order_payment",
        lambda w: {"order_id": w["order"], "method": "cash"},
        409,
        ("approve_order approves it",),
        given=a_pending_booking,
    ),
    Case(
        "rejecting a paid order",
        "reject_order",
        lambda w: {"order_id": w["order"]},
        409,
        ("cancel its booking with cancel_booking", "rebook_booking"),
        given=a_complete_order,
    ),
    Case(
        "an order from a rejected vendor",
        "create_order",
        lambda w: {"vendor_id": w["vendor"], "market_date_ids": [w["date2"]]},
        409,
        ("was rejected", "record a new application with create_application", "update_application_status"),
        given=a_rejected_vendor,
    ),
    Case(
        "an order from a vendor whose application is pending",
        "create_order",
        lambda w: {"vendor_id": w["vendor"], "market_date_ids": [w["date2"]]},
        409,
        ("is pending: approve it with update_application_status (application_id=",),
        given=a_pending_application,
        not_said=("create_application",),
    ),
    Case(
        "waitlisting a rejected vendor",
        "add_to_waitlist",
        lambda w: {"vendor_id": w["vendor"], "market_date_id": w["date"]},
        409,
        ("record a new application with create_application",),
        given=a_rejected_vendor,
    ),
    Case(
        "approving a rejected application",
        "update_application_status",
        lambda w: {"application_id": w["application"], "status": "approved"},
        409,
        ("its decision is final", "record a new application with create_application"),
        given=a_rejected_vendor,
    ),
    Case(
        "rejecting an approved application",
        "update_application_status",
        lambda w: {"application_id": w["application"], "status": "rejected"},
        409,
        ("cancel their bookings with cancel_booking", "reject_order"),
        given=an_approved_application,
    ),
    Case(
        "a second application from an approved vendor",
        "create_application",
        lambda w: {"market_id": w["market"], "vendor_id": w["vendor"]},
        409,
        ("take their order with create_order",),
        given=an_approved_application,
    ),
    Case(
        "ordering a full date",
        "create_order",
        lambda w: {"vendor_id": w["other"], "market_date_ids": [w["date"]]},
        409,
        ("is full", "add_to_waitlist"),
        given=a_full_date,
    ),
    Case(
        "ordering a cancelled date",
        "create_order",
        lambda w: {"vendor_id": w["vendor"], "market_date_ids": [w["date"]]},
        409,
        ("choose another date (list_market_dates with market_id=",),
        given=a_cancelled_date,
    ),
    Case(
        "offering a date nobody waits for",
        "notify_waitlist",
        lambda w: {"market_date_id": w["date2"]},
        409,
        ("add_to_waitlist",),
        given=a_market,
    ),
    Case(
        "accepting an offer never made",
        "accept_waitlist_offer",
        lambda w: {"entry_id": w["entry"]},
        409,
        ("Offer them the space with notify_waitlist first",),
        given=a_waiting_entry,
    ),
    Case(
        "offering a space twice",
        "notify_waitlist",
        lambda w: {"entry_id": w["entry"]},
        409,
        ("accept_waitlist_offer", "remove_from_waitlist"),
        given=an_offer,
    ),
    Case(
        "scheduling a cancelled day again",
        "create_market_date",
        lambda w: {"market_id": w["market"], "scheduled_at": w["day"]},
        409,
        ("A cancelled date stays cancelled", "choose another day"),
        given=a_cancelled_date,
        not_said=("update_market_date",),  # it would refuse a cancelled date: no dead ends
    ),
    Case(
        "closing out a date before its day",
        "close_out_market_date",
        lambda w: {"market_date_id": w["date"]},
        409,
        ("cancel it with cancel_market_date",),
        given=a_market,
    ),
    Case(
        "a second vendor with the same email",
        "create_vendor",
        args(business_name="Rosa Again", email="ROSAS.BAKERY@example.com"),
        409,
        ("If this is them, use vendor_id=",),
        given=a_market,
    ),
    Case(
        "deleting a credit that was spent",
        "delete_credit",
        lambda w: {"credit_id": w["credit"]},
        409,
        ("Set its remaining amount to 0 with update_credit",),
        given=a_used_credit,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.mistake for case in CASES])
async def test_a_refusal_names_the_fix(alice: Tenant, case: Case) -> None:
    async with alice.client() as c:
        world = await case.given(c)
        message = await c.refused(case.tool, case.code, **case.arguments(world))
    for phrase in case.fix:
        assert phrase in message, message
    for phrase in case.not_said:
        assert phrase not in message, message


def test_every_id_argument_of_every_tool_names_the_tool_that_finds_it() -> None:
    ids = {
        argument
        for name in catalog.SPECS
        for argument in catalog.tool(name).fn_metadata.arg_model.model_fields
        if argument.endswith(("_id", "_ids"))
    }
    assert ids and all(hints.finder(argument) is not None for argument in ids), sorted(ids)


# ---------------------------------------------------------------- the whole path a refusal points at


async def test_a_rejected_vendor_trades_again_through_the_new_application_the_refusal_names(alice: Tenant) -> None:
    async with alice.client() as c:
        world = await a_rejected_vendor(c)
        refusal = await c.refused("create_order", 409, vendor_id=world["vendor"], market_date_ids=[world["date2"]])
        again = await c.ok("create_application", market_id=world["market"], vendor_id=world["vendor"])
        await c.ok("update_application_status", application_id=again["id"], status="approved")
        order = await c.ok("create_order", vendor_id=world["vendor"], market_date_ids=[world["date2"]])
    assert refusal == (
        f'"Sweet Pea Cupcakes" has no approved application to Riverside; their application {world["application"]} '
        f"was rejected, a final decision: record a new application with create_application (market_id="
        f"{world['market']}, vendor_id={world['vendor']}), then approve it with update_application_status."
    )
    assert (again["status"], order["status"], len(order["bookings"])) == ("pending", "pending", 1)


async def test_a_pending_booking_the_refusal_points_at_reject_booking_is_rejected_there(alice: Tenant) -> None:
    async with alice.client() as c:
        world = await a_pending_booking(c)
        await c.refused("cancel_booking", 409, booking_id=world["booking"])
        rejected = await c.ok("reject_booking", booking_id=world["booking"])
    assert rejected["status"] == "rejected"


async def test_a_tool_left_out_of_this_server_is_named_as_such_not_as_unknown(alice: Tenant) -> None:
    server = build_server(
        Settings(database_url=str(alice.db.url), rate_limit=100_000), db=alice.db, token=alice.token, read_only=True
    )
    async with Client(server) as client:
        message = await Caller(client).refused("approve_order", 404, order_id=1)
    assert message == "approve_order is not available here: this server is read-only (started with --read-only)."


# ---------------------------------------------------------------- what a person meant


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("12/12/2026", date(2026, 12, 12)),
        ("25/12/2026", date(2026, 12, 25)),
        ("12/25/2026", date(2026, 12, 25)),  # only one way to read it
        ("25.12.2026", date(2026, 12, 25)),
        ("2026/12/25", date(2026, 12, 25)),
        ("2026-1-5", date(2026, 1, 5)),
        ("20261225", date(2026, 12, 25)),
        ("2026-12-25T10:00", date(2026, 12, 25)),
        ("25 December 2026", date(2026, 12, 25)),
        ("Dec 25, 2026", date(2026, 12, 25)),
        ("Saturday 5 Dec 2026", date(2026, 12, 5)),
        ("03/04/2026", None),  # 3 April or March 4
        ("31/02/2026", None),
        ("next Saturday", None),
        ("", None),
    ],
)
def test_a_date_is_suggested_only_when_it_can_be_read_one_way(text: str, meant: date | None) -> None:
    assert hints.suggested_date(text) == meant


@pytest.mark.parametrize(
    ("text", "meant"),
    [("8am", "08:00"), ("8:30 pm", "20:30"), ("12am", "00:00"), ("12 p.m.", "12:00"), ("8:00", "08:00"),
     ("0800", "08:00"), ("8.30", "08:30"), ("25:00", None), ("13pm", None), ("8", None), ("noon", None)],
)  # fmt: skip
def test_a_time_is_suggested_in_24_hours(text: str, meant: str | None) -> None:
    found = hints.suggested_time(text)
    assert (found and f"{found:%H:%M}") == meant


@pytest.mark.parametrize(
    ("value", "number"),
    [("Saturday", 6), ("sat", 6), ("Saturdays", 6), ("SUN", 0), ("tues", 2), (7, 0), ("Sa", None), (8, None)],
)
def test_a_weekday_is_read_as_its_number_from_sunday(value: Any, number: int | None) -> None:
    assert hints.weekday_number(value) == number
