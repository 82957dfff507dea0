"""Toolsnaps: every tool's published contract is a checked-in snapshot, reviewed like code.

A change to a name, description, schema or annotation fails here until the snapshots are
regenerated on purpose: UPDATE_TOOLSNAPS=true pytest tests/test_toolsnaps.py
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from market_mcp.catalog import SPECS
from market_mcp.config import Settings
from market_mcp.db import Database
from market_mcp.server import build_server
from market_mcp.tools import TOOLSETS

SNAPS = Path(__file__).parent / "__toolsnaps__"
FIELDS = (
    "name",
    "title",
    "description",
    "inputSchema",
    "outputSchema",
    "annotations",
    "_meta",
)  # _meta: a view (MCP Apps)
HOW_TO_UPDATE = "run UPDATE_TOOLSNAPS=true pytest tests/test_toolsnaps.py"


def updating() -> bool:
    return os.environ.get("UPDATE_TOOLSNAPS") == "true"


def render(snapshot: dict[str, Any]) -> str:
    return json.dumps(snapshot, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def published() -> dict[str, dict[str, Any]]:
    """Each tool as tools/list gives it to a client, cut down to the contract."""

    async def fetch() -> dict[str, dict[str, Any]]:
        db = Database("sqlite+aiosqlite:///:memory:")  # tools/list never touches the store
        server = build_server(Settings(database_url=str(db.url)), db=db, token="mk_org_unused")
        async with Client(server) as client:
            tools = (await client.list_tools()).tools
        await db.dispose()
        dumped = {t.name: t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools}
        return {name: {k: tool[k] for k in FIELDS if k in tool} for name, tool in dumped.items()}

    return asyncio.run(fetch())


@pytest.fixture(scope="module")
def snapshots() -> dict[str, dict[str, Any]]:
    return published()


def registered() -> list[str]:
    return [spec.name for toolset in TOOLSETS.values() for spec in toolset.tools]


@pytest.mark.parametrize("name", registered())
def test_the_tool_matches_its_snapshot(snapshots: dict[str, dict[str, Any]], name: str) -> None:
    path = SNAPS / f"{name}.json"
    wanted = render(snapshots[name])
    if updating():
        SNAPS.mkdir(exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != wanted:
            path.write_text(wanted, encoding="utf-8")
        return
    assert path.exists(), f"{name} has no snapshot ({path.name}); {HOW_TO_UPDATE}"
    current = path.read_text(encoding="utf-8")
    assert current == wanted, f"{name} differs from {path.name}; if the change is intended, {HOW_TO_UPDATE}"


def test_every_snapshot_has_a_tool(snapshots: dict[str, dict[str, Any]]) -> None:
    orphans = sorted(p for p in SNAPS.glob("*.json") if p.stem not in snapshots)
    if updating():
        for path in orphans:
            path.unlink()
        return
    assert [p.name for p in orphans] == [], f"snapshots of tools that no longer exist; {HOW_TO_UPDATE}"


def test_a_snapshot_holds_exactly_the_contract_fields(snapshots: dict[str, dict[str, Any]]) -> None:
    # Tools without annotations or an output schema would drop a field; the registry forbids both. Only a tool
    # with a view (MCP Apps) has _meta.
    assert {name: sorted(s) for name, s in snapshots.items()} == {
        name: sorted(f for f in FIELDS if f != "_meta" or SPECS[name].app) for name in snapshots
    }
