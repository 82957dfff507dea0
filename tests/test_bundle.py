"""`market-mcp bundle`: the .mcpb Claude Desktop installs with one click."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from market_mcp.config import Settings
from market_mcp.db import Database
from market_mcp.tools import TOOLSETS
from tests.factories import Tenant


def built(tmp_path: Path) -> Path:
    """`market-mcp bundle --output …`, as a person runs it; the path it prints."""
    done = subprocess.run(
        [sys.executable, "-m", "market_mcp", "bundle", "--output", str(tmp_path / "market-mcp.mcpb")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Claude Desktop" in done.stderr
    path = Path(done.stdout.strip())
    assert path == tmp_path / "market-mcp.mcpb"
    return path


def test_the_bundle_is_a_uv_server_that_asks_for_the_token_as_a_secret(tmp_path: Path) -> None:
    with zipfile.ZipFile(built(tmp_path)) as bundle:
        names = set(bundle.namelist())
        manifest = json.loads(bundle.read("manifest.json"))
    assert {"manifest.json", "pyproject.toml", "README.md", "src/market_mcp/__main__.py"} <= names
    assert "src/market_mcp/db/migrations/versions/0002_booking_cancel_settlement.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert (manifest["manifest_version"], manifest["name"]) == ("0.4", "market-mcp")
    server = manifest["server"]
    assert (server["type"], server["entry_point"]) == ("uv", "src/market_mcp/__main__.py")
    assert server["mcp_config"]["command"] == "uv"
    assert server["mcp_config"]["args"][-2:] == ["market-mcp", "serve"]
    assert server["mcp_config"]["env"]["MARKET_MCP_TOKEN"] == "${user_config.api_token}"
    token = manifest["user_config"]["api_token"]
    assert (token["type"], token["sensitive"], token["required"]) == ("string", True, True)
    assert manifest["user_config"]["smtp_url"]["sensitive"] is True
    registered = [spec.name for toolset in TOOLSETS.values() for spec in toolset.tools]
    assert [tool["name"] for tool in manifest["tools"]] == registered


def test_settings_left_blank_in_the_bundle_mean_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MARKET_MCP_DATABASE_URL", "MARKET_MCP_SMTP_URL", "MARKET_MCP_TOKEN"):
        monkeypatch.setenv(name, "")
    settings = Settings()
    assert settings.database_url.startswith("sqlite+aiosqlite:///") and settings.database_url.endswith("market.db")
    assert settings.smtp_url is None and settings.token is None


async def test_the_server_runs_from_the_unpacked_bundle(tmp_path: Path, db: Database, alice: Tenant) -> None:
    # What the bundle's uv would run, minus uv: the bundle's own source on the path, serving over stdio.
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(built(tmp_path)) as bundle:
        bundle.extractall(unpacked)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_MCP_")}
    env |= {
        "PYTHONPATH": str(unpacked / "src"),
        "MARKET_MCP_TOKEN": alice.token,
        "MARKET_MCP_DATABASE_URL": str(db.url),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import market_mcp, sys; print(market_mcp.__file__, file=sys.stderr, flush=True); "
            "from market_mcp.cli import main; main(['serve'])",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert server.stdin is not None and server.stdout is not None and server.stderr is not None
    hello = {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "claude-desktop", "version": "1"},
    }
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "get_context", "arguments": {}}},
    ]
    replies = []
    for request in requests:
        server.stdin.write(json.dumps(request) + "\n")
        server.stdin.flush()
        if "id" in request:
            replies.append(json.loads(server.stdout.readline()))
    server.stdin.close()
    server.wait(timeout=30)
    assert str(unpacked / "src" / "market_mcp") in server.stderr.readline()  # the bundle's copy ran
    context = replies[-1]["result"]["structuredContent"]
    assert (context["organization_slug"], context["scope"]) == ("alice", "write")
