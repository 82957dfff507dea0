"""Input bounds: every string, list, object and page size a tool takes has a published maximum, and an argument
far over it (10 MB) is refused with a short 422 naming it, before any of it reaches the database.

The schemas are read from tools/list and the tools from the registry, so a new tool without bounds fails here.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from market_mcp.db import Database
from market_mcp.schemas.common import MAX_ID, MAX_LIMIT
from tests.factories import Tenant
from tests.reliability.schemas import input_schemas, leaves, registered_tools
from tests.test_http import http_server, rpc, tool_result

TEN_MB = 10 * 1024 * 1024
FORMATS = {"date", "time", "date-time"}  # their grammar fixes their length


def is_record_id(name: str) -> bool:
    # A record id's bound is the store's (MAX_ID), refused with 422 like any other, but not published: tools/list
    # would carry the same number a hundred times. `offset` likewise.
    return name.endswith(("_id", "_ids")) or name == "offset"


def unbounded(schema: dict[str, Any], name: str = "") -> list[str]:
    """What in one argument's schema has no maximum."""
    missing = []
    for path, leaf in leaves(schema, "value"):
        kind = leaf.get("type")
        if "enum" in leaf or "const" in leaf or (kind == "integer" and is_record_id(name)):
            continue
        if kind == "string" and "maxLength" not in leaf and leaf.get("format") not in FORMATS:
            missing.append(f"{path}: string without maxLength")
        elif kind == "array" and "maxItems" not in leaf:
            missing.append(f"{path}: array without maxItems")
        elif kind == "object" and "maxProperties" not in leaf and leaf.get("additionalProperties") is not False:
            missing.append(f"{path}: object without maxProperties")
        elif kind in ("integer", "number") and "maximum" not in leaf:
            missing.append(f"{path}: {kind} without maximum")
    return missing


@pytest.mark.parametrize("tool", registered_tools())
def test_every_string_list_object_and_number_a_tool_takes_has_a_published_maximum(tool: str) -> None:
    schema = input_schemas()[tool]
    problems = {name: unbounded(prop, name) for name, prop in schema["properties"].items() if unbounded(prop, name)}
    assert problems == {}, f"{tool}: give these arguments a maximum: {problems}"
    assert schema.get("additionalProperties") is not True


@pytest.mark.parametrize("tool", [t for t in registered_tools() if "limit" in input_schemas()[t]["properties"]])
def test_every_page_size_is_at_most_the_page_limit(tool: str) -> None:
    limit = input_schemas()[tool]["properties"]["limit"]
    assert (limit["type"], limit["minimum"], limit["maximum"]) == ("integer", 1, MAX_LIMIT)


def over_the_maximum(schema: dict[str, Any], name: str = "") -> Any | None:
    """A value one past the argument's maximum (None when only its grammar bounds it: dates, enums)."""
    if is_record_id(name):
        return MAX_ID + 1 if name != "offset" and schema.get("type") == "integer" else None
    for _, leaf in leaves(schema, ""):
        if "maxLength" in leaf and "pattern" not in leaf:
            return "x" * (leaf["maxLength"] + 1)
        if "maxLength" in leaf:
            return "1" * (leaf["maxLength"] + 1)
        if "maxItems" in leaf:
            return [1] * (leaf["maxItems"] + 1)
        if "maxProperties" in leaf:
            return {f"k{n}": n for n in range(leaf["maxProperties"] + 1)}
        if leaf.get("type") in ("integer", "number") and "maximum" in leaf:
            return leaf["maximum"] + 1
    return None


async def longest_stored_value(db: Database) -> tuple[int, str]:
    """The longest value of any column of any row, as text, and where it is."""
    longest = (0, "")
    async with db.transaction() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                for column, value in zip(table.columns, row, strict=True):
                    size = len(json.dumps(value, default=str))
                    longest = max(longest, (size, f"{table.name}.{column.name}"))
    return longest


