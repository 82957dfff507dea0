"""The README's tool list is generated from the registry; this keeps it current."""

from __future__ import annotations

import os
import re
from pathlib import Path

from market_mcp.tools import TOOLSETS

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
