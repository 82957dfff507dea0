"""API tokens: stored only as a hash, 401 when missing/unknown/revoked, 403 by DOMAIN.md's rules."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from sqlalchemy import func, select, text, update
from sqlmodel import SQLModel

from market_mcp import catalog
from market_mcp.config import Settings
from market_mcp.db import Database
from market_mcp.db.tables import ApiToken, AuditEntry, Market, Organization, User
from market_mcp.db.types import utcnow
from market_mcp.errors import MISSING_TOKEN
from market_mcp.server import build_server
from market_mcp.services import organizations
from tests.factories import Caller, Tenant

# One read and one write: a token rule that held for reads only would be no rule.
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "read": ("list_markets", {}),
    "write": ("create_market", {"name": "Harbour Night Market"}),
}


async def call_refused(db: Database, token: str | None, kind: str, code: int) -> str:
    tool, arguments = CALLS[kind]
    async with Client(build_server(Settings(database_url=str(db.url)), db=db, token=token)) as client:
        return await Caller(client).refused(tool, code, **arguments)


async def count(db: Database, model: type[SQLModel]) -> int:
    async with db.transaction() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def token_row(db: Database, token_id: int) -> ApiToken:
    async with db.transaction() as session:
        token = await session.get(ApiToken, token_id)
        assert token is not None
        return token


async def revoke(db: Database, token_id: int) -> None:
    async with db.transaction(write=True) as session:
        await organizations.revoke_token(session, token_id)


async def change_creator(db: Database, tenant: Tenant, **values: Any) -> None:
    async with db.transaction(write=True) as session:
        token = await session.get(ApiToken, tenant.token_id)
        assert token is not None
        await session.execute(update(User).where(User.id == token.user_id).values(**values))


@pytest.fixture(autouse=True)
def no_token_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # build_server falls back to MARKET_MCP_TOKEN; a developer's own token must not make "missing" pass.
    monkeypatch.delenv("MARKET_MCP_TOKEN", raising=False)


# --- storage ---------------------------------------------------------------------------------------------------


async def test_a_token_is_stored_as_its_sha256_hash_with_a_short_display_prefix(alice: Tenant) -> None:
    token = await token_row(alice.db, alice.token_id)
    assert token.token_hash == hashlib.sha256(alice.token.encode()).hexdigest()
    assert token.prefix == alice.token[:11] + "…"
    assert token.prefix.startswith("mk_org_")
    assert len(token.prefix) == 12


async def test_no_row_of_any_table_contains_a_raw_token(alice: Tenant) -> None:
    async with alice.client() as c:  # a write and a read, so audit and last-used rows exist too
        await c.ok("create_market", name="Harbour Night Market", idempotency_key="k1")
        await c.ok("list_markets")
    # The random part of each token: the display prefix is meant to be stored, the rest never is.
    secrets = [raw[11:] for raw in (alice.token, alice.read_token)]
    found: list[str] = []
    async with alice.db.transaction() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                for column, value in zip(table.columns, row, strict=True):
                    if any(secret in str(value) for secret in secrets):
                        found.append(f"{table.name}.{column.name}")
    assert found == []


async def test_the_database_never_contains_a_raw_token(alice: Tenant) -> None:
    async with alice.client() as c:
        await c.ok("create_market", name="Harbour Night Market")
    if not alice.db.is_sqlite:  # every row of every table, as text
        async with alice.db.transaction() as session:
            rows = [
                (
                    await session.execute(text(f"SELECT coalesce(string_agg(t::text, ''), '') FROM \"{table}\" t"))
                ).scalar()
                for table in SQLModel.metadata.tables
            ]
        dump = "".join(rows)
        assert "alice write" in dump  # the token's name is there: the check reads real rows
        assert alice.token[11:] not in dump and alice.read_token[11:] not in dump
        return
    path = Path(str(alice.db.url.database))
    files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]  # the database, its -wal and -shm
    contents = b"".join(p.read_bytes() for p in files)
    assert path in files
    assert alice.token[11:].encode() not in contents
    assert alice.read_token[11:].encode() not in contents


# --- 401 ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["read", "write"])
async def test_a_call_without_a_token_is_refused_with_401(db: Database, alice: Tenant, kind: str) -> None:
    assert await call_refused(db, None, kind, 401) == MISSING_TOKEN
    assert await count(db, Market) == 0


@pytest.mark.parametrize("kind", ["read", "write"])
@pytest.mark.parametrize(
    "unknown",
    ["mk_org_" + "A" * 43, "not-a-market-token", ""],
    ids=["well-formed but unknown", "not a market token", "empty"],
)
async def test_an_unknown_token_is_refused_with_401(db: Database, alice: Tenant, kind: str, unknown: str) -> None:
    assert await call_refused(db, unknown, kind, 401) == MISSING_TOKEN
    assert await count(db, Market) == 0
    assert await count(db, AuditEntry) == 0


@pytest.mark.parametrize("kind", ["read", "write"])
async def test_a_revoked_token_is_refused_with_401(db: Database, alice: Tenant, kind: str) -> None:
    await revoke(db, alice.token_id)
    assert await call_refused(db, alice.token, kind, 401) == MISSING_TOKEN
    assert await count(db, Market) == 0
    assert await count(db, AuditEntry) == 0


async def test_a_revoked_token_stops_working_on_the_next_call_of_a_connected_client(alice: Tenant) -> None:
    async with alice.client() as c:
        await c.ok("list_markets")
        await revoke(alice.db, alice.token_id)
        assert await c.refused("list_markets", 401) == MISSING_TOKEN
        assert await c.refused("create_market", 401, name="Harbour Night Market") == MISSING_TOKEN
    assert await count(alice.db, Market) == 0


async def test_revoking_one_token_leaves_the_organisations_other_tokens_working(alice: Tenant) -> None:
    await revoke(alice.db, alice.token_id)
    async with alice.client(read_only=True) as c:
        assert (await c.ok("list_markets"))["total"] == 0


# --- read-only tokens ----------------------------------------------------------------------------------------------


async def test_a_read_only_token_can_read(alice: Tenant) -> None:
    async with alice.client(read_only=True) as c:
        page = await c.ok("list_markets")
    assert page == {"items": [], "total": 0, "limit": 20, "offset": 0, "next_offset": None, "page": "Nothing matches."}


async def test_a_read_only_token_is_refused_a_write_with_403_and_nothing_is_written(alice: Tenant) -> None:
    async with alice.client(read_only=True) as c:
        refusal = await c.refused("create_market", 403, name="Harbour Night Market")
    assert refusal == "This token is read-only; create_market needs a write token."
    assert await count(alice.db, Market) == 0
    async with alice.db.transaction() as session:
        audit = (await session.execute(select(AuditEntry))).scalars().all()
    # The refusal itself is audited (every refused write is), and that is the only row written.
    assert [(a.tool, a.outcome, a.token_name, a.records) for a in audit] == [("create_market", "403", "alice read", [])]


# --- 403: the creator and the organisation --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["read", "write"])
async def test_a_token_whose_creator_was_deactivated_is_refused_with_403(
    db: Database, alice: Tenant, kind: str
) -> None:
    await change_creator(db, alice, active=False)
    assert await call_refused(db, alice.token, kind, 403) == (
        "This token's creator (admin@alice.example.com) has been deactivated; create a new token."
    )
    assert await count(db, Market) == 0


@pytest.mark.parametrize("kind", ["read", "write"])
async def test_a_token_whose_creator_is_no_longer_an_admin_is_refused_with_403(
    db: Database, alice: Tenant, kind: str
) -> None:
    await change_creator(db, alice, role="staff")
    assert await call_refused(db, alice.token, kind, 403) == (
        "This token's creator (admin@alice.example.com) is no longer an admin; create a new token."
    )
    assert await count(db, Market) == 0


@pytest.mark.parametrize("kind", ["read", "write"])
async def test_a_token_whose_creator_left_the_organisation_is_refused_with_403(
    db: Database, alice: Tenant, bob: Tenant, kind: str
) -> None:
    await change_creator(db, alice, organization_id=bob.org_id)
    assert await call_refused(db, alice.token, kind, 403) == (
        "This token's creator (admin@alice.example.com) is no longer a member of Alice Markets; create a new token."
    )
    assert await count(db, Market) == 0


@pytest.mark.parametrize("kind", ["read", "write"])
async def test_a_token_of_an_organisation_in_draft_is_refused_with_403(db: Database, alice: Tenant, kind: str) -> None:
    async with db.transaction(write=True) as session:
        await organizations.set_status(session, "alice", "draft")
    assert await call_refused(db, alice.token, kind, 403) == (
        "Alice Markets is in draft; activate it with `market-mcp org set-status alice active` to use its tokens."
    )
    assert await count(db, Market) == 0


async def test_a_draft_organisations_read_only_token_is_shown_only_the_tools_that_read(
    db: Database, alice: Tenant
) -> None:
    async with db.transaction(write=True) as session:
        await organizations.set_status(session, "alice", "draft")
    async with alice.client(read_only=True) as c:
        listed = {tool.name for tool in (await c.client.list_tools()).tools}
    assert listed == {name for name, spec in catalog.SPECS.items() if not spec.writes}


async def test_reactivating_a_draft_organisation_makes_its_tokens_work_again(db: Database, alice: Tenant) -> None:
    async with db.transaction(write=True) as session:
        await organizations.set_status(session, "alice", "draft")
    async with alice.client() as c:
        await c.refused("list_markets", 403)
        async with db.transaction(write=True) as session:
            await organizations.set_status(session, "alice", "active")
        assert (await c.ok("list_markets"))["total"] == 0


async def test_a_draft_organisation_does_not_affect_another_organisations_tokens(
    db: Database, alice: Tenant, bob: Tenant
) -> None:
    async with db.transaction(write=True) as session:
        await organizations.set_status(session, "alice", "draft")
    async with bob.client() as c:
        assert (await c.ok("list_markets"))["total"] == 0
    async with db.transaction() as session:
        statuses = dict((await session.execute(select(Organization.slug, Organization.status))).all())
    assert statuses == {"alice": "draft", "bob": "active"}


# --- last_used_at -------------------------------------------------------------------------------------------------


async def test_a_call_records_when_the_token_was_last_used(alice: Tenant) -> None:
    assert (await token_row(alice.db, alice.token_id)).last_used_at is None
    before = utcnow()
    async with alice.client() as c:
        await c.ok("list_markets")
    after = utcnow()
    used = (await token_row(alice.db, alice.token_id)).last_used_at
    assert used is not None and before <= used <= after


async def test_last_used_at_is_not_rewritten_by_every_call_within_a_minute(alice: Tenant) -> None:
    async with alice.client() as c:
        await c.ok("list_markets")
        first = (await token_row(alice.db, alice.token_id)).last_used_at
        await c.ok("list_markets")
        await c.ok("create_market", name="Harbour Night Market")
    assert (await token_row(alice.db, alice.token_id)).last_used_at == first


async def test_last_used_at_moves_on_once_a_minute_has_passed(alice: Tenant) -> None:
    long_ago = utcnow() - timedelta(minutes=2)
    async with alice.db.transaction(write=True) as session:
        await session.execute(update(ApiToken).where(ApiToken.id == alice.token_id).values(last_used_at=long_ago))
    before = utcnow()
    async with alice.client() as c:
        await c.ok("list_markets")
    used = (await token_row(alice.db, alice.token_id)).last_used_at
    assert used is not None and used >= before


async def test_using_one_token_leaves_the_others_last_used_at_alone(alice: Tenant) -> None:
    async with alice.client() as c:
        await c.ok("list_markets")
    async with alice.db.transaction() as session:
        read_token = (await session.execute(select(ApiToken).where(ApiToken.name == "alice read"))).scalar_one()
    assert read_token.last_used_at is None


async def test_a_refused_call_still_records_that_the_token_was_used(alice: Tenant) -> None:
    # The token was valid and in use; an operator deciding whether it is safe to revoke must see that.
    before = utcnow()
    async with alice.client() as c:
        await c.refused("get_market", 404, market_id=900_001)
    used = (await token_row(alice.db, alice.token_id)).last_used_at
    assert used is not None and used >= before
