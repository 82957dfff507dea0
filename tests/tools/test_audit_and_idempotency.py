"""The choke point's promises: every write and every refused write is audited once; reads are not;
an idempotency key replays the first result."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from market_mcp.db.tables import AuditEntry, IdempotencyRecord, Market, MarketDate
from tests.factories import Caller, Tenant, next_weekday, today

NEXT_YEAR = today().year + 1


async def rows(tenant: Tenant, model: Any) -> int:
    """How many rows of `model` the tenant's organisation has."""
    async with tenant.db.transaction() as session:
        stmt = select(func.count()).select_from(model).where(model.organization_id == tenant.org_id)
        return (await session.execute(stmt)).scalar_one()


async def audit_entries(tenant: Tenant) -> list[dict[str, Any]]:
    """The organisation's audit log, oldest first, as (tool, token_name, records, outcome, arguments)."""
    async with tenant.db.transaction() as session:
        found = (
            await session.execute(
                select(AuditEntry).where(AuditEntry.organization_id == tenant.org_id).order_by(AuditEntry.id)
            )
        ).scalars()
        return [
            {
                "tool": e.tool,
                "token_name": e.token_name,
                "records": e.records,
                "outcome": e.outcome,
                "arguments": e.arguments,
            }
            for e in found
        ]


async def add_audit_entry(tenant: Tenant, *, tool: str, at: datetime) -> int:
    async with tenant.db.transaction(write=True) as session:
        entry = AuditEntry(
            organization_id=tenant.org_id,
            token_id=tenant.token_id,
            token_name="alice write",
            tool=tool,
            outcome="ok",
            created_at=at,
        )
        session.add(entry)
        await session.flush()
        return entry.id  # type: ignore[return-value]


async def audit_log(c: Caller, **arguments: Any) -> dict[str, Any]:
    """list_audit_log with any arguments: Caller.ok's first parameter is itself named `tool`."""
    result = await c.client.call_tool("list_audit_log", arguments)
    assert not result.is_error, result.content[0].text
    assert len(result.content) == 1 and result.content[0].type == "text"
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content  # type: ignore[return-value]


# ---------------------------------------------------------------- every write, once

Write = Callable[[Caller, int, int], Awaitable[tuple[dict[str, Any], list[str]]]]


async def _create_market(c: Caller, market_id: int, market_date_id: int) -> tuple[dict[str, Any], list[str]]:
    arguments = {"name": "Southbank", "default_fee": "12.50"}
    made = await c.ok("create_market", **arguments)
    return arguments, [f"market:{made['id']}"]


async def _update_market(c: Caller, market_id: int, market_date_id: int) -> tuple[dict[str, Any], list[str]]:
    arguments = {"market_id": market_id, "region": "Inner North"}
    await c.ok("update_market", **arguments)
    return arguments, [f"market:{market_id}"]


async def _create_market_date(c: Caller, market_id: int, market_date_id: int) -> tuple[dict[str, Any], list[str]]:
    arguments = {"market_id": market_id, "scheduled_at": str(next_weekday(0))}
    made = await c.ok("create_market_date", **arguments)
    return arguments, [f"market_date:{made['id']}"]


async def _bulk_create_market_dates(c: Caller, market_id: int, market_date_id: int) -> tuple[dict[str, Any], list[str]]:
    arguments = {
        "market_id": market_id,
        "start_date": f"{NEXT_YEAR}-02-01",
        "end_date": f"{NEXT_YEAR}-02-28",
        "day_of_week": 3,
    }
    made = await c.ok("bulk_create_market_dates", **arguments)
    return arguments, [f"market_date:{d['id']}" for d in made["created"]]


async def _update_market_date(c: Caller, market_id: int, market_date_id: int) -> tuple[dict[str, Any], list[str]]:
    arguments = {"market_date_id": market_date_id, "capacity": 12, "start_time": "08:00"}
    await c.ok("update_market_date", **arguments)
    return arguments, [f"market_date:{market_date_id}"]


WRITES: dict[str, Write] = {
    "create_market": _create_market,
    "update_market": _update_market,
    "create_market_date": _create_market_date,
    "bulk_create_market_dates": _bulk_create_market_dates,
    "update_market_date": _update_market_date,
}


