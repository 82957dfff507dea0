"""waitlist: list_waitlist, add_to_waitlist, notify_waitlist, accept_waitlist_offer, remove_from_waitlist.

Set up through the tools (markets, dates, approved vendors, confirmed bookings, entries, offers); rows the tools
would refuse to make (a date in the past, a cancelled date) are written straight to the store. Time moves by
the server's clock (`Clock`), never by sleeping: an offer holds its space for 48 hours of that clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from market_mcp.db.tables import WaitlistEntry
from tests.factories import Caller, Tenant, today
from tests.tools.test_orders import (
    Setup,
    approved_vendor,
    credit,
    market_with_dates,
    order_of,
    outbox,
    raw,
    recent,
    rosa,
    set_market_date,
    snapshot,
)

MELBOURNE = ZoneInfo("Australia/Melbourne")
MISSING = 999_999


class Clock:
    """The server's clock: real time moved on by `offset` (tests move it instead of sleeping)."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


def moment(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def long_day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


# ---------------------------------------------------------------- set-up through the tools


async def confirmed_booking(c: Caller, vendor_id: int, market_date_id: int) -> tuple[int, int]:
    """(order id, booking id) of an approved order for one date."""
    order = await order_of(c, vendor_id, [market_date_id])
    approved = await c.ok("approve_order", order_id=order["id"])
    assert [b["status"] for b in approved["bookings"]] == ["confirmed"]
    return approved["id"], approved["bookings"][0]["booking_id"]


async def vendors(c: Caller, market_id: int, *names: str) -> list[int]:
    return [await approved_vendor(c, market_id, name) for name in names]


async def join(c: Caller, market_date_id: int, vendor_id: int) -> dict[str, Any]:
    return await c.ok("add_to_waitlist", market_date_id=market_date_id, vendor_id=vendor_id)


async def full_date(c: Caller, *, capacity: int = 1) -> tuple[Setup, list[int]]:
    """A market of `capacity` spaces a date whose first date is full; returns the booked vendors too."""
    s = await market_with_dates(c, capacity=capacity)
    booked = await vendors(c, s.market_id, *(f"Booked {n}" for n in range(capacity)))
    for vendor in booked:
        await confirmed_booking(c, vendor, s.date_ids[0])
    return s, booked


async def one_space_left(c: Caller) -> tuple[Setup, int]:
    """A market of 2 spaces a date whose first date has one confirmed booking (one space left)."""
    s = await market_with_dates(c, capacity=2)
    (booked,) = await vendors(c, s.market_id, "Booked Early")
    await confirmed_booking(c, booked, s.date_ids[0])
    return s, booked


async def state(tenant: Tenant) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a waitlist tool could change, as stored."""
    return await snapshot(tenant) | {
        "waitlist_entry": await raw(tenant, "waitlist_entry"),
        "market_date": await raw(tenant, "market_date"),
    }


async def notified_at(tenant: Tenant, entry_id: int) -> datetime | None:
    async with tenant.db.transaction() as session:
        return (
            await session.execute(select(WaitlistEntry.notified_at).where(WaitlistEntry.id == entry_id))
        ).scalar_one()


async def sent(tenant: Tenant, kind: str) -> list[dict[str, Any]]:
    return [e for e in await outbox(tenant) if e["kind"] == kind]


async def entry_ids(c: Caller, **arguments: Any) -> list[int]:
    return [e["id"] for e in (await c.ok("list_waitlist", **arguments))["items"]]


async def date_counts(c: Caller, market_id: int, market_date_id: int) -> tuple[int, int, int]:
    """(confirmed_count, spaces_left, waitlist_count) of a date as list_market_dates reports it."""
    page = await c.ok("list_market_dates", market_id=market_id)
    (md,) = [d for d in page["items"] if d["id"] == market_date_id]
    return md["confirmed_count"], md["spaces_left"], md["waitlist_count"]


# ================================================================ add_to_waitlist


async def test_vendors_join_a_full_dates_waitlist_at_positions_1_2_3_in_the_order_they_are_added(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        s, _ = await full_date(c)
        kiri, tom, ana = await vendors(c, s.market_id, "Kiri's Kitchen", "Tom's Tomatoes", "Ana's Art")
        mail_before = await outbox(alice)
        first = await join(c, s.date_ids[0], kiri)
        second = await join(c, s.date_ids[0], tom)
        third = await join(c, s.date_ids[0], ana)
    assert first == {
        "id": first["id"],
        "status": "waiting",
        "position": 1,
        "market_date_id": s.date_ids[0],
        "scheduled_at": str(s.days[0]),
        "market_id": s.market_id,
        "market_name": "Riverside",
        "vendor_id": kiri,
        "business_name": "Kiri's Kitchen",
        "email": "kiris.kitchen@example.com",
        "category": "",
        "notified_at": None,
        "offer_expires_at": None,
        "booking_id": None,
        "removed_reason": None,
        "created_at": first["created_at"],
        "order_id": None,
    }
    assert recent(first["created_at"])
    assert [(e["vendor_id"], e["position"], e["status"]) for e in (first, second, third)] == [
        (kiri, 1, "waiting"),
        (tom, 2, "waiting"),
        (ana, 3, "waiting"),
    ]
    assert await outbox(alice) == mail_before  # joining emails nobody


async def test_a_vendor_without_an_approved_application_cannot_join_and_nothing_is_written(alice: Tenant) -> None:
    async with alice.client() as c:
        s, _ = await full_date(c)
        stranger = (await c.ok("create_vendor", business_name="Stranger Things", email="s@example.com"))["id"]
        pending = (await c.ok("create_vendor", business_name="Pending Pies", email="p@example.com"))["id"]
        application = await c.ok("create_application", market_id=s.market_id, vendor_id=pending)
        before = await state(alice)
        no_application = await c.refused("add_to_waitlist", 409, market_date_id=s.date_ids[0], vendor_id=stranger)
        undecided = await c.refused("add_to_waitlist", 409, market_date_id=s.date_ids[0], vendor_id=pending)
    assert no_application == (
        '"Stranger Things" has no approved application to Riverside; record a new application with create_application '
        f"(market_id={s.market_id}, vendor_id={stranger}), then approve it with update_application_status."
    )
    assert undecided == (
        f'"Pending Pies" has no approved application to Riverside; their application {application["id"]} is pending: '
        f'approve it with update_application_status (application_id={application["id"]}, status="approved") first.'
    )
    assert await state(alice) == before


@pytest.mark.parametrize("booking_status", ["confirmed", "pending"])
async def test_a_vendor_already_booked_on_the_date_cannot_join_its_waitlist(alice: Tenant, booking_status: str) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, capacity=2)
        vendor = await rosa(c, s.market_id)
        if booking_status == "confirmed":
            _, booking = await confirmed_booking(c, vendor, s.date_ids[0])
        else:
            booking = (await order_of(c, vendor, [s.date_ids[0]]))["bookings"][0]["booking_id"]
        before = await state(alice)
        message = await c.refused("add_to_waitlist", 409, market_date_id=s.date_ids[0], vendor_id=vendor)
        after = await state(alice)
        other_date = await join(c, s.date_ids[1], vendor)  # booked on one date, free to wait for another
    assert message == (
        f'"Rosa\'s Bakery" already has booking {booking} on market date {s.date_ids[0]}, so they need no place on its '
        "waitlist."
    )
    assert after == before
    assert other_date["position"] == 1


async def test_a_vendor_already_waiting_or_holding_an_offer_cannot_join_again(alice: Tenant) -> None:
    async with alice.client() as c:
        s, _ = await one_space_left(c)
        kiri, tom = await vendors(c, s.market_id, "Kiri's Kitchen", "Tom's Tomatoes")
        waiting = await join(c, s.date_ids[0], kiri)
        offered = await join(c, s.date_ids[0], tom)
        await c.ok("notify_waitlist", entry_id=offered["id"])
        before = await state(alice)
        again = await c.refused("add_to_waitlist", 409, market_date_id=s.date_ids[0], vendor_id=kiri)
        again_offered = await c.refused("add_to_waitlist", 409, market_date_id=s.date_ids[0], vendor_id=tom)
    assert again == (
        f"\"Kiri's Kitchen\" is already on this date's waitlist (waiting, position 1, entry {waiting['id']}); "
        "notify_waitlist offers them the space."
    )
    assert again_offered == (
        f"\"Tom's Tomatoes\" is already on this date's waitlist (notified, position 2, entry {offered['id']})."
    )
    assert await state(alice) == before


async def test_a_removed_vendor_can_join_again_at_the_end_of_the_line(alice: Tenant) -> None:
    async with alice.client() as c:
        s, _ = await full_date(c)
        kiri, tom, ana = await vendors(c, s.market_id, "Kiri's Kitchen", "Tom's Tomatoes", "Ana's Art")
        first = await join(c, s.date_ids[0], kiri)
        await join(c, s.date_ids[0], tom)
        await join(c, s.date_ids[0], ana)
        await c.ok("remove_from_waitlist", entry_id=first["id"], reason="Changed her mind")
        back = await join(c, s.date_ids[0], kiri)
        listed = await c.ok("list_waitlist", market_date_id=s.date_ids[0])
    assert (back["id"], back["status"], back["position"]) == (first["id"], "waiting", 4)  # once per date
    assert (back["removed_reason"], back["notified_at"], back["offer_expires_at"]) == (None, None, None)
    assert [(e["vendor_id"], e["position"]) for e in listed["items"]] == [(tom, 2), (ana, 3), (kiri, 4)]


@pytest.mark.parametrize("how", ["passed", "cancelled", "closed"])
async def test_a_date_that_has_passed_or_is_cancelled_or_closed_cannot_be_waitlisted(alice: Tenant, how: str) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        if how == "passed":
            await set_market_date(alice, s.date_ids[0], scheduled_at=today() - timedelta(days=1))
        elif how == "cancelled":
            await c.ok("cancel_market_date", market_date_id=s.date_ids[0], reason="Storm")
        else:
            await set_market_date(alice, s.date_ids[0], status="closed", closed_at=datetime.now(UTC))
        before = await state(alice)
        message = await c.refused("add_to_waitlist", 409, market_date_id=s.date_ids[0], vendor_id=vendor)
    if how == "passed":
        assert (
            message
            == f"Market date {s.date_ids[0]} ({today() - timedelta(days=1)}) has passed, so it cannot be booked; "
            f'choose another date (list_market_dates with market_id={s.market_id}, date_filter="upcoming").'
        )
    else:
        assert message == (
            f"Market date {s.date_ids[0]} ({s.days[0]}) is {how}, so it cannot be booked; choose another date "
            f'(list_market_dates with market_id={s.market_id}, date_filter="upcoming").'
        )
    assert await state(alice) == before


# ================================================================ list_waitlist


async def test_list_waitlist_by_market_id_shows_the_next_upcoming_dates_waitlist_and_says_which_date(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        s, _ = await full_date(c)
        kiri, tom = await vendors(c, s.market_id, "Kiri's Kitchen", "Tom's Tomatoes")
        on_first = await join(c, s.date_ids[0], kiri)
        on_second = await join(c, s.date_ids[1], tom)
        next_date = await c.ok("list_waitlist", market_id=s.market_id)
        await set_market_date(alice, s.date_ids[0], scheduled_at=today() - timedelta(days=1))
        after_it_passed = await c.ok("list_waitlist", market_id=s.market_id)
        both = await c.ok("list_waitlist", market_id=s.market_id, market_date_id=s.date_ids[2])
    assert {k: next_date[k] for k in ("market_date_id", "scheduled_at", "spaces_left", "total")} == {
        "market_date_id": s.date_ids[0],
        "scheduled_at": str(s.days[0]),
        "spaces_left": 0,
        "total": 1,
    }
    assert [e["id"] for e in next_date["items"]] == [on_first["id"]]
    assert (next_date["limit"], next_date["offset"], next_date["next_offset"], next_date["page"]) == (
        20,
        0,
        None,
        "All 1 shown.",
    )
    assert {k: after_it_passed[k] for k in ("market_date_id", "scheduled_at", "spaces_left", "total")} == {
        "market_date_id": s.date_ids[1],
        "scheduled_at": str(s.days[1]),
        "spaces_left": 1,
        "total": 1,
    }
    assert [e["id"] for e in after_it_passed["items"]] == [on_second["id"]]
    assert (both["market_date_id"], both["items"], both["total"]) == (s.date_ids[2], [], 0)


async def test_list_waitlist_defaults_to_waiting_and_notified_in_position_order_and_filters_by_status(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        s, _ = await one_space_left(c)
        a, b, r, d = await vendors(c, s.market_id, "Ana's Art", "Ben's Bread", "Rua's Rugs", "Dee's Dumplings")
        ea = await join(c, s.date_ids[0], a)
        eb = await join(c, s.date_ids[0], b)
        er = await join(c, s.date_ids[0], r)
        ed = await join(c, s.date_ids[0], d)
        await c.ok("notify_waitlist", entry_id=eb["id"])
        await c.ok("remove_from_waitlist", entry_id=er["id"], reason="Booked elsewhere")
        default = await c.ok("list_waitlist", market_date_id=s.date_ids[0])
        by_status = {
            status: await entry_ids(c, market_date_id=s.date_ids[0], status=status)
            for status in ("waiting", "notified", "removed", "accepted", "expired")
        }
    assert [(e["id"], e["status"], e["position"]) for e in default["items"]] == [
        (ea["id"], "waiting", 1),
        (eb["id"], "notified", 2),
        (ed["id"], "waiting", 4),
    ]
    assert (default["total"], default["spaces_left"]) == (3, 0)  # the offer holds the last space
    assert by_status == {
        "waiting": [ea["id"], ed["id"]],
        "notified": [eb["id"]],
        "removed": [er["id"]],
        "accepted": [],
        "expired": [],
    }


async def test_list_waitlist_pages_in_position_order(alice: Tenant) -> None:
    async with alice.client() as c:
        s, _ = await full_date(c)
        ids = [(await join(c, s.date_ids[0], v))["id"] for v in await vendors(c, s.market_id, "A1", "A2", "A3")]
        first = await c.ok("list_waitlist", market_date_id=s.date_ids[0], limit=2)
        rest = await c.ok("list_waitlist", market_date_id=s.date_ids[0], limit=2, offset=2)
    assert ([e["id"] for e in first["items"]], first["total"], first["next_offset"]) == (ids[:2], 3, 2)
    assert ([e["id"] for e in rest["items"]], rest["total"], rest["next_offset"]) == (ids[2:], 3, None)


async def test_list_waitlist_without_a_market_or_date_lists_every_dates_open_entries_by_date_then_position(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        s, _ = await full_date(c)
        hill = await market_with_dates(c, "Hilltop", dates=1)  # trades on s's first Saturday too
        ana, ben, cat = await vendors(c, s.market_id, "Ana's Art", "Ben's Bread", "Cat's Candles")
        (dee,) = await vendors(c, hill.market_id, "Dee's Donuts")
        on_third = await join(c, s.date_ids[2], ana)
        first_on_first = await join(c, s.date_ids[0], ben)
        second_on_first = await join(c, s.date_ids[0], cat)
        on_hill = await join(c, hill.date_ids[0], dee)
        removed = await join(c, s.date_ids[1], ana)
        await c.ok("remove_from_waitlist", entry_id=removed["id"], reason="Booked elsewhere")
        await c.ok("update_market_date", market_date_id=s.date_ids[0], capacity=2)
        await c.ok("notify_waitlist", entry_id=first_on_first["id"])
        every = await c.ok("list_waitlist")
        only_removed = await c.ok("list_waitlist", status="removed")
    assert [(e["id"], e["market_date_id"], e["scheduled_at"], e["status"], e["position"]) for e in every["items"]] == [
        (first_on_first["id"], s.date_ids[0], str(s.days[0]), "notified", 1),
        (second_on_first["id"], s.date_ids[0], str(s.days[0]), "waiting", 2),
        (on_hill["id"], hill.date_ids[0], str(s.days[0]), "waiting", 1),
        (on_third["id"], s.date_ids[2], str(s.days[2]), "waiting", 1),
    ]
    assert {k: every[k] for k in ("market_date_id", "scheduled_at", "spaces_left", "total", "page")} == {
        "market_date_id": None,
        "scheduled_at": None,
        "spaces_left": None,
        "total": 4,
        "page": "All 4 shown.",
    }
    assert [(e["id"], e["status"]) for e in only_removed["items"]] == [(removed["id"], "removed")]


async def test_list_waitlist_for_a_market_and_a_date_needs_them_to_agree(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        other = await market_with_dates(c, "Hilltop", dates=1)
        mismatched = await c.refused("list_waitlist", 422, market_id=other.market_id, market_date_id=s.date_ids[0])
        agreeing = await c.ok("list_waitlist", market_id=s.market_id, market_date_id=s.date_ids[1])
    assert mismatched == (
        f"market_date_id {s.date_ids[0]} is not a date of market {other.market_id} (list_market_dates with "
        f"market_id={other.market_id} gives its dates); pass one of them, or only one of the two."
    )
    assert agreeing["market_date_id"] == s.date_ids[1]


async def test_a_market_with_no_upcoming_dates_has_no_waitlist_to_show(alice: Tenant) -> None:
    async with alice.client() as c:
        bare = await c.ok("create_market", name="Bare Market", default_fee="30", capacity=10)
        s = await market_with_dates(c, "Hilltop", dates=1)
        await set_market_date(alice, s.date_ids[0], scheduled_at=today() - timedelta(days=1))
        no_dates = await c.refused("list_waitlist", 409, market_id=bare["id"])
        only_past = await c.refused("list_waitlist", 409, market_id=s.market_id)
        past_by_id = await c.ok("list_waitlist", market_date_id=s.date_ids[0])
    assert no_dates == (
        "Bare Market has no upcoming market dates; pass market_date_id to see an earlier date's waitlist "
        f"(list_market_dates with market_id={bare['id']} gives their ids)."
    )
    assert only_past.startswith("Hilltop has no upcoming market dates")
    assert (past_by_id["market_date_id"], past_by_id["spaces_left"]) == (s.date_ids[0], 40)


# ================================================================ notify_waitlist


async def test_notify_by_entry_id_holds_the_space_for_48_hours_of_the_servers_clock_and_emails_the_vendor(
    alice: Tenant,
) -> None:
    clock = Clock(timedelta(hours=3))  # the server's clock, three hours ahead of the wall
    async with alice.client(clock=clock) as c:
        s, _ = await one_space_left(c)
        first, second = await vendors(c, s.market_id, "Kiri's Kitchen", "Tom's Tomatoes")
        await join(c, s.date_ids[0], first)
        entry = await join(c, s.date_ids[0], second)
        mail_before = await outbox(alice)
        offered = await c.ok("notify_waitlist", entry_id=entry["id"])  # not necessarily the first in line
        listed = await c.ok("list_waitlist", market_date_id=s.date_ids[0])
    notified_at, expires = moment(offered["notified_at"]), moment(offered["offer_expires_at"])
    assert timedelta(0) <= clock() - notified_at < timedelta(minutes=1)
    assert expires - notified_at == timedelta(hours=48)
    assert (offered["id"], offered["status"], offered["position"], offered["emails"]["queued"]) == (
        entry["id"],
        "notified",
        2,
        1,
    )
    assert [(e["vendor_id"], e["status"]) for e in listed["items"]] == [(first, "waiting"), (second, "notified")]
    assert listed["spaces_left"] == 0
    new_mail = (await outbox(alice))[len(mail_before) :]
    assert [(e["kind"], e["to"], e["vendor_id"], e["record_type"], e["record_id"]) for e in new_mail] == [
        ("waitlist_offer", "toms.tomatoes@example.com", second, "waitlist_entry", entry["id"])
    ]
    (mail,) = new_mail
    assert mail["subject"] == f"A space has opened up: Riverside on {long_day(s.days[0])}"
    local_expiry = expires.astimezone(MELBOURNE)
    assert (
        f"a space has opened up for Tom's Tomatoes at Riverside on {long_day(s.days[0])}, and it's yours if you want it"
    ) in mail["body"]
    assert f"We're holding it for you until {local_expiry:%A %d %B at %H:%M}" in mail["body"]
    assert mail["body"].startswith("Hi Tom's Tomatoes,")
    assert mail["body"].endswith("Alice Markets")


async def test_notify_by_market_date_id_offers_the_space_to_the_first_waiting_vendor(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, capacity=3)
        (booked,) = await vendors(c, s.market_id, "Booked Early")
        await confirmed_booking(c, booked, s.date_ids[0])
        kiri, tom, ana = await vendors(c, s.market_id, "Kiri's Kitchen", "Tom's Tomatoes", "Ana's Art")
        first = await join(c, s.date_ids[0], kiri)
        second = await join(c, s.date_ids[0], tom)
        third = await join(c, s.date_ids[0], ana)
        await c.ok("remove_from_waitlist", entry_id=first["id"])
        offered = await c.ok("notify_waitlist", market_date_id=s.date_ids[0])
        offered_next = await c.ok("notify_waitlist", market_date_id=s.date_ids[0])
        listed = await c.ok("list_waitlist", market_date_id=s.date_ids[0])
    assert (offered["id"], offered["status"], offered["emails"]["queued"]) == (second["id"], "notified", 1)
    assert (offered_next["id"], offered_next["status"]) == (third["id"], "notified")
    assert [(e["id"], e["status"]) for e in listed["items"]] == [(second["id"], "notified"), (third["id"], "notified")]
    assert listed["spaces_left"] == 0
    assert [e["to"] for e in await sent(alice, "waitlist_offer")] == [
        "toms.tomatoes@example.com",
        "anas.art@example.com",
    ]


async def test_notify_when_the_date_has_no_space_left_is_refused_and_writes_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        s, _ = await full_date(c, capacity=2)
        (kiri,) = await vendors(c, s.market_id, "Kiri's Kitchen")
        entry = await join(c, s.date_ids[0], kiri)
        before = await state(alice)
        by_entry = await c.refused("notify_waitlist", 409, entry_id=entry["id"])
        by_date = await c.refused("notify_waitlist", 409, market_date_id=s.date_ids[0])
    expected = (
        f"Market date {s.date_ids[0]} ({s.days[0]}) has no space to offer: all 2 are held by confirmed bookings or "
        "open offers. Cancel a booking or raise the capacity with update_market_date first."
    )
    assert by_entry == by_date == expected
    assert await state(alice) == before


async def test_notify_an_entry_that_is_not_waiting_is_refused(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, capacity=3)
        kiri, tom = await vendors(c, s.market_id, "Kiri's Kitchen", "Tom's Tomatoes")
        offered = await join(c, s.date_ids[0], kiri)
        removed = await join(c, s.date_ids[0], tom)
        offer = await c.ok("notify_waitlist", entry_id=offered["id"])
        await c.ok("remove_from_waitlist", entry_id=removed["id"])
        before = await state(alice)
        again = await c.refused("notify_waitlist", 409, entry_id=offered["id"])
        gone = await c.refused("notify_waitlist", 409, entry_id=removed["id"])
        nobody = await c.refused("notify_waitlist", 409, market_date_id=s.date_ids[0])
    until = datetime.fromisoformat(offer["offer_expires_at"]).astimezone(ZoneInfo("Australia/Melbourne"))
    assert again == (
        f"Waitlist entry {offered['id']} is notified, so it cannot be offered a space; only a waiting entry can. "
        f"It holds an offer until {until:%A %d %B at %H:%M}: record their yes with accept_waitlist_offer, or free "
        "the space with remove_from_waitlist."
    )
    assert gone == (
        f"Waitlist entry {removed['id']} is removed, so it cannot be offered a space; only a waiting entry can. "
        "To offer them a space again, put them back with add_to_waitlist (at the end), then notify_waitlist."
    )
    assert nobody == (
        f"Nobody is waiting for market date {s.date_ids[0]} ({s.days[0]}); put a vendor on its waitlist with "
        "add_to_waitlist first."
    )
    assert await state(alice) == before


async def test_nobody_can_be_offered_a_space_on_a_date_that_has_passed(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        entry = await join(c, s.date_ids[0], await rosa(c, s.market_id))
        yesterday = today() - timedelta(days=1)
        await set_market_date(alice, s.date_ids[0], scheduled_at=yesterday)
        before = await state(alice)
        by_entry = await c.refused("notify_waitlist", 409, entry_id=entry["id"])
        by_date = await c.refused("notify_waitlist", 409, market_date_id=s.date_ids[0])
    assert (
        by_entry
        == by_date
        == (
            f"Market date {s.date_ids[0]} ({yesterday}) has passed, so it cannot be booked; choose another date "
            f'(list_market_dates with market_id={s.market_id}, date_filter="upcoming").'
        )
    )
    assert await state(alice) == before


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {},
            "Pass entry_id (the waiting vendor to offer the space to; list_waitlist gives it) or market_date_id "
            "(to offer it to the date's first waiting vendor).",
        ),
        (
            {"entry_id": 1, "market_date_id": 1},
            "Pass entry_id or market_date_id, not both: entry_id offers the space to that vendor, market_date_id to "
            "the date's first waiting vendor.",
        ),
    ],
    ids=["neither", "both"],
)
async def test_notify_needs_exactly_one_of_entry_id_and_market_date_id(
    alice: Tenant, arguments: dict[str, int], message: str
) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c)
        entry = await join(c, s.date_ids[0], await rosa(c, s.market_id))
        if arguments:
            arguments = {"entry_id": entry["id"], "market_date_id": s.date_ids[0]}
        before = await state(alice)
        refusal = await c.refused("notify_waitlist", 422, **arguments)
    assert refusal == message
    assert await state(alice) == before


# ================================================================ an open offer holds its space


async def test_an_open_offer_holds_its_space_against_another_vendors_order(alice: Tenant) -> None:
    async with alice.client() as c:
        s, _ = await one_space_left(c)
        kiri, walk_in = await vendors(c, s.market_id, "Kiri's Kitchen", "Walk In Wares")
        entry = await join(c, s.date_ids[0], kiri)
        assert await date_counts(c, s.market_id, s.date_ids[0]) == (1, 1, 1)
        await c.ok("notify_waitlist", entry_id=entry["id"])
        counts = await date_counts(c, s.market_id, s.date_ids[0])
        before = await state(alice)
        message = await c.refused("create_order", 409, vendor_id=walk_in, market_date_ids=[s.date_ids[0]])
    assert counts == (1, 0, 1)  # one confirmed, no space left, one vendor holding an offer
    assert message == (
        f"Market date {s.date_ids[0]} ({s.days[0]}) is full: 2 of 2 spaces are taken. "
        "Offer the vendor a place on the waitlist with add_to_waitlist."
    )
    assert await state(alice) == before


async def test_an_offer_past_its_48_hours_reads_as_expired_and_holds_no_space(alice: Tenant) -> None:
    clock = Clock()
    async with alice.client(clock=clock) as c:
        s, _ = await one_space_left(c)
        kiri, walk_in = await vendors(c, s.market_id, "Kiri's Kitchen", "Walk In Wares")
        entry = await join(c, s.date_ids[0], kiri)
        await c.ok("notify_waitlist", entry_id=entry["id"])
        clock.advance(hours=47)
        still_open = await c.ok("list_waitlist", market_date_id=s.date_ids[0])
        clock.advance(hours=2)
        expired = await c.ok("list_waitlist", market_date_id=s.date_ids[0], status="expired")
        notified = await c.ok("list_waitlist", market_date_id=s.date_ids[0], status="notified")
        default = await c.ok("list_waitlist", market_date_id=s.date_ids[0])
        counts = await date_counts(c, s.market_id, s.date_ids[0])
        order = await order_of(c, walk_in, [s.date_ids[0]])
        approved = await c.ok("approve_order", order_id=order["id"])
    assert ([e["status"] for e in still_open["items"]], still_open["spaces_left"]) == (["notified"], 0)
    assert [(e["id"], e["status"]) for e in expired["items"]] == [(entry["id"], "expired")]
    assert notified["items"] == []
    assert (default["items"], default["total"], default["spaces_left"]) == ([], 0, 1)
    assert counts == (1, 1, 0)
    assert approved["bookings"][0]["status"] == "confirmed"  # the lapsed offer's space went to someone else


async def test_after_an_offer_lapses_it_cannot_be_accepted_and_the_next_vendor_is_offered_the_space(
    alice: Tenant,
) -> None:
    clock = Clock()
    async with alice.client(clock=clock) as c:
        s, _ = await one_space_left(c)
        kiri, tom = await vendors(c, s.market_id, "Kiri's Kitchen", "Tom's Tomatoes")
        first = await join(c, s.date_ids[0], kiri)
        second = await join(c, s.date_ids[0], tom)
        offer = await c.ok("notify_waitlist", market_date_id=s.date_ids[0])
        clock.advance(hours=49)
        before = await state(alice)
        too_late = await c.refused("accept_waitlist_offer", 409, entry_id=first["id"])
        unchanged = await state(alice)
        offered_next = await c.ok("notify_waitlist", market_date_id=s.date_ids[0])
        expired = await c.ok("list_waitlist", market_date_id=s.date_ids[0], status="expired")
        still_too_late = await c.refused("accept_waitlist_offer", 409, entry_id=first["id"])
    assert offer["id"] == first["id"]
    lapsed_at = moment(offer["offer_expires_at"]).astimezone(MELBOURNE)
    assert too_late == (
        f"The offer to waitlist entry {first['id']} expired on {lapsed_at:%A %d %B at %H:%M}; offer the space to "
        "the next vendor with notify_waitlist."
    )
    assert unchanged == before
    assert (offered_next["id"], offered_next["status"]) == (second["id"], "notified")
    assert timedelta(0) <= clock() - moment(offered_next["notified_at"]) < timedelta(minutes=1)
    assert moment(offered_next["offer_expires_at"]) - moment(offered_next["notified_at"]) == timedelta(hours=48)
    assert [(e["id"], e["status"]) for e in expired["items"]] == [(first["id"], "expired")]
    assert "expired" in still_too_late
    assert [e["to"] for e in await sent(alice, "waitlist_offer")] == [
        "kiris.kitchen@example.com",
        "toms.tomatoes@example.com",
    ]


async def test_a_vendor_whose_offer_lapsed_can_join_the_waitlist_again_at_the_end(alice: Tenant) -> None:
    clock = Clock()
    async with alice.client(clock=clock) as c:
        s, _ = await one_space_left(c)
        kiri, tom = await vendors(c, s.market_id, "Kiri's Kitchen", "Tom's Tomatoes")
        first = await join(c, s.date_ids[0], kiri)
        await join(c, s.date_ids[0], tom)
        await c.ok("notify_waitlist", entry_id=first["id"])
        clock.advance(hours=49)
        back = await join(c, s.date_ids[0], kiri)
    assert (back["id"], back["status"], back["position"], back["offer_expires_at"]) == (
        first["id"],
        "waiting",
        3,
        None,
    )


# ================================================================ accept_waitlist_offer


async def test_accepting_an_offer_books_the_space_on_an_order_at_the_markets_fee_paid_with_the_vendors_credits(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        s, _ = await one_space_left(c)
        kiri, tom = await vendors(c, s.market_id, "Kiri's Kitchen", "Tom's Tomatoes")
        gift = await credit(c, kiri, "20", expires_in_days=None)
        entry = await join(c, s.date_ids[0], kiri)
        behind = await join(c, s.date_ids[0], tom)
        await c.ok("notify_waitlist", entry_id=entry["id"])
        mail_before = await outbox(alice)
        accepted = await c.ok("accept_waitlist_offer", entry_id=entry["id"])
        order = await c.ok("get_order", order_id=accepted["order_id"])
        booking = await c.ok("get_booking", booking_id=accepted["booking_id"])
        counts = await date_counts(c, s.market_id, s.date_ids[0])
        left = await c.ok("get_credit", credit_id=gift)
        listed = await c.ok("list_waitlist", market_date_id=s.date_ids[0], status="accepted")
        waiting = await c.ok("list_waitlist", market_date_id=s.date_ids[0])
    assert (accepted["id"], accepted["status"], accepted["emails"]["queued"]) == (entry["id"], "accepted", 1)
    assert accepted["booking_id"] == order["bookings"][0]["booking_id"]
    assert {
        k: order[k] for k in ("status", "vendor_id", "total_cents", "credit_applied_cents", "amount_due_cents")
    } == {
        "status": "payment_pending",
        "vendor_id": kiri,
        "total_cents": 4500,
        "credit_applied_cents": 2000,
        "amount_due_cents": 2500,
    }
    assert [(c_["credit_id"], c_["amount_cents"]) for c_ in order["credits_applied"]] == [(gift, 2000)]
    assert left["remaining_cents"] == 0
    assert {k: booking[k] for k in ("status", "vendor_id", "market_date_id", "amount_cents", "order_id")} == {
        "status": "confirmed",
        "vendor_id": kiri,
        "market_date_id": s.date_ids[0],
        "amount_cents": 4500,
        "order_id": order["id"],
    }
    assert counts == (2, 0, 1)  # the held space became a confirmed booking; Tom still waits
    assert [e["id"] for e in listed["items"]] == [entry["id"]]
    assert [e["id"] for e in waiting["items"]] == [behind["id"]]
    new_mail = (await outbox(alice))[len(mail_before) :]
    assert [(e["kind"], e["to"], e["record_type"], e["record_id"]) for e in new_mail] == [
        ("order_approved", "kiris.kitchen@example.com", "order", order["id"])
    ]
    assert "Total: $45.00. Credit applied: $20.00. Amount due: $25.00" in new_mail[0]["body"]
    assert long_day(s.days[0]) in new_mail[0]["body"]


async def test_accepting_an_offer_covered_by_credit_completes_the_order(alice: Tenant) -> None:
    async with alice.client() as c:
        s, _ = await one_space_left(c)
        (kiri,) = await vendors(c, s.market_id, "Kiri's Kitchen")
        await credit(c, kiri, "100", expires_in_days=30)
        entry = await join(c, s.date_ids[0], kiri)
        await c.ok("notify_waitlist", entry_id=entry["id"])
        accepted = await c.ok("accept_waitlist_offer", entry_id=entry["id"])
        order = await c.ok("get_order", order_id=accepted["order_id"])
    assert (order["status"], order["credit_applied_cents"], order["amount_due_cents"]) == ("complete", 4500, 0)


async def test_only_an_open_offer_can_be_accepted(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, capacity=3)
        kiri, tom, ana = await vendors(c, s.market_id, "Kiri's Kitchen", "Tom's Tomatoes", "Ana's Art")
        waiting = await join(c, s.date_ids[0], kiri)
        taken = await join(c, s.date_ids[0], tom)
        removed = await join(c, s.date_ids[0], ana)
        await c.ok("notify_waitlist", entry_id=taken["id"])
        accepted = await c.ok("accept_waitlist_offer", entry_id=taken["id"])
        await c.ok("remove_from_waitlist", entry_id=removed["id"])
        before = await state(alice)
        messages = [await c.refused("accept_waitlist_offer", 409, entry_id=e["id"]) for e in (waiting, taken, removed)]
    assert messages == [
        f"Waitlist entry {waiting['id']} is waiting, so there is no offer to accept. Offer them the space with "
        "notify_waitlist first.",
        f"Waitlist entry {taken['id']} is accepted, so there is no offer to accept. They took the space: booking "
        f"{accepted['booking_id']} (cancel_booking frees it).",
        f"Waitlist entry {removed['id']} is removed, so there is no offer to accept. To offer them a space again, put them back with add_to_waitlist (at the end), then notify_waitlist.",
    ]
    assert await state(alice) == before


# ================================================================ remove_from_waitlist


async def test_removing_an_offered_vendor_keeps_the_reason_frees_the_held_space_and_emails_nobody(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        s, _ = await one_space_left(c)
        kiri, tom = await vendors(c, s.market_id, "Kiri's Kitchen", "Tom's Tomatoes")
        entry = await join(c, s.date_ids[0], kiri)
        await join(c, s.date_ids[0], tom)
        await c.ok("notify_waitlist", entry_id=entry["id"])
        held = await date_counts(c, s.market_id, s.date_ids[0])
        mail_before = await outbox(alice)
        removed = await c.ok("remove_from_waitlist", entry_id=entry["id"], reason="Found a spot at Hilltop")
        freed = await date_counts(c, s.market_id, s.date_ids[0])
        listed = await c.ok("list_waitlist", market_date_id=s.date_ids[0])
        before = await state(alice)
        again = await c.refused("remove_from_waitlist", 409, entry_id=entry["id"])
    assert held == (1, 0, 2)
    assert (removed["status"], removed["removed_reason"], "emails" in removed) == (
        "removed",
        "Found a spot at Hilltop",
        False,
    )
    assert freed == (1, 1, 1)
    assert (listed["spaces_left"], [e["vendor_id"] for e in listed["items"]]) == (1, [tom])
    assert await outbox(alice) == mail_before
    assert again == f"Waitlist entry {entry['id']} is removed, so it is no longer on the waitlist."
    assert await state(alice) == before


# ================================================================ auto-notify when a booking is cancelled


async def test_with_auto_notify_cancelling_a_booking_on_a_full_date_offers_the_space_to_the_first_waiting_vendor(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        s, (booked,) = await full_date(c)
        await c.ok("update_market", market_id=s.market_id, waitlist_auto_notify=True)
        kiri, tom = await vendors(c, s.market_id, "Kiri's Kitchen", "Tom's Tomatoes")
        first = await join(c, s.date_ids[0], kiri)
        second = await join(c, s.date_ids[0], tom)
        (booking,) = (await c.ok("list_bookings", market_date_id=s.date_ids[0]))["items"]
        mail_before = await outbox(alice)
        cancelled = await c.ok("cancel_booking", booking_id=booking["id"], reason="Van broke down")
        listed = await c.ok("list_waitlist", market_date_id=s.date_ids[0])
        counts = await date_counts(c, s.market_id, s.date_ids[0])
    assert cancelled["status"] == "cancelled"
    (offer,) = cancelled["waitlist_offers"]
    assert {k: offer[k] for k in ("entry_id", "vendor_id", "business_name")} == {
        "entry_id": first["id"],
        "vendor_id": kiri,
        "business_name": "Kiri's Kitchen",
    }
    assert cancelled["emails"]["queued"] == 2
    assert [(e["id"], e["status"]) for e in listed["items"]] == [(first["id"], "notified"), (second["id"], "waiting")]
    assert listed["items"][0]["offer_expires_at"] == offer["offer_expires_at"]
    # list_waitlist's rows leave out notified_at and it takes no detail="full": the store has it
    assert moment(offer["offer_expires_at"]) - await notified_at(alice, first["id"]) == timedelta(hours=48)
    assert counts == (0, 0, 2)  # the freed space is held for Kiri
    new_mail = (await outbox(alice))[len(mail_before) :]
    assert sorted((e["kind"], e["vendor_id"]) for e in new_mail) == sorted(
        [("booking_cancelled", booked), ("waitlist_offer", kiri)]
    )
    (offer_mail,) = [e for e in new_mail if e["kind"] == "waitlist_offer"]
    assert (offer_mail["to"], offer_mail["record_id"]) == ("kiris.kitchen@example.com", first["id"])
    assert offer_mail["subject"] == f"A space has opened up: Riverside on {long_day(s.days[0])}"


async def test_without_auto_notify_cancelling_a_booking_offers_the_space_to_nobody(alice: Tenant) -> None:
    async with alice.client() as c:
        s, (booked,) = await full_date(c)
        (kiri,) = await vendors(c, s.market_id, "Kiri's Kitchen")
        entry = await join(c, s.date_ids[0], kiri)
        (booking,) = (await c.ok("list_bookings", market_date_id=s.date_ids[0]))["items"]
        mail_before = await outbox(alice)
        cancelled = await c.ok("cancel_booking", booking_id=booking["id"])
        listed = await c.ok("list_waitlist", market_date_id=s.date_ids[0])
    assert (cancelled["waitlist_offers"], cancelled["emails"]["queued"]) == ([], 1)
    assert [(e["id"], e["status"]) for e in listed["items"]] == [(entry["id"], "waiting")]
    assert listed["spaces_left"] == 1
    new_mail = (await outbox(alice))[len(mail_before) :]
    assert [(e["kind"], e["vendor_id"]) for e in new_mail] == [("booking_cancelled", booked)]


# ================================================================ audit


async def test_waitlist_writes_and_refusals_are_in_the_audit_log(alice: Tenant) -> None:
    async with alice.client() as c:
        s, _ = await one_space_left(c)
        kiri, tom = await vendors(c, s.market_id, "Kiri's Kitchen", "Tom's Tomatoes")
        entry = await join(c, s.date_ids[0], kiri)
        waiting = await join(c, s.date_ids[0], tom)
        await c.ok("notify_waitlist", entry_id=entry["id"])
        await c.refused("notify_waitlist", 409, entry_id=waiting["id"])
        accepted = await c.ok("accept_waitlist_offer", entry_id=entry["id"])
        notify_log = (await c.ok("list_audit_log", tool="notify_waitlist"))["items"]
        accept_log = (await c.ok("list_audit_log", tool="accept_waitlist_offer"))["items"]
    assert [(e["outcome"], e["records"]) for e in notify_log] == [
        ("409", []),
        ("ok", [f"waitlist_entry:{entry['id']}"]),
    ]
    (accept,) = accept_log
    assert accept["outcome"] == "ok"
    assert {
        f"waitlist_entry:{entry['id']}",
        f"order:{accepted['order_id']}",
        f"booking:{accepted['booking_id']}",
    } <= set(accept["records"])


# ================================================================ other organisations


async def test_another_organisations_waitlist_dates_and_entries_are_not_found(alice: Tenant, bob: Tenant) -> None:
    async with bob.client() as b:
        bs = await market_with_dates(b, "Bob's Market", capacity=3)
        bob_vendor = await rosa(b, bs.market_id)
        bob_entry = await join(b, bs.date_ids[0], bob_vendor)
        bob_offer = await join(b, bs.date_ids[1], bob_vendor)
        await b.ok("notify_waitlist", entry_id=bob_offer["id"])
    async with alice.client() as c:
        s = await market_with_dates(c)
        vendor = await rosa(c, s.market_id)
        before = await state(alice)
        pairs = [
            (
                await c.refused("list_waitlist", 404, market_date_id=bs.date_ids[0]),
                await c.refused("list_waitlist", 404, market_date_id=MISSING),
                "Market date {} not found.",
                bs.date_ids[0],
            ),
            (
                await c.refused("list_waitlist", 404, market_id=bs.market_id),
                await c.refused("list_waitlist", 404, market_id=MISSING),
                "Market {} not found.",
                bs.market_id,
            ),
            (
                await c.refused("add_to_waitlist", 404, market_date_id=bs.date_ids[0], vendor_id=vendor),
                await c.refused("add_to_waitlist", 404, market_date_id=MISSING, vendor_id=vendor),
                "Market date {} not found.",
                bs.date_ids[0],
            ),
            (
                await c.refused("add_to_waitlist", 404, market_date_id=s.date_ids[0], vendor_id=bob_vendor),
                await c.refused("add_to_waitlist", 404, market_date_id=s.date_ids[0], vendor_id=MISSING),
                "Vendor {} not found.",
                bob_vendor,
            ),
            (
                await c.refused("notify_waitlist", 404, entry_id=bob_entry["id"]),
                await c.refused("notify_waitlist", 404, entry_id=MISSING),
                "Waitlist entry {} not found.",
                bob_entry["id"],
            ),
            (
                await c.refused("notify_waitlist", 404, market_date_id=bs.date_ids[0]),
                await c.refused("notify_waitlist", 404, market_date_id=MISSING),
                "Market date {} not found.",
                bs.date_ids[0],
            ),
            (
                await c.refused("accept_waitlist_offer", 404, entry_id=bob_offer["id"]),
                await c.refused("accept_waitlist_offer", 404, entry_id=MISSING),
                "Waitlist entry {} not found.",
                bob_offer["id"],
            ),
            (
                await c.refused("remove_from_waitlist", 404, entry_id=bob_entry["id"]),
                await c.refused("remove_from_waitlist", 404, entry_id=MISSING),
                "Waitlist entry {} not found.",
                bob_entry["id"],
            ),
        ]
    for theirs, nobodys, text, their_id in pairs:
        assert (theirs, nobodys) == (text.format(their_id), text.format(MISSING))
    assert await state(alice) == before  # the whole store: neither organisation's rows changed
