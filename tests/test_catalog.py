"""The tool catalog cached between runs: what a start reads from the cache is exactly what it would generate,
and a cache that is damaged or cannot be written changes nothing but the speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# A fresh process: the definitions, and how many tools it had to build to give them.
PROBE = """
import json
from market_mcp import catalog
found = catalog.definitions()
print(json.dumps({"built": len(catalog._tools),
                  "tools": [d.model_dump(mode="json", by_alias=True, exclude_none=True) for d in found.values()]}))
"""


def start(cache: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_MCP_")} | {
        "MARKET_MCP_CACHE_DIR": str(cache)
    }
    ran = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


def test_a_second_start_reads_the_catalog_it_would_generate_and_builds_no_tool(tmp_path: Path) -> None:
    first = start(tmp_path)
    assert first["built"] == len(first["tools"]) > 60  # generated: every tool built
    (cached,) = (tmp_path / "market-mcp").glob("tools-*.json")

    second = start(tmp_path)
    assert second["built"] == 0
    assert second["tools"] == first["tools"]
    assert json.loads(cached.read_text())["definitions"] == first["tools"]
    dashboard = next(tool for tool in second["tools"] if tool["name"] == "get_dashboard")
    assert dashboard["_meta"]["ui"] == {"resourceUri": "ui://market-mcp/dashboard.html"}  # a view's link, cached too


def test_a_damaged_cache_is_generated_again_and_replaced(tmp_path: Path) -> None:
    good = start(tmp_path)
    (cached,) = (tmp_path / "market-mcp").glob("tools-*.json")
    cached.write_text(json.dumps(good["tools"])[:5000])  # cut short, as by a full disk

    again = start(tmp_path)
    assert again["built"] == len(good["tools"])
    assert again["tools"] == good["tools"]
    assert json.loads(cached.read_text())["definitions"] == good["tools"]


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    first, second = start(blocked), start(blocked)
    assert first["built"] == second["built"] == len(first["tools"])
    assert first["tools"] == second["tools"]


def test_the_cache_key_changes_with_any_source_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from market_mcp import catalog

    copy = tmp_path / "market_mcp"
    shutil.copytree(catalog.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(catalog, "PACKAGE", copy)
    before = catalog._key()
    tool = copy / "tools" / "vendors.py"
    tool.write_text(tool.read_text().replace("Stallholders by name", "The stallholders by name"))
    assert catalog._key() != before
