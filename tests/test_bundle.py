"""`market-mcp bundle`: the .mcpb Claude Desktop installs with one click, and what it does once installed.

The servers here run the unpacked bundle's own source, as the bundle's uv would (minus uv), with the
environment its manifest gives: the person's settings substituted into mcp_config.env, on a HOME of its own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from sqlalchemy import func, select

from market_mcp.config import Settings
from market_mcp.db import Database
from market_mcp.db.tables import Organization
from market_mcp.tools import TOOLSETS
from tests.factories import Tenant

LOCAL_TOKEN = "This computer (local)"
# Says which copy of market_mcp ran (on stderr, first), then runs the command line with the arguments given.
PROGRAM = (
    "import market_mcp, sys; print(market_mcp.__file__, file=sys.stderr, flush=True); "
    "from market_mcp.cli import main; main(sys.argv[1:])"
)


@dataclass
class Bundle:
    """`market-mcp bundle --output …` as a person runs it, unzipped as Claude Desktop unpacks it."""

    path: Path
    folder: Path
    manifest: dict[str, Any]

    def env(self, home: Path, **user_config: str) -> dict[str, str]:
        """The server's environment on a computer whose HOME is `home`: mcp_config.env with the settings
        substituted as MCPB hosts do (the manifest's defaults, then what the person entered)."""
        values = {key: option["default"] for key, option in self.manifest["user_config"].items() if "default" in option}
        values |= user_config
        home.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MARKET_MCP_", "XDG_"))}
        env |= {"HOME": str(home), "PYTHONPATH": str(self.folder / "src")}
        for name, value in self.manifest["server"]["mcp_config"]["env"].items():
            env[name] = re.sub(r"\$\{user_config\.(\w+)\}", lambda setting: values[setting[1]], value)
        return env

    def run(self, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        """The bundle's own command line, e.g. `token create` on the computer it is installed on."""
        done = subprocess.run(
            [sys.executable, "-c", PROGRAM, *args], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done

    def serve(self, env: dict[str, str]) -> Served:
        return Served(self, env)


class Served:
    """The bundle's `market-mcp serve` on stdio, initialised; its standard error once it has stopped."""

    def __init__(self, bundle: Bundle, env: dict[str, str]) -> None:
        self.bundle = bundle
        self.process = subprocess.Popen(
            [sys.executable, "-c", PROGRAM, "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.ids = 0
        self.stderr = ""

    def __enter__(self) -> Served:
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "claude", "version": "1"}}
        assert self.request("initialize", hello)["serverInfo"]["name"] == "market-mcp"
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if kind is not None:
            self.process.kill()
        # Every reply was read before stdin closes: the server stops with no call in flight.
        _, self.stderr = self.process.communicate(timeout=30)
        if kind is None:
            assert str(self.bundle.folder / "src" / "market_mcp") in self.stderr.splitlines()[0]  # the bundle's copy

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdout is not None
        self.ids += 1
        self.send({"jsonrpc": "2.0", "id": self.ids, "method": method, "params": params})
        reply = json.loads(self.process.stdout.readline())
        while "id" not in reply:  # a log notification (a refusal is logged at warning) comes before the reply
            reply = json.loads(self.process.stdout.readline())
        assert reply["id"] == self.ids, reply
        return reply["result"]

    def ok(self, tool: str, /, **arguments: Any) -> dict[str, Any]:
        result = self.request("tools/call", {"name": tool, "arguments": arguments})
        assert not result.get("isError"), result["content"][0]["text"]
        return result["structuredContent"]

    def refusal(self, tool: str, /, **arguments: Any) -> dict[str, Any]:
        result = self.request("tools/call", {"name": tool, "arguments": arguments})
        assert result["isError"] is True, result
        return json.loads(result["content"][0]["text"])


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """Built once for these tests: the servers write only into their HOME, never into the bundle."""
    where = tmp_path_factory.mktemp("bundle")
    done = subprocess.run(
        [sys.executable, "-m", "market_mcp", "bundle", "--output", str(where / "market-mcp.mcpb")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Claude Desktop" in done.stderr
    path = Path(done.stdout.strip())
    assert path == where / "market-mcp.mcpb"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(where / "unpacked")
    return Bundle(path, where / "unpacked", json.loads((where / "unpacked" / "manifest.json").read_text()))


def test_the_bundle_asks_for_the_organisation_and_for_a_token_only_with_a_shared_database(bundle: Bundle) -> None:
    with zipfile.ZipFile(bundle.path) as archive:
        names = set(archive.namelist())
    assert {"manifest.json", "pyproject.toml", "README.md", "src/market_mcp/__main__.py"} <= names
    assert "src/market_mcp/db/migrations/versions/0002_booking_cancel_settlement.py" in names
    assert {
        "src/market_mcp/apps/dashboard.html",
        "src/market_mcp/apps/map.html",
        "src/market_mcp/apps/bridge.js",
    } <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    manifest = bundle.manifest
    assert (manifest["manifest_version"], manifest["name"]) == ("0.4", "market-mcp")
    server = manifest["server"]
    assert (server["type"], server["entry_point"]) == ("uv", "src/market_mcp/__main__.py")
    assert server["mcp_config"]["command"] == "uv"
    assert server["mcp_config"]["args"][-2:] == ["market-mcp", "serve"]
    assert server["mcp_config"]["env"] == {
        "MARKET_MCP_ORG_NAME": "${user_config.organization_name}",
        "MARKET_MCP_ORG_TIMEZONE": "${user_config.timezone}",
        "MARKET_MCP_ORG_CURRENCY": "${user_config.currency}",
        "MARKET_MCP_DATABASE_URL": "${user_config.database_url}",
        "MARKET_MCP_TOKEN": "${user_config.api_token}",
        "MARKET_MCP_SMTP_URL": "${user_config.smtp_url}",
        "MARKET_MCP_ORG_LEGAL_NAME": "${user_config.legal_name}",
        "MARKET_MCP_ORG_TAX_NUMBER": "${user_config.tax_number}",
        "MARKET_MCP_ORG_TAX_RATE": "${user_config.tax_rate}",
    }
    settings = manifest["user_config"]
    assert {key: option["type"] for key, option in settings.items()} == dict.fromkeys(settings, "string")
    assert [key for key, option in settings.items() if option["required"]] == ["organization_name"]
    # A host substitutes a setting without a value as itself, so every optional one has a default.
    assert {key: option["default"] for key, option in settings.items() if not option["required"]} == {
        "timezone": "Australia/Melbourne",
        "currency": "AUD",
        "legal_name": "",
        "tax_number": "",
        "tax_rate": "",
        "database_url": "",
        "api_token": "",
        "smtp_url": "",
    }
    assert [key for key, option in settings.items() if option.get("sensitive")] == ["api_token", "smtp_url"]
    registered = [spec.name for toolset in TOOLSETS.values() for spec in toolset.tools]
    assert [tool["name"] for tool in manifest["tools"]] == registered


def test_settings_left_blank_in_the_bundle_mean_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "SMTP_URL", "ORG_NAME", "ORG_TIMEZONE", "ORG_CURRENCY", "ORG_TAX_RATE"):
        monkeypatch.setenv(f"MARKET_MCP_{name}", "")
    monkeypatch.setenv("MARKET_MCP_TOKEN", "${user_config.api_token}")  # a host that left it unsubstituted
    settings = Settings()
    assert settings.database_url.startswith("sqlite+aiosqlite:///") and settings.database_url.endswith("market.db")
    assert settings.store_is_local
    assert (settings.smtp_url, settings.token, settings.org_name) == (None, None, None)
    assert (settings.org_timezone, settings.org_currency) == ("Australia/Melbourne", "AUD")
    assert settings.org_tax_rate is None


def test_installed_alone_on_an_empty_computer_it_sets_up_the_organisation_and_acts_for_it_without_a_token(
    bundle: Bundle, tmp_path: Path
) -> None:
    env = bundle.env(
        tmp_path / "home", organization_name="Riverside Farmers' Market", timezone="Pacific/Auckland", currency="NZD"
    )
    with bundle.serve(env) as first:
        context = first.ok("get_context")
        market = first.ok("create_market", name="Saturday Market")
        audit = first.ok("list_audit_log")
    assert {key: context[key] for key in ("organization_name", "organization_slug", "currency", "timezone")} == {
        "organization_name": "Riverside Farmers' Market",
        "organization_slug": "riverside-farmers-market",
        "currency": "NZD",
        "timezone": "Pacific/Auckland",
    }
    assert (context["token_name"], context["scope"]) == (LOCAL_TOKEN, "write")
    assert [(e["tool"], e["token_name"], e["outcome"]) for e in audit["items"]] == [
        ("create_market", LOCAL_TOKEN, "ok")
    ]
    assert (
        "Set up Riverside Farmers' Market (riverside-farmers-market) on this computer, in NZD and Pacific/Auckland."
        in first.stderr
    )

    with bundle.serve(env) as second:
        again = second.ok("get_context")
        markets = second.ok("list_markets")
    assert (again["organization_slug"], again["token_name"]) == ("riverside-farmers-market", LOCAL_TOKEN)
    assert [(m["id"], m["name"]) for m in markets["items"]] == [(market["id"], "Saturday Market")]
    assert "Set up" not in second.stderr
    organisations = json.loads(bundle.run(env, "org", "list", "--json").stdout)
    assert [(o["slug"], o["status"], o["live_tokens"]) for o in organisations] == [
        ("riverside-farmers-market", "active", 1)
    ]


def test_a_token_made_with_the_command_line_on_that_computer_acts_for_the_same_organisation(
    bundle: Bundle, tmp_path: Path
) -> None:
    local = bundle.env(tmp_path / "home", organization_name="Riverside Farmers' Market")
    with bundle.serve(local) as server:
        server.ok("get_context")
    made = bundle.run(local, "token", "create", "--org", "riverside-farmers-market", "--name", "Sam's laptop", "--json")
    token = json.loads(made.stdout)["token"]
    with bundle.serve(
        bundle.env(tmp_path / "home", organization_name="Riverside Farmers' Market", api_token=token)
    ) as server:
        context = server.ok("get_context")
    assert (context["organization_slug"], context["token_name"], context["scope"]) == (
        "riverside-farmers-market",
        "Sam's laptop",
        "write",
    )


async def test_with_a_database_url_in_its_settings_the_bundle_still_needs_a_token(
    bundle: Bundle, tmp_path: Path, db: Database
) -> None:
    shared = db.url.render_as_string(hide_password=False)
    env = bundle.env(tmp_path / "home", organization_name="Riverside Farmers' Market", database_url=shared)
    with bundle.serve(env) as server:
        refused = server.refusal("get_context")
    message = (
        "The API token is missing. MARKET_MCP_ORG_NAME lets the server work without one only on this computer's own "
        "store, and MARKET_MCP_DATABASE_URL names another database, which may be shared. Create a token with "
        "`market-mcp token create --org SLUG` and enter it as the extension's API token (MARKET_MCP_TOKEN)."
    )
    assert refused == {"error": message, "code": 401}
    assert f"warning: {message}" in server.stderr
    async with db.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(Organization))).scalar_one() == 0


async def test_with_a_database_url_and_a_token_the_bundle_acts_for_the_tokens_organisation(
    bundle: Bundle, tmp_path: Path, db: Database, alice: Tenant
) -> None:
    shared = db.url.render_as_string(hide_password=False)
    env = bundle.env(tmp_path / "home", organization_name="Riverside", database_url=shared, api_token=alice.token)
    with bundle.serve(env) as server:
        context = server.ok("get_context")
    assert (context["organization_slug"], context["scope"]) == ("alice", "write")
    async with db.transaction() as session:
        assert (await session.execute(select(Organization.slug))).scalars().all() == ["alice"]


def test_a_timezone_that_is_not_an_iana_name_is_refused_at_start_and_on_every_call(
    bundle: Bundle, tmp_path: Path
) -> None:
    env = bundle.env(tmp_path / "home", organization_name="Riverside Farmers' Market", timezone="Melbourne")
    with bundle.serve(env) as server:
        read = server.refusal("get_context")
        write = server.refusal("create_market", name="Saturday Market")
    message = (
        "The timezone (MARKET_MCP_ORG_TIMEZONE) must be an IANA name such as Australia/Melbourne or Europe/London; "
        "got 'Melbourne'. Change it in the extension's settings (or the environment) and restart the server."
    )
    assert read == write == {"error": message, "code": 422}
    assert f"warning: {message}" in server.stderr
