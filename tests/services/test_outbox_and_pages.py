"""Services without MCP: the outbox rides the caller's transaction; pages keep to their size budget."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from market_mcp.auth import OrgContext, TokenIdentity
from market_mcp.db import Database
from market_mcp.db.tables import Email
from market_mcp.schemas.common import PAGE_BUDGET_BYTES, Page
from market_mcp.schemas.markets import MarketFields
from market_mcp.services import markets
from market_mcp.services.emails import queue_email
from tests.factories import Tenant


def _identity(tenant: Tenant) -> TokenIdentity:
    return TokenIdentity(
        token_id=tenant.token_id,
        token_name=f"{tenant.slug} write",
        scope="write",
        last_used_at=None,
        organization_id=tenant.org_id,
        organization_name="Alice Markets",
        organization_slug=tenant.slug,
        currency="AUD",
        timezone="Australia/Melbourne",
    )


async def _emails(db: Database) -> list[Email]:
    async with db.transaction() as session:
        return list((await session.execute(select(Email).order_by(Email.id))).scalars())


async def test_a_queued_email_is_written_with_the_change_that_caused_it(alice: Tenant) -> None:
    async with alice.db.transaction(write=True) as session:
        org = OrgContext.of(session, _identity(alice))
        email = queue_email(
            org, to="sam@example.com", subject="See you Saturday", body="Hi Sam", kind="market_message", vendor_id=None
        )
    (stored,) = await _emails(alice.db)
    assert (stored.id, stored.organization_id, stored.to, stored.kind, stored.status, stored.sent_at) == (
        email.id,
        alice.org_id,
        "sam@example.com",
        "market_message",
        "queued",
        None,
    )


async def test_an_email_queued_in_a_transaction_that_fails_is_never_sent(alice: Tenant) -> None:
    with pytest.raises(RuntimeError):
        async with alice.db.transaction(write=True) as session:
            org = OrgContext.of(session, _identity(alice))
            queue_email(org, to="sam@example.com", subject="Approved", body="Hi", kind="application_approved")
            raise RuntimeError("the change failed after the email was queued")
    assert await _emails(alice.db) == []


async def test_an_unknown_email_kind_is_a_programming_error(alice: Tenant) -> None:
    async with alice.db.transaction() as session:
        org = OrgContext.of(session, _identity(alice))
        with pytest.raises(ValueError, match="unknown email kind 'newsletter'"):
            queue_email(org, to="sam@example.com", subject="News", body="Hi", kind="newsletter")


async def test_a_page_of_long_records_is_cut_short_and_points_to_the_rest(alice: Tenant) -> None:
    async with alice.db.transaction(write=True) as session:
        org = OrgContext.of(session, _identity(alice))
        for n in range(40):
            await markets.create_market(org, MarketFields(name=f"Market {n:02}", description="x" * 5000))
        first = await markets.list_markets(org, status=None, query=None, limit=200, offset=0)
        first = first.detailed("full")
        second = await markets.list_markets(org, status=None, query=None, limit=200, offset=first.next_offset or 0)
        second = second.detailed("full")
    kept = len(first.items)
    assert len(first.model_dump_json()) < PAGE_BUDGET_BYTES + 6_000
    assert first.total == 40 and 0 < kept < 40
    assert (first.next_offset, first.page) == (
        kept,
        f"Items 1-{kept} of 40. For the next page call again with offset={kept}.",
    )
    assert [m.name for m in first.items + second.items] == [f"Market {n:02}" for n in range(kept + len(second.items))]


async def test_the_same_long_records_in_compact_rows_fit_one_page(alice: Tenant) -> None:
    async with alice.db.transaction(write=True) as session:
        org = OrgContext.of(session, _identity(alice))
        for n in range(40):
            await markets.create_market(org, MarketFields(name=f"Market {n:02}", description="x" * 5000))
        page = await markets.list_markets(org, status=None, query=None, limit=200, offset=0)
    assert (len(page.items), page.next_offset, page.page) == (40, None, "All 40 shown.")
    assert len(page.model_dump_json()) < PAGE_BUDGET_BYTES
    assert "x" * 5000 not in page.model_dump_json()  # a description is not a compact field


def test_a_page_always_carries_at_least_one_item() -> None:
    page = Page[str].of(["only"], total=3, limit=1, offset=0)
    assert (page.items, page.next_offset) == (["only"], 1)
