"""Money in (decimal amounts → integer cents) and bad input out (422 JSON naming the argument, never the SDK's text)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market_mcp.schemas.common import to_cents
from tests.factories import Tenant

# ---------------------------------------------------------------- money through create_market's default_fee


@pytest.mark.parametrize(
    ("default_fee", "cents"),
    [
        (0, 0),
        (0.01, 1),
        ("0.01", 1),
        ("10.00", 1000),
        (10, 1000),
        (10.5, 1050),
        ("10.5", 1050),
        (19.99, 1999),
        ("$12", 1200),
        ("$12.30", 1230),
        (" 45.50 ", 4550),
        (1_000_000, 100_000_000),
        ("1000000.00", 100_000_000),
    ],
)
async def test_a_fee_a_person_would_say_is_kept_as_exact_cents(alice: Tenant, default_fee: Any, cents: int) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", default_fee=default_fee)
    assert (market["default_fee_cents"], market["currency"]) == (cents, "AUD")


@pytest.mark.parametrize(
    ("default_fee", "message"),
    [
        (10.005, "default_fee can have at most two decimal places; got 10.005"),
        ("10.005", "default_fee can have at most two decimal places; got 10.005"),
        (-1, "default_fee cannot be negative; got -1"),
        ("-1", "default_fee cannot be negative; got -1"),
        (-0.01, "default_fee cannot be negative; got -0.01"),
        (1000000.01, "default_fee must be at most 1,000,000; got 1000000.01"),
        (1_000_001, "default_fee must be at most 1,000,000; got 1000001"),
        ("abc", "default_fee must be an amount such as 45 or \"45.50\"; got 'abc'"),
        ("", "default_fee must be an amount such as 45 or \"45.50\"; got ''"),
        ("10,50", "default_fee must be an amount such as 45 or \"45.50\"; got '10,50'"),
        ("NaN", 'default_fee must be a finite amount such as 45 or "45.50"'),
        ("Infinity", 'default_fee must be a finite amount such as 45 or "45.50"'),
        (True, 'default_fee must be an amount such as 45 or "45.50"'),
        (False, 'default_fee must be an amount such as 45 or "45.50"'),
        ([10], 'default_fee must be an amount such as 45 or "45.50"'),
        ({"amount": 10}, 'default_fee must be an amount such as 45 or "45.50"'),
    ],
)
async def test_a_fee_that_is_not_a_sensible_amount_is_refused_naming_default_fee(
    alice: Tenant, default_fee: Any, message: str
) -> None:
    async with alice.client() as c:
        refusal = await c.refused("create_market", 422, name="Riverside", default_fee=default_fee)
        page = await c.ok("list_markets")
    assert refusal == f"Invalid arguments: {message}."
    assert page["total"] == 0


@pytest.mark.parametrize("default_fee", ["1e3", "1_000", "+5", "٣"])
async def test_a_fee_string_outside_the_published_pattern_is_refused(alice: Tenant, default_fee: str) -> None:
    # The input schema publishes default_fee strings as ^\$?\d+(\.\d{1,2})?$ and TOOLS.md says "a decimal
    # string" (10, 10.5, "10.00"). Python's Decimal also reads exponents, underscores, a plus sign and
    # non-ASCII digits: "1e3" would quietly become a $1,000 fee. The server must not accept what it tells
    # clients is invalid.
    async with alice.client() as c:
        refusal = await c.refused("create_market", 422, name="Riverside", default_fee=default_fee)
    assert refusal.startswith("Invalid arguments: default_fee ")


async def test_the_published_schema_for_money_takes_a_number_or_a_decimal_string(alice: Tenant) -> None:
    async with alice.client() as c:
        tools = {t.name: t for t in (await c.client.list_tools()).tools}
    fee = tools["create_market"].input_schema["properties"]["default_fee"]
    # maximum bounds the number, maxLength the string; the server says what a string must look like, and that
    # money is never negative (test_negative_money_is_refused…).
    assert {k: v for k, v in fee.items() if k != "description"} == {
        "type": ["number", "string"],
        "maximum": 1000000,
        "maxLength": 20,
        "default": 0,
    }


# ---------------------------------------------------------------- schema failures: 422 JSON naming the argument


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        (
            "create_market",
            {"name": 5},
            "Invalid arguments: name must be text of at most 200 characters; got 5.",
        ),
        (
            "create_market",
            {"name": "Riverside", "capacity": "forty"},
            "Invalid arguments: capacity must be a whole number from 0 to 10000; got 'forty'.",
        ),
        (
            "create_market",
            {"name": "Riverside", "metadata": ["not", "an", "object"]},
            'Invalid arguments: metadata must be an object of keys and values, e.g. {"stall": "A1"}; '
            "got ['not', 'an', 'object'].",
        ),
        (
            "create_market",
            {},
            "Invalid arguments: name is required: text of at most 200 characters.",
        ),
        (
            "create_market_date",
            {"scheduled_at": "2030-01-05"},
            "Invalid arguments: market_id is required: a number, the market's id. To find it, call list_markets "
            "(query= finds one by name).",
        ),
        (
            "create_market",
            {"name": "Riverside", "status": "draft"},
            "Invalid arguments: status must be one of published or unpublished; got 'draft'.",
        ),
        (
            "list_market_dates",
            {"status": "open"},
            "Invalid arguments: status must be one of scheduled, closed or cancelled; got 'open'.",
        ),
        (
            "create_market_date",
            {"market_id": 1, "scheduled_at": "2026-02-30"},
            "Invalid arguments: scheduled_at must be a date as YYYY-MM-DD, e.g. 2026-12-12; got '2026-02-30'. "
            "2026-02-30 is not a day of the calendar.",
        ),
        (
            "create_market_date",
            {"market_id": 1, "scheduled_at": "2030-01-05", "start_time": "25:00"},
            "Invalid arguments: start_time must be a time as HH:MM (24-hour), e.g. 08:00; got '25:00'.",
        ),
        (
            "list_markets",
            {"offset": -1},
            "Invalid arguments: offset must be at least 0; got -1.",
        ),
    ],
)
async def test_input_that_fails_the_schema_is_refused_as_422_json_naming_the_argument(
    alice: Tenant, tool: str, arguments: dict[str, Any], message: str
) -> None:
    async with alice.client() as c:
        result = await c.call(tool, **arguments)
    assert result.is_error
    assert result.structured_content == {"error": message, "code": 422}
    assert "Error executing tool" not in result.content[0].text  # type: ignore[union-attr]


async def test_several_bad_arguments_are_named_together(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("create_market", 422, name="", capacity=-1, default_fee="1.001")
    assert message == (
        "Invalid arguments: name must not be empty. "
        "default_fee can have at most two decimal places; got 1.001. "
        "capacity must be at least 0; got -1."
    )


async def test_a_long_bad_value_is_shortened_in_the_message(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("create_market", 422, name="Riverside", status="x" * 100)
    assert message == ("Invalid arguments: status must be one of published or unpublished; got '" + "x" * 40 + "…'.")


async def test_an_unknown_tool_is_refused_as_404_json(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("approve_everything", 404)
    assert message == "Unknown tool 'approve_everything'. Did you mean approve_order? Call tools/list to see the tools."


# ---------------------------------------------------------------- to_cents, the function


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        (0, 0),
        (1, 100),
        (0.01, 1),
        (10.5, 1050),
        (0.1, 10),
        (19.99, 1999),
        ("10", 1000),
        ("10.00", 1000),
        ("$10", 1000),
        ("$ 10.25", 1025),
        (Decimal("10.20"), 1020),
        (Decimal("7"), 700),
        (Decimal("-0"), 0),
        (1_000_000, 100_000_000),
    ],
)
def test_to_cents_turns_an_amount_into_exact_integer_cents(value: Any, cents: int) -> None:
    result = to_cents(value)
    assert result == cents and type(result) is int


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, 'must be an amount such as 45 or "45.50"'),
        (None, 'must be an amount such as 45 or "45.50"'),
        ([1], 'must be an amount such as 45 or "45.50"'),
        ("ten", "must be an amount such as 45 or \"45.50\"; got 'ten'"),
        ("x" * 60, 'must be an amount such as 45 or "45.50"; got \'' + "x" * 40 + "'"),
        ("nan", 'must be a finite amount such as 45 or "45.50"'),
        (float("inf"), 'must be a finite amount such as 45 or "45.50"'),
        (-5, "cannot be negative; got -5"),
        (Decimal("-0.01"), "cannot be negative; got -0.01"),
        (0.001, "can have at most two decimal places; got 0.001"),
        ("1.999", "can have at most two decimal places; got 1.999"),
        (Decimal("1000000.01"), "must be at most 1,000,000; got 1000000.01"),
        (1e7, "must be at most 1,000,000; got 10000000.0"),
    ],
)
def test_to_cents_refuses_what_is_not_a_sensible_amount(value: Any, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        to_cents(value)
    assert str(refused.value) == message


@given(st.decimals(min_value=0, max_value=1_000_000, places=2, allow_nan=False, allow_infinity=False))
def test_any_amount_with_at_most_two_decimals_round_trips_to_exact_cents(amount: Decimal) -> None:
    cents = int(amount * 100)
    assert cents == amount * 100  # two places: the cents are whole
    assert to_cents(amount) == cents
    assert to_cents(str(amount)) == cents
    assert to_cents("$" + str(amount)) == cents
    assert to_cents(float(amount)) == cents  # a JSON number arrives as a float


async def test_a_misspelt_argument_is_refused_naming_it_and_the_arguments_the_tool_takes(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", default_fee=45)
        refusal = await c.refused("update_market", 422, market_id=market["id"], fee=50)
        unchanged = await c.ok("get_market", market_id=market["id"])
    assert refusal.startswith(
        "Invalid arguments: fee is not an argument of update_market (did you mean default_fee?); it takes "
    )
    assert "default_fee" in refusal
    assert unchanged["default_fee_cents"] == 4500


async def test_an_absurdly_large_float_is_refused_as_too_large_not_as_a_crash(alice: Tenant) -> None:
    async with alice.client() as c:
        refusal = await c.refused("create_market", 422, name="Riverside", default_fee=1e30)
    assert refusal == "Invalid arguments: default_fee must be at most 1,000,000; got 1e+30."


@pytest.mark.parametrize(
    "tool, arguments",
    [
        ("get_vendor", {"vendor_id": 2**31}),
        ("list_orders", {"market_id": 10**12}),
        ("bulk_cancel_bookings", {"booking_ids": [1, 2**40]}),
    ],
)
async def test_an_id_larger_than_any_record_can_have_is_refused_before_the_database(
    alice: Tenant, tool: str, arguments: dict[str, Any]
) -> None:
    async with alice.client() as c:
        refusal = await c.refused(tool, 422, **arguments)
    assert refusal.startswith("Invalid arguments: ") and "2147483647" in refusal