async def test_one_past_the_maximum_of_any_argument_of_any_tool_is_refused_with_422_naming_it(alice: Tenant) -> None:
    wrong: dict[str, Any] = {}
    async with alice.client() as c:
        for tool in registered_tools():
            for name, schema in input_schemas()[tool]["properties"].items():
                value = over_the_maximum(schema, name)
                if value is None:
                    continue
                payload = (await c.call(tool, **{name: value})).structured_content
                if not (
                    payload is not None
                    and set(payload) == {"error", "code"}
                    and payload["code"] == 422
                    and payload["error"].startswith("Invalid arguments: ")
                    and name in payload["error"]
                ):
                    wrong[f"{tool}.{name}"] = payload
    assert wrong == {}


# One 10 MB value of each kind a tool takes: text, an amount, a record id, a list, an object, and a list where a
# number belongs.
TEN_MB_CASES = {
    "text": ("create_vendor", "business_name", "x" * TEN_MB),
    "amount": ("create_market", "default_fee", "1" * TEN_MB),
    "search id": ("fetch", "id", "vendor:" + "1" * TEN_MB),
    "list": ("bulk_cancel_bookings", "booking_ids", ["1" * 1000] * (TEN_MB // 1000)),
    "object": ("create_market", "metadata", {f"k{n}": "v" * 1000 for n in range(TEN_MB // 1000)}),
    "wrong type": ("update_market", "market_id", {"id": "1" * TEN_MB}),
}


@pytest.mark.parametrize("tool, argument, value", TEN_MB_CASES.values(), ids=TEN_MB_CASES.keys())
async def test_a_10_mb_argument_is_refused_with_a_short_422_naming_it_and_never_stored(
    alice: Tenant, tool: str, argument: str, value: Any
) -> None:
    async with alice.client() as c:
        refusal = await c.refused(tool, 422, **{argument: value})
    assert refusal.startswith("Invalid arguments: ") and argument in refusal
    assert len(refusal) < 1000
    size, where = await longest_stored_value(alice.db)
    assert size < 15_000, f"{where} holds {size} characters"


async def test_thousands_of_unknown_or_huge_argument_names_get_a_short_422_and_a_short_audit_entry(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        many = await c.refused("create_market", 422, name="Riverside", **{f"extra_{n}": n for n in range(10_000)})
        long_name = await c.refused("create_market", 422, name="Riverside", **{"y" * TEN_MB: 1})
        unknown_tool = await c.refused("z" * TEN_MB, 404)
    assert many.startswith("Invalid arguments: extra_0, extra_1, ") and "and 9990 more" in many
    assert len(many) < 2000 and len(long_name) < 2000 and len(unknown_tool) < 2000
    size, where = await longest_stored_value(alice.db)
    assert size < 15_000, f"{where} holds {size} characters"


async def test_a_huge_value_of_the_wrong_type_is_not_repeated_back_in_the_refusal(alice: Tenant) -> None:
    async with alice.client() as c:
        as_list = await c.refused("get_market", 422, market_id=list(range(100_000)))
        as_object = await c.refused("create_market", 422, name={str(n): n for n in range(100_000)})
    assert as_list.startswith("Invalid arguments: market_id must be a number, the market's id; got [0, 1, 2, ")
    assert len(as_list) < 200 and len(as_object) < 200


async def test_over_http_a_body_over_4_mib_is_refused_with_413_and_a_3_mb_argument_with_422(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless") as url:
        too_big = rpc(url, alice.token, "tools/call", {"name": "create_market", "arguments": {"name": "x" * TEN_MB}})
        big = rpc(url, alice.token, "tools/call", {"name": "create_market", "arguments": {"name": "x" * 3_000_000}})
        health = httpx2.get(f"{url}/healthz")  # the server is still there
    assert too_big.status_code == 413
    refused = tool_result(big)
    assert refused["isError"] is True
    assert refused["structuredContent"] == {
        "error": "Invalid arguments: name must be at most 200 characters; got 3,000,000 characters.",
        "code": 422,
    }
    assert health.status_code == 200
    size, where = await longest_stored_value(alice.db)
    assert size < 15_000, f"{where} holds {size} characters"
