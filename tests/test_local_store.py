"""This computer's own store: the organisation the settings name, set up on first start and acted for without a
token (tests/test_bundle.py runs it as the installed bundle does; these check its rules one by one)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client
from sqlalchemy import func, select

from market_mcp.config import LocalOrganization, Settings
from market_mcp.db import Database
from market_mcp.db.migrate import upgrade
from market_mcp.db.tables import ApiToken, Organization, User
from market_mcp.errors import Invalid
from market_mcp.server import MarketServer, build_server
from market_mcp.services import organizations
from market_mcp.services.organizations import LOCAL_TOKEN_NAME, set_up_local, slug_for
from tests.factories import Caller, make_tenant

RIVERSIDE = {"name": "Riverside Farmers' Market", "timezone": "Australia/Melbourne", "currency": "AUD"}


async def counts(db: Database) -> tuple[int, int, int]:
    """Organisations, users and tokens in the store."""
    async with db.transaction() as session:
        organisations, users, tokens = [
            (await session.execute(select(func.count()).select_from(table))).scalar_one()
            for table in (Organization, User, ApiToken)
        ]
    return organisations, users, tokens


async def test_the_first_start_sets_up_an_active_organisation_with_an_admin_and_a_local_token(db: Database) -> None:
    async with db.transaction(write=True) as session:
        local = await set_up_local(session, **RIVERSIDE)
    org = local.organization
    assert (org.name, org.slug, org.status, org.currency, org.timezone) == (
        "Riverside Farmers' Market",
        "riverside-farmers-market",
        "active",
        "AUD",
        "Australia/Melbourne",
    )
    assert local.changes == [
        "Set up Riverside Farmers' Market (riverside-farmers-market) on this computer, in AUD and Australia/Melbourne."
    ]
    async with db.transaction() as session:
        token = await session.get(ApiToken, local.token_id)
        admin = await session.get(User, token.user_id)  # type: ignore[union-attr]
    assert token is not None and admin is not None
    assert (token.organization_id, token.name, token.scope, token.revoked_at) == (
        org.id,
        LOCAL_TOKEN_NAME,
        "write",
        None,
    )
    assert (admin.organization_id, admin.role, admin.active) == (org.id, "admin", True)


async def test_a_second_start_finds_the_same_organisation_and_token_and_creates_nothing(db: Database) -> None:
    async with db.transaction(write=True) as session:
        first = await set_up_local(session, **RIVERSIDE)
    async with db.transaction(write=True) as session:
        second = await set_up_local(session, **RIVERSIDE)
    assert (second.organization.id, second.token_id, second.changes) == (first.organization.id, first.token_id, [])
    assert await counts(db) == (1, 1, 1)


async def test_changing_the_settings_after_the_first_start_changes_the_organisation_and_keeps_its_slug(
    db: Database,
) -> None:
    async with db.transaction(write=True) as session:
        first = await set_up_local(session, **RIVERSIDE)
    async with db.transaction(write=True) as session:
        renamed = await set_up_local(session, name="Riverside Markets", timezone="Pacific/Auckland", currency="NZD")
    org = renamed.organization
    assert (org.id, org.name, org.slug, org.timezone, org.currency) == (
        first.organization.id,
        "Riverside Markets",
        "riverside-farmers-market",
        "Pacific/Auckland",
        "NZD",
    )
    assert renamed.changes == [
        "Renamed Riverside Farmers' Market to Riverside Markets, as the settings say (its slug stays "
        "riverside-farmers-market).",
        "The timezone of Riverside Markets is now Pacific/Auckland (was Australia/Melbourne), as the settings say.",
        "The currency of Riverside Markets is now NZD (was AUD), as the settings say.",
    ]
    assert renamed.token_id == first.token_id
    assert await counts(db) == (1, 1, 1)


async def test_on_the_first_start_an_organisation_already_in_the_store_under_that_slug_is_the_one_used(
    db: Database,
) -> None:
    tenant = await make_tenant(db, "riverside-farmers-market", name="Riverside Farmers' Market")
    async with db.transaction(write=True) as session:
        local = await set_up_local(session, **RIVERSIDE)
    assert local.organization.id == tenant.org_id
    assert local.changes == [
        "This computer now works for Riverside Farmers' Market (riverside-farmers-market), already in the store."
    ]
    async with db.transaction() as session:
        names = [t.name for t in await organizations.list_tokens(session, "riverside-farmers-market")]
    assert names == ["riverside-farmers-market write", "riverside-farmers-market read", LOCAL_TOKEN_NAME]


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Riverside Farmers' Market", "riverside-farmers-market"),
        ("  Café Night  Bazaar! ", "cafe-night-bazaar"),
        ("夜市", "local"),
        ("a" * 70, "a" * 64),
    ],
)
def test_the_slug_is_made_from_the_name(name: str, slug: str) -> None:
    assert slug_for(name) == slug


def test_a_timezone_and_a_currency_in_lower_case_are_taken_as_their_proper_names() -> None:
    settings = Settings(org_name="Riverside", org_timezone="pacific/auckland", org_currency="nzd")
    assert settings.local_organization() == LocalOrganization("Riverside", "Pacific/Auckland", "NZD")


def test_settings_pasted_with_spaces_or_a_newline_around_them_are_taken_without(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MARKET_MCP_ORG_NAME", "  Riverside Farmers' Market\n")
    monkeypatch.setenv("MARKET_MCP_TOKEN", " mk_org_abc\n")
    settings = Settings()
    assert settings.org_name == "Riverside Farmers' Market"
    assert settings.token is not None and settings.token.get_secret_value() == "mk_org_abc"


def test_a_currency_that_is_not_three_letters_is_refused_naming_the_setting() -> None:
    with pytest.raises(Invalid) as refused:
        Settings(org_name="Riverside", org_currency="dollars").local_organization()
    assert refused.value.message == (
        "The currency (MARKET_MCP_ORG_CURRENCY) must be a three-letter ISO 4217 code such as AUD or USD; got "
        "'dollars'. Change it in the extension's settings (or the environment) and restart the server."
    )


@pytest.fixture
async def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[MarketServer, Database]]:
    """A stdio server in local mode: no token, an organisation name, the default store (in this test's HOME)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for name in ("MARKET_MCP_DATABASE_URL", "MARKET_MCP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(org_name="Riverside Farmers' Market", rate_limit=100_000)
    assert settings.store_is_local
    db = Database(settings.database_url)
    await upgrade(db)
    yield build_server(settings, db=db), db
    await db.dispose()


async def test_a_revoked_local_token_is_refused_with_401_and_how_to_go_on(local: tuple[MarketServer, Database]) -> None:
    server, db = local
    async with Client(server) as client:
        assert (await Caller(client).ok("get_context"))["token_name"] == LOCAL_TOKEN_NAME
        async with db.transaction(write=True) as session:
            [token] = await organizations.list_tokens(session, "riverside-farmers-market")
            await organizations.revoke_token(session, token.id)  # type: ignore[arg-type]
        refused = await Caller(client).refused("get_context", 401)
    assert refused == (
        "This computer's own token was revoked, so the server no longer acts for the organisation without one. "
        "Create a token with `market-mcp token create --org riverside-farmers-market` and enter it as the "
        "extension's API token (MARKET_MCP_TOKEN)."
    )


async def test_a_local_organisation_put_in_draft_is_refused_with_403(local: tuple[MarketServer, Database]) -> None:
    server, db = local
    async with Client(server) as client:
        await Caller(client).ok("get_context")
        async with db.transaction(write=True) as session:
            await organizations.set_status(session, "riverside-farmers-market", "draft")
        refused = await Caller(client).refused("create_market", 403, name="Saturday Market")
    assert refused == (
        "Riverside Farmers' Market is in draft; activate it with "
        "`market-mcp org set-status riverside-farmers-market active` to use its tokens."
    )


async def test_invoice_details_in_the_settings_are_set_and_one_left_blank_stays_as_it_was(db: Database) -> None:
    details = {"legal_name": "Riverside Markets Pty Ltd", "tax_number": "51 824 753 556", "tax_rate": "10"}
    async with db.transaction(write=True) as session:
        first = await set_up_local(session, **RIVERSIDE, invoice_details=details)
    async with db.transaction(write=True) as session:
        again = await set_up_local(session, **RIVERSIDE, invoice_details={"legal_name": None, "tax_rate": "8.5"})
    assert first.changes[-1] == "The invoice details of Riverside Farmers' Market are now as the settings say."
    assert again.changes == ["The invoice details of Riverside Farmers' Market are now as the settings say."]
    org = again.organization
    assert (org.legal_name, org.tax_number, org.tax_rate_basis_points, org.tax_label) == (
        "Riverside Markets Pty Ltd",
        "51 824 753 556",
        850,
        "GST",
    )


def test_a_tax_rate_setting_that_is_not_a_percentage_is_refused_naming_the_setting() -> None:
    settings = Settings(org_name="Riverside", org_tax_rate="ten percent")
    with pytest.raises(Invalid) as refused:
        settings.local_organization()
    assert refused.value.message == (
        "The tax rate (MARKET_MCP_ORG_TAX_RATE) must be a percentage from 0 to 100 such as 10 or 7.5; got "
        "'ten percent'. Change it in the extension's settings (or the environment) and restart the server."
    )
