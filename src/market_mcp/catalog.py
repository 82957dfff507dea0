"""The tool catalog: what tools/list says of each tool, and the tools themselves, each built once.

Building a tool means pydantic generating its argument model and two JSON schemas; for 63 tools that is
about half a second, most of what starting a server costs. What tools/list says depends only on this
package's code and the versions of pydantic and the SDK, so the definitions are kept in the user's cache
directory under a key made of exactly those: a start that finds them answers tools/list without building
anything, and each tool is built on its first call instead (a few milliseconds). Any change to the code or
an upgrade makes a new key, and the definitions are generated again. A cache that cannot be read or written
is not an error: the definitions are generated, as they would be without it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from importlib.metadata import version
from pathlib import Path
from typing import Any

from mcp.server.mcpserver.tools import Tool
from mcp.types import Tool as Definition

from market_mcp.tools import TOOLSETS
from market_mcp.tools.registry import ToolSpec

logger = logging.getLogger("market_mcp")

PACKAGE = Path(__file__).parent
SPECS: dict[str, ToolSpec] = {spec.name: spec for toolset in TOOLSETS.values() for spec in toolset.tools}

_tools: dict[str, Tool] = {}
_definitions: dict[str, Definition] | None = None


def tool(name: str) -> Tool:
    """The tool as the SDK runs it (argument validation, result conversion), built on first use."""
    found = _tools.get(name)
    if found is None:
        spec = SPECS[name]
        found = Tool.from_function(
            spec.fn, title=spec.annotations.title, description=spec.description, annotations=spec.annotations
        )
        _without_titles(found.parameters)
        _without_titles(found.output_schema)
        _tools[name] = found
    return found


def definitions() -> dict[str, Definition]:
    """Every tool as tools/list describes it, by name, in catalog order."""
    global _definitions
    if _definitions is None:
        _definitions = _cached() or _generated()
    return _definitions


def _generated() -> dict[str, Definition]:
    made = {}
    for name in SPECS:
        built = tool(name)
        made[name] = Definition(
            name=built.name,
            title=built.title,
            description=built.description,
            input_schema=built.parameters,
            output_schema=built.output_schema,
            annotations=built.annotations,
        )
    _store(made)
    return made


def _cache_file() -> Path:
    root = os.environ.get("MARKET_MCP_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Path(root) / "market-mcp" / f"tools-{_key()}.json"


def _key() -> str:
    """A digest of everything the definitions are made from: this package's source and the libraries' versions."""
    digest = hashlib.sha256()
    for library in ("mcp", "pydantic", "pydantic-core"):
        digest.update(f"{library}=={version(library)}\n".encode())
    for source in sorted(PACKAGE.rglob("*.py")):
        digest.update(str(source.relative_to(PACKAGE)).encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:32]


def _cached() -> dict[str, Definition] | None:
    try:
        stored = json.loads(_cache_file().read_text())
        found = {item["name"]: Definition.model_validate(item) for item in stored}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if list(found) == list(SPECS) else None


def _store(made: dict[str, Definition]) -> None:
    try:
        path = _cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(
            json.dumps([d.model_dump(mode="json", by_alias=True, exclude_none=True) for d in made.values()])
        )
        partial.replace(path)  # atomic: a concurrent start reads the old file or the whole new one
    except OSError as exc:
        logger.debug("tool catalog not cached: %s", exc)


def _without_titles(schema: Any) -> None:
    """Drop pydantic's generated titles ("Market Id" for market_id): noise in a catalog read every conversation."""
    if isinstance(schema, dict):
        schema.pop("title", None)
        for key, value in schema.items():
            if key in ("properties", "$defs"):
                for sub in value.values():
                    _without_titles(sub)
            elif key not in ("default", "examples", "enum", "const"):
                _without_titles(value)
    elif isinstance(schema, list):
        for item in schema:
            _without_titles(item)
