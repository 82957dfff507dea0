"""The README's tool list is generated from the registry; this keeps it current."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from market_mcp.tools import TOOLSETS
from tests.factories import Tenant
from tests.test_http import http_server

README = Path(__file__).parent.parent / "README.md"
START, END = "<!-- tools:start -->", "<!-- tools:end -->"


def tool_table() -> str:
    rows = ["| toolset | tool | kind | what it does |", "| --- | --- | --- | --- |"]
    for toolset in TOOLSETS.values():
        for spec in toolset.tools:
            kind = "read" if not spec.writes else ("write, emails" if spec.annotations.open_world_hint else "write")
            summary = re.split(r"(?<=\.)\s(?=[A-Z])", spec.description, maxsplit=1)[0]
            rows.append(f"| {toolset.name} | `{spec.name}` | {kind} | {summary} |")
    return "\n".join(rows)


def test_the_readme_lists_every_tool_of_the_registry() -> None:
    text = README.read_text()
    before, rest = text.split(START)
    _, after = rest.split(END)
    wanted = f"{before}{START}\n{tool_table()}\n{END}{after}"
    if os.environ.get("UPDATE_README") == "true" and text != wanted:
        README.write_text(wanted)
        return
    assert text == wanted, "The README's tool list is stale: run UPDATE_README=true pytest tests/test_readme.py"


def test_the_readme_test_command_is_what_ci_runs() -> None:
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text().splitlines()
    command = next(line for line in ci if line.startswith("python3 -m venv"))
    assert f"\n{command}\n" in README.read_text()
    # …and then the same suite on PostgreSQL
    assert any(line.startswith("MARKET_MCP_TEST_POSTGRES_URL=") and line.endswith("pytest -q -n auto") for line in ci)


def test_every_link_of_the_readme_stays_in_the_repository() -> None:
    text = README.read_text()
    targets = re.findall(r"\]\(([^)]+)\)", text) + re.findall(r"<(https?://[^>]+)>", text)
    outside = [t for t in targets if "://" in t or t.startswith("..") or not (README.parent / t).exists()]
    assert targets and outside == []


def test_the_readmes_inspector_commands_are_the_ones_ci_runs() -> None:
    readme, ci = README.read_text(), (README.parent / ".ci" / "inspector").read_text()
    for flags in ('--transport http --header "Authorization: Bearer $TOKEN"', "--method tools/list", "--cli -e"):
        assert flags in " ".join(readme.split()) and flags in " ".join(ci.split()), flags


async def test_the_readmes_python_snippet_runs_as_pasted(alice: Tenant, tmp_path: Path) -> None:
    snippet = README.read_text().split("From Python,", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "summary.py"
    script.write_text(snippet)
    with http_server(alice.db, "--stateless") as url:
        done = subprocess.run(
            [sys.executable, str(script)],
            env={**os.environ, "TOKEN": alice.token, "MARKET_MCP_URL": f"{url}/mcp"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("No market dates are scheduled.")
