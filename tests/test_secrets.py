"""Secrets are never repeated back: a token a model pastes into any argument is masked wherever input is
echoed (refusals, idempotency conflicts, the audit log)."""

from __future__ import annotations

import json

import pytest

from market_mcp.auth import without_tokens
from tests.factories import Tenant


def secret_fragments(token: str) -> list[str]:
    """Every run of 8 characters of the token's secret part: none may be shown."""
    secret = token.split("_", 2)[2]
    return [secret[i : i + 8] for i in range(len(secret) - 7)]


def shows_any(text: str, token: str) -> bool:
    return any(fragment in text for fragment in secret_fragments(token))


async def test_fetch_of_a_token_does_not_quote_it(alice: Tenant) -> None:
    async with alice.client() as c:
        message = await c.refused("fetch", 422, id=alice.token)
    assert not shows_any(message, alice.token), message
    assert "[token]" in message


@pytest.mark.parametrize("where", ["start", "middle", "end"])
async def test_a_token_inside_a_longer_argument_is_masked_in_the_refusal(alice: Tenant, where: str) -> None:
    value = {"start": f"{alice.token} {'x' * 80}", "middle": f"{'x' * 40}{alice.token}{'x' * 40}"}.get(
        where, f"{'x' * 80} {alice.token}"
    )
    async with alice.client() as c:
        message = await c.refused("get_vendor", 422, vendor_id=value)
    assert not shows_any(message, alice.token), message


async def test_an_idempotency_conflict_does_not_quote_a_token_used_as_the_key(alice: Tenant) -> None:
    async with alice.client() as c:
        await c.ok("create_market", name="Riverside", idempotency_key=alice.token)
        message = await c.refused("create_market", 409, name="Hillside", idempotency_key=alice.token)
        audit = await c.ok("list_audit_log", detail="full")
    assert not shows_any(message, alice.token), message
    assert not shows_any(json.dumps(audit), alice.token)


def test_a_token_cut_short_is_masked_too() -> None:
    """A refusal that shortens a long value must not leave a token's first characters behind."""
    assert without_tokens("mk_org_AbCdEfGhIjKl") == "[token]"
    assert without_tokens("use mk_at_AbCdEfGh… here") == "use [token]… here"