@pytest.mark.parametrize("tool", WRITES)
async def test_every_successful_write_leaves_exactly_one_audit_entry(alice: Tenant, tool: str) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
        before = await audit_entries(alice)
        arguments, records = await WRITES[tool](c, market["id"], md["id"])
        after = await audit_entries(alice)
    assert after[: len(before)] == before
    assert after[len(before) :] == [
        {"tool": tool, "token_name": "alice write", "records": records, "outcome": "ok", "arguments": arguments}
    ]
    assert len(records) >= 1


async def test_the_audit_log_reads_back_each_write_newest_first(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
        await c.ok("update_market", market_id=market["id"], name="Riverside Farmers")
        log = await c.ok("list_audit_log", detail="full")
    assert [
        (e["tool"], e["token_name"], e["records"], e["record_count"], e["outcome"], e["arguments"])
        for e in log["items"]
    ] == [
        (
            "update_market",
            "alice write",
            [f"market:{market['id']}"],
            1,
            "ok",
            {"market_id": market["id"], "name": "Riverside Farmers"},
        ),
        (
            "create_market_date",
            "alice write",
            [f"market_date:{md['id']}"],
            1,
            "ok",
            {"market_id": market["id"], "scheduled_at": md["scheduled_at"]},
        ),
        ("create_market", "alice write", [f"market:{market['id']}"], 1, "ok", {"name": "Riverside"}),
    ]
    assert (log["total"], log["next_offset"]) == (3, None)
    assert [e["id"] for e in log["items"]] == sorted((e["id"] for e in log["items"]), reverse=True)


@pytest.mark.parametrize(
    ("day", "before", "first", "last", "after"),
    [
        # 10 March is in AEDT: the local day runs from 13:00 UTC on the 9th to 13:00 UTC on the 10th.
        ("2025-03-10", "2025-03-09T12:59:59", "2025-03-09T13:00:00", "2025-03-10T12:59:59", "2025-03-10T13:00:00"),
        # 10 July is in AEST: from 14:00 UTC on the 9th to 14:00 UTC on the 10th.
        ("2025-07-10", "2025-07-09T13:59:59", "2025-07-09T14:00:00", "2025-07-10T13:59:59", "2025-07-10T14:00:00"),
    ],
)
async def test_from_date_and_to_date_are_days_of_the_audit_log_in_the_organisations_timezone(
    alice: Tenant, day: str, before: str, first: str, last: str, after: str
) -> None:
    ids = {
        name: await add_audit_entry(alice, tool="create_market", at=datetime.fromisoformat(moment).replace(tzinfo=UTC))
        for name, moment in (("before", before), ("first", first), ("last", last), ("after", after))
    }
    async with alice.client() as c:
        that_day = await c.ok("list_audit_log", from_date=day, to_date=day)
        from_that_day = await c.ok("list_audit_log", from_date=day)
        until_that_day = await c.ok("list_audit_log", to_date=day)
    assert ([e["id"] for e in that_day["items"]], that_day["total"]) == ([ids["last"], ids["first"]], 2)
    assert [e["id"] for e in from_that_day["items"]] == [ids["after"], ids["last"], ids["first"]]
    assert [e["id"] for e in until_that_day["items"]] == [ids["last"], ids["first"], ids["before"]]


async def test_a_dry_run_is_audited_as_a_write_that_touched_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        await c.ok(
            "bulk_create_market_dates",
            market_id=market["id"],
            start_date=f"{NEXT_YEAR}-02-01",
            end_date=f"{NEXT_YEAR}-02-28",
            day_of_week=6,
            dry_run=True,
        )
    last = (await audit_entries(alice))[-1]
    assert (last["tool"], last["records"], last["outcome"]) == ("bulk_create_market_dates", [], "ok")
    assert await rows(alice, MarketDate) == 0


# ---------------------------------------------------------------- refused writes


async def test_a_write_refused_with_404_is_audited_with_its_code_and_changes_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        await c.refused("update_market", 404, market_id=999, name="Nope")
    assert await audit_entries(alice) == [
        {
            "tool": "update_market",
            "token_name": "alice write",
            "records": [],
            "outcome": "404",
            "arguments": {"market_id": 999, "name": "Nope"},
        }
    ]
    assert await rows(alice, Market) == 0


async def test_a_write_refused_with_409_is_audited_with_its_code_and_changes_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        taken = await c.ok("create_market", name="Riverside")
        other = await c.ok("create_market", name="Southbank")
        await c.refused("update_market", 409, market_id=other["id"], slug=taken["slug"], capacity=5)
        after = await c.ok("get_market", market_id=other["id"])
    assert (await audit_entries(alice))[-1] == {
        "tool": "update_market",
        "token_name": "alice write",
        "records": [],
        "outcome": "409",
        "arguments": {"market_id": other["id"], "slug": "riverside", "capacity": 5},
    }
    assert after == other


async def test_a_write_refused_with_422_is_audited_with_its_code_and_changes_nothing(alice: Tenant) -> None:
    yesterday = str(today() - timedelta(days=1))
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        await c.refused("create_market_date", 422, market_id=market["id"], scheduled_at=yesterday)
    assert (await audit_entries(alice))[-1] == {
        "tool": "create_market_date",
        "token_name": "alice write",
        "records": [],
        "outcome": "422",
        "arguments": {"market_id": market["id"], "scheduled_at": yesterday},
    }
    assert await rows(alice, MarketDate) == 0


async def test_a_write_whose_arguments_fail_the_schema_is_audited_as_422(alice: Tenant) -> None:
    async with alice.client() as c:
        await c.refused("create_market", 422, name="Riverside", capacity="lots")
    assert await audit_entries(alice) == [
        {
            "tool": "create_market",
            "token_name": "alice write",
            "records": [],
            "outcome": "422",
            "arguments": {"name": "Riverside", "capacity": "lots"},
        }
    ]
    assert await rows(alice, Market) == 0


async def test_a_read_only_tokens_write_is_refused_with_403_audited_and_changes_nothing(alice: Tenant) -> None:
    async with alice.client(read_only=True) as c:
        message = await c.refused("create_market", 403, name="Riverside")
    assert message == "This token is read-only; create_market needs a write token."
    assert await audit_entries(alice) == [
        {
            "tool": "create_market",
            "token_name": "alice read",
            "records": [],
            "outcome": "403",
            "arguments": {},  # refused at the door: a compact row (tests/test_refusal_writes.py)
        }
    ]
    assert await rows(alice, Market) == 0


async def test_a_read_only_token_may_read(alice: Tenant) -> None:
    async with alice.client() as c:
        await c.ok("create_market", name="Riverside")
    async with alice.client(read_only=True) as c:
        page = await c.ok("list_markets")
    assert [m["name"] for m in page["items"]] == ["Riverside"]


async def test_an_unknown_token_is_refused_with_401_and_leaves_no_audit_entry(alice: Tenant) -> None:
    async with alice.client(token="mk_org_not-a-real-token") as c:
        message = await c.refused("create_market", 401, name="Riverside")
    assert message == "The API token is missing or revoked. Create one with `market-mcp token create --org SLUG`."
    assert await audit_entries(alice) == []
    assert await rows(alice, Market) == 0


# ---------------------------------------------------------------- reads


async def test_reads_leave_no_audit_entry(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(next_weekday(6)))
        before = await audit_entries(alice)
        await c.ok("list_markets", query="river")
        await c.ok("get_market", market_id=market["id"])
        await c.ok("list_market_dates", date_filter="upcoming")
        await c.ok("get_market_date", market_date_id=md["id"])
        await c.ok("list_market_date_bookings", market_date_id=md["id"])
        await c.ok("list_audit_log")
        await c.refused("get_market", 404, market_id=999)  # a refused read is not a write either
    assert await audit_entries(alice) == before
    assert len(before) == 2


# ---------------------------------------------------------------- what the audit log keeps


async def test_contact_details_given_as_arguments_are_redacted_in_the_audit_log(alice: Tenant) -> None:
    async with alice.client() as c:
        # Not arguments of create_market: whether it accepts or refuses them, the log must not keep them.
        await c.call(
            "create_market",
            name="Riverside",
            email="sam@example.com",
            phone="0400 123 456",
            contact_name="Sam Smith",
            to="sam@example.com",
        )
    (entry,) = await audit_entries(alice)
    assert entry["arguments"] == {
        "name": "Riverside",
        "email": "[redacted]",
        "phone": "[redacted]",
        "contact_name": "[redacted]",
        "to": "[redacted]",
    }


async def test_contact_details_inside_metadata_are_redacted_in_the_audit_log(alice: Tenant) -> None:
    metadata = {"manager": {"email": "sam@example.com", "phone": "0400 123 456"}, "stalls": 40}
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", metadata=metadata)
    (entry,) = await audit_entries(alice)
    assert market["metadata"] == metadata  # the market keeps them; only the log must not
    assert "sam@example.com" not in str(entry["arguments"])
    assert "0400 123 456" not in str(entry["arguments"])


async def test_long_text_is_shortened_in_the_audit_log(alice: Tenant) -> None:
    description = "x" * 600
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", description=description)
    (entry,) = await audit_entries(alice)
    assert market["description"] == description
    assert entry["arguments"]["description"] == "x" * 500 + "…"


# ---------------------------------------------------------------- list_audit_log


async def test_list_audit_log_filters_by_tool(alice: Tenant) -> None:
    async with alice.client() as c:
        one = await c.ok("create_market", name="Riverside")
        two = await c.ok("create_market", name="Southbank")
        await c.ok("update_market", market_id=one["id"], region="North")
        created = await audit_log(c, tool="create_market")
        nothing = await audit_log(c, tool="approve_order")
    assert [e["records"] for e in created["items"]] == [[f"market:{two['id']}"], [f"market:{one['id']}"]]
    assert created["total"] == 2
    assert (nothing["items"], nothing["total"]) == ([], 0)


async def test_list_audit_log_since_keeps_entries_at_or_after_that_moment(alice: Tenant) -> None:
    first = await add_audit_entry(alice, tool="create_market", at=datetime(2026, 5, 1, tzinfo=UTC))
    second = await add_audit_entry(alice, tool="update_market", at=datetime(2026, 5, 2, tzinfo=UTC))
    third = await add_audit_entry(alice, tool="update_market", at=datetime(2026, 5, 3, tzinfo=UTC))
    async with alice.client() as c:
        exactly = await c.ok("list_audit_log", since="2026-05-02T00:00:00Z")
        naive_is_utc = await c.ok("list_audit_log", since="2026-05-02T00:00:00")
        melbourne_morning = await c.ok("list_audit_log", since="2026-05-02T10:00:00+11:00")  # 23:00 UTC on the 1st
        melbourne_noon = await c.ok("list_audit_log", since="2026-05-02T12:00:00+11:00")  # 01:00 UTC on the 2nd
        both = await audit_log(c, since="2026-05-01T12:00:00Z", tool="create_market")
        everything = await c.ok("list_audit_log")
    assert [e["id"] for e in exactly["items"]] == [third, second]
    assert [e["id"] for e in naive_is_utc["items"]] == [third, second]
    assert [e["id"] for e in melbourne_morning["items"]] == [third, second]
    assert [e["id"] for e in melbourne_noon["items"]] == [third]
    assert (both["items"], both["total"]) == ([], 0)
    assert [e["id"] for e in everything["items"]] == [third, second, first]


async def test_list_audit_log_pages_newest_first(alice: Tenant) -> None:
    ids = [
        await add_audit_entry(alice, tool="create_market", at=datetime(2026, 5, day, tzinfo=UTC)) for day in range(1, 6)
    ]
    async with alice.client() as c:
        first = await c.ok("list_audit_log", limit=2)
        second = await c.ok("list_audit_log", limit=2, offset=first["next_offset"])
        last = await c.ok("list_audit_log", limit=2, offset=second["next_offset"])
    assert ([e["id"] for e in first["items"]], first["total"], first["next_offset"]) == ([ids[4], ids[3]], 5, 2)
    assert ([e["id"] for e in second["items"]], second["next_offset"]) == ([ids[2], ids[1]], 4)
    assert ([e["id"] for e in last["items"]], last["next_offset"]) == ([ids[0]], None)
    assert last["items"][0]["created_at"] == "2026-05-01T00:00:00Z"


async def test_list_audit_log_shows_only_the_callers_organisation(alice: Tenant, bob: Tenant) -> None:
    async with bob.client() as c:
        await c.ok("create_market", name="Bob's Market")
    async with alice.client() as c:
        log = await c.ok("list_audit_log")
    assert (log["items"], log["total"]) == ([], 0)


async def test_an_unparseable_since_is_refused_naming_since(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("list_audit_log", 422, since="last tuesday")
    assert message == (
        "Invalid arguments: since must be a date and time in ISO 8601, e.g. 2026-05-01T09:00:00Z (or a date, "
        "2026-05-01); got 'last tuesday'."
    )


# ---------------------------------------------------------------- idempotency_key


async def test_a_repeat_with_the_same_key_returns_the_first_result_and_creates_nothing(alice: Tenant) -> None:
    async with alice.client() as c:
        first = await c.ok("create_market", name="Riverside", default_fee="45.50", idempotency_key="create-riverside")
        second = await c.ok("create_market", name="Riverside", default_fee="45.50", idempotency_key="create-riverside")
    assert second == first
    assert (await rows(alice, Market), await rows(alice, AuditEntry), await rows(alice, IdempotencyRecord)) == (1, 1, 1)


async def test_a_repeat_returns_the_first_result_even_after_the_record_changed(alice: Tenant) -> None:
    async with alice.client() as c:
        first = await c.ok("create_market", name="Riverside", idempotency_key="k1")
        await c.ok("update_market", market_id=first["id"], name="Renamed")
        replay = await c.ok("create_market", name="Riverside", idempotency_key="k1")
    assert replay == first
    assert await rows(alice, Market) == 1


async def test_a_repeated_season_with_the_same_key_returns_what_was_created_the_first_time(alice: Tenant) -> None:
    arguments = dict(start_date=f"{NEXT_YEAR}-02-01", end_date=f"{NEXT_YEAR}-02-28", day_of_week=6)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        first = await c.ok("bulk_create_market_dates", market_id=market["id"], idempotency_key="season", **arguments)
        replay = await c.ok("bulk_create_market_dates", market_id=market["id"], idempotency_key="season", **arguments)
    assert replay == first
    assert (len(first["created"]), first["skipped"]) == (4, [])
    assert await rows(alice, MarketDate) == 4


async def test_the_same_key_with_different_arguments_is_refused_with_409(alice: Tenant) -> None:
    async with alice.client() as c:
        await c.ok("create_market", name="Riverside", idempotency_key="k1")
        message = await c.refused("create_market", 409, name="Southbank", idempotency_key="k1")
    assert message == (
        "idempotency_key 'k1' was already used for a different call (create_market); use a new key for a new request."
    )
    assert await rows(alice, Market) == 1


async def test_the_same_key_for_another_tool_is_refused_with_409_naming_the_first_tool(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", idempotency_key="k1")
        message = await c.refused("update_market", 409, market_id=market["id"], name="Renamed", idempotency_key="k1")
        after = await c.ok("get_market", market_id=market["id"])
    assert message == (
        "idempotency_key 'k1' was already used for a different call (create_market); use a new key for a new request."
    )
    assert after["name"] == "Riverside"


async def test_keys_belong_to_one_organisation(alice: Tenant, bob: Tenant) -> None:
    async with alice.client() as c:
        alices = await c.ok("create_market", name="Riverside", idempotency_key="shared-key")
    async with bob.client() as c:
        bobs = await c.ok("create_market", name="Riverside", idempotency_key="shared-key")
        bobs_list = await c.ok("list_markets")
    assert bobs["id"] != alices["id"]
    assert [m["id"] for m in bobs_list["items"]] == [bobs["id"]]
    assert (await rows(alice, Market), await rows(bob, Market)) == (1, 1)


async def test_a_refused_call_does_not_use_up_its_key(alice: Tenant) -> None:
    saturday = next_weekday(6)
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside")
        await c.refused("create_market_date", 404, market_id=999, scheduled_at=str(saturday), idempotency_key="d1")
        md = await c.ok("create_market_date", market_id=market["id"], scheduled_at=str(saturday), idempotency_key="d1")
    assert md["scheduled_at"] == str(saturday)
    assert await rows(alice, MarketDate) == 1


async def test_a_key_over_200_characters_is_refused_naming_idempotency_key(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("create_market", 422, name="Riverside", idempotency_key="k" * 201)
    assert message == "Invalid arguments: idempotency_key must be at most 200 characters; got 201 characters."
    assert await rows(alice, Market) == 0


async def test_a_write_without_a_key_runs_every_time(alice: Tenant) -> None:
    async with alice.client() as c:
        first = await c.ok("create_market", name="Riverside")
        second = await c.ok("create_market", name="Riverside")
    assert (first["slug"], second["slug"]) == ("riverside", "riverside-2")
    assert await rows(alice, IdempotencyRecord) == 0
