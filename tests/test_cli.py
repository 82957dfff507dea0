"""The market-mcp command line, run as a person runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from market_mcp.config import Settings
from market_mcp.db import Database
from market_mcp.server import build_server
from tests.factories import Caller


class Cli:
    def __init__(self, database: Path) -> None:
        self.url = f"sqlite+aiosqlite:///{database}"

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_MCP_")}
        env["MARKET_MCP_DATABASE_URL"] = self.url
        done = subprocess.run(
            [sys.executable, "-m", "market_mcp", *args], capture_output=True, text=True, env=env, timeout=60
        )
        if ok:
            assert done.returncode == 0, done.stderr
        return done


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "cli.db")


def test_init_creates_the_database_and_is_safe_to_run_twice(cli: Cli) -> None:
    first = cli.run("init").stdout
    second = cli.run("init").stdout
    assert first.startswith("Created the database at ")
    assert second.startswith("The database at ") and "is up to date" in second


def test_an_organisation_gets_a_token_printed_once_alone_on_the_last_line(cli: Cli) -> None:
    created = json.loads(
        cli.run("org", "create", "--name", "Riverside Markets", "--slug", "riverside", "--json").stdout
    )
    token_text = cli.run("token", "create", "--org", "riverside", "--name", "claude desktop").stdout
    token = token_text.strip().splitlines()[-1]
    listed = json.loads(cli.run("token", "list", "--org", "riverside", "--json").stdout)

    assert created == {
        "id": 1,
        "name": "Riverside Markets",
        "slug": "riverside",
        "status": "active",
        "admin": "admin@riverside.invalid",
    }
    assert token.startswith("mk_org_") and len(token) > 40
    assert listed[0]["name"] == "claude desktop" and listed[0]["scope"] == "write" and listed[0]["revoked_at"] is None
    assert token not in json.dumps(listed) and listed[0]["prefix"] == token[:11] + "…"


def test_token_create_json_is_one_object_with_the_token(cli: Cli) -> None:
    cli.run("org", "create", "--name", "Night Owls", "--slug", "night-owls")
    made = json.loads(cli.run("token", "create", "--org", "night-owls", "--read-only", "--json").stdout)
    assert set(made) == {"id", "name", "scope", "prefix", "token"}
    assert made["scope"] == "read" and made["token"].startswith(made["prefix"].rstrip("…"))


async def test_a_revoked_token_is_refused_on_the_next_call(cli: Cli) -> None:
    cli.run("org", "create", "--name", "Riverside Markets", "--slug", "riverside")
    made = json.loads(cli.run("token", "create", "--org", "riverside", "--json").stdout)
    db = Database(cli.url)
    try:
        async with Client(build_server(Settings(database_url=cli.url), db=db, token=made["token"])) as client:
            c = Caller(client)
            await c.ok("list_markets")
            revoked = cli.run("token", "revoke", str(made["id"])).stdout
            refusal = await c.refused("list_markets", 401)
    finally:
        await db.dispose()
    assert revoked == f"Token {made['id']} (write token) is revoked; calls with it are refused from now on.\n"
    assert refusal.startswith("The API token is missing or revoked.")
    listed = json.loads(cli.run("token", "list", "--org", "riverside", "--json").stdout)
    assert listed[0]["revoked_at"] is not None


def test_org_list_and_set_status(cli: Cli) -> None:
    cli.run("org", "create", "--name", "Riverside Markets", "--slug", "riverside")
    drafted = cli.run("org", "set-status", "riverside", "draft").stdout
    listed = json.loads(cli.run("org", "list", "--json").stdout)
    assert drafted == "Riverside Markets (riverside) is now draft.\n"
    assert listed == [
        {
            "id": 1,
            "name": "Riverside Markets",
            "slug": "riverside",
            "status": "draft",
            "currency": "AUD",
            "timezone": "Australia/Melbourne",
            "live_tokens": 0,
        }
    ]


def test_mistakes_are_explained_on_stderr_with_a_failing_exit_code(cli: Cli) -> None:
    cli.run("org", "create", "--name", "Riverside Markets", "--slug", "riverside")
    duplicate = cli.run("org", "create", "--name", "Again", "--slug", "riverside", ok=False)
    bad_slug = cli.run("org", "create", "--name", "Bad", "--slug", "Bad Slug!", ok=False)
    unknown = cli.run("token", "create", "--org", "nowhere", ok=False)
    assert (duplicate.returncode, duplicate.stderr) == (
        1,
        "error: An organisation with slug 'riverside' already exists.\n",
    )
    assert bad_slug.returncode == 1 and "slug must be lowercase letters" in bad_slug.stderr
    assert unknown.returncode == 1 and "Organisation 'nowhere' not found" in unknown.stderr
    assert duplicate.stdout == bad_slug.stdout == unknown.stdout == ""


async def test_tools_json_is_the_catalog_tools_list_returns(cli: Cli, db: Database) -> None:
    printed = json.loads(cli.run("tools", "--json").stdout)
    async with Client(build_server(Settings(database_url=str(db.url)), db=db)) as client:
        listed = await client.list_tools()
    expected = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]
    assert printed["tools"] == expected
    human = cli.run("tools").stdout.splitlines()
    assert len(human) == len(expected) and human[0].split()[:3] == ["dashboard", "read", "get_context"]


async def test_demo_creates_a_realistic_organisation_once_and_prints_a_working_token_each_time(cli: Cli) -> None:
    first = cli.run("demo").stdout.strip().splitlines()
    second = cli.run("demo").stdout.strip().splitlines()
    assert first[0].startswith("Created the demo organisation Harbour & Hills Markets (demo): 4 markets, ")
    assert (
        second[0] == "The demo organisation Harbour & Hills Markets (demo) already exists; here is a new token for it."
    )
    config = json.loads("\n".join(first[first.index("{") : first.index("}") + 1]))
    assert config["mcpServers"]["market-mcp"]["env"]["MARKET_MCP_TOKEN"] == first[-1]
    db = Database(cli.url)
    try:
        async with Client(build_server(Settings(database_url=cli.url), db=db, token=second[-1])) as client:
            markets = await Caller(client).ok("list_markets")
            upcoming = await Caller(client).ok("list_market_dates", date_filter="upcoming", limit=200)
    finally:
        await db.dispose()
    assert markets["total"] == 4
    assert any(d["spaces_left"] == 0 and d["waitlist_count"] > 0 for d in upcoming["items"])


def test_invoice_details_are_set_shown_and_cleared_on_the_command_line(cli: Cli) -> None:
    cli.run("org", "create", "--name", "Riverside Markets", "--slug", "riverside")
    cli.run(
        "org", "invoice-details", "riverside", "--legal-name", "Riverside Markets Pty Ltd",
        "--tax-number", "51 824 753 556", "--tax-rate", "10",
    )  # fmt: skip
    shown = json.loads(cli.run("org", "invoice-details", "riverside", "--json").stdout)
    cli.run("org", "invoice-details", "riverside", "--tax-rate", "", "--tax-number", "")
    cleared = cli.run("org", "invoice-details", "riverside").stdout
    refused = cli.run("org", "invoice-details", "riverside", "--tax-rate", "ten", ok=False)
    assert shown == {
        "slug": "riverside",
        "name": "Riverside Markets",
        "legal_name": "Riverside Markets Pty Ltd",
        "tax_number": "51 824 753 556",
        "tax_rate": 10.0,
        "tax_label": "GST",  # the label of an AUD organisation's tax, when none is given
        "invoices_issued": 0,
        "receipts_issued": 0,
    }
    assert cleared.splitlines() == [
        "Invoices and receipts of Riverside Markets (riverside):",
        "  legal name  Riverside Markets Pty Ltd",
        "  tax number  -",
        "  tax         - (none shown)",
        "  issued      0 invoice(s), 0 receipt(s)",
    ]
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: tax rate must be a percentage from 0 to 100 with at most two decimals, such as 10; got 'ten'."
    )
