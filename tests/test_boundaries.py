"""Boundary dates: every date and time a tool takes is bounded to what date arithmetic and both databases
accept, and anything outside is a 422 naming the range, never a crash (500)."""

from __future__ import annotations

from typing import Any

import pytest

from market_mcp import catalog
from tests.factories import Tenant

DATE_ARGUMENTS = [
    (name, argument, schema["format"])
    for name, definition in sorted(catalog.definitions().items())
    for argument, schema in definition.input_schema["properties"].items()
    if schema.get("format") in ("date", "date-time")
]
OUT_OF_RANGE = {
    "date": ["9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01"],
    "date-time": ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1999-12-31T23:59:59Z"],
}


def placeholder(schema: dict[str, Any]) -> Any:
    """A value of the argument's type that passes its own validation: the date under test is the only fault."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    kind = next(k for k in kind if k != "null") if isinstance(kind, list) else kind
    if kind == "array":
        return [placeholder(schema.get("items", {}))] * schema.get("minItems", 1)
    if kind == "object":
        return {key: placeholder(schema["properties"][key]) for key in schema.get("required", [])}
    if schema.get("format") == "date":
        return "2030-01-01"
    return {"integer": 1, "number": 1, "boolean": False}.get(kind, "x")  # type: ignore[arg-type]


def test_every_date_argument_is_covered() -> None:
    """The catalog's date arguments, so a new one is tested here without anyone adding a case."""
    assert len(DATE_ARGUMENTS) >= 20
    assert ("list_audit_log", "since", "date-time") in DATE_ARGUMENTS
    assert ("create_credit", "expires_at", "date") in DATE_ARGUMENTS


@pytest.mark.parametrize(("tool", "argument", "kind"), DATE_ARGUMENTS)
async def test_a_date_outside_the_years_we_keep_is_refused_naming_the_range(
    alice: Tenant, tool: str, argument: str, kind: str
) -> None:
    schema = catalog.definitions()[tool].input_schema
    required = {key: placeholder(schema["properties"][key]) for key in schema.get("required", [])}
    async with alice.client() as c:
        for value in OUT_OF_RANGE[kind]:
            message = await c.refused(tool, 422, **(required | {argument: value}))
            assert message == (
                f"Invalid arguments: {argument} must be between 2000-01-01 and 2100-12-31; got {value[:10]}."
            ), message


async def test_the_first_and_last_days_we_keep_are_accepted(alice: Tenant) -> None:
    async with alice.client() as c:
        vendor = await c.ok("create_vendor", business_name="Rosa's Bakery", email="rosa@example.com")
        credit = await c.ok("create_credit", vendor_id=vendor["id"], credit_amount=10, expires_at="2100-12-31")
        assert credit["expires_at"].startswith("2100-12-31") or credit["expires_at"].startswith("2101-01-01")
        page = await c.ok("list_audit_log", since="2000-01-01T00:00:00+14:00")
        assert page["total"] >= 1
        await c.ok("list_vendors", start_date="2000-01-01", end_date="2100-12-31")
