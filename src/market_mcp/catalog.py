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

from market_mcp.schemas.common import MAX_ID
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
            spec.fn, title=spec.title, description=spec.description, annotations=spec.annotations
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
            input_schema=lean(built.parameters, arguments=True),
            output_schema=lean(built.output_schema, arguments=False, nested=not SPECS[name].writes)
            if built.output_schema
            else None,
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


# Which types a keyword constrains: two anyOf branches merge into one schema with a type list only when no
# keyword of one would constrain the other's values.
_APPLIES_TO = {
    **dict.fromkeys(
        ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"), {"integer", "number"}
    ),
    **dict.fromkeys(("minLength", "maxLength", "pattern", "format"), {"string"}),
    **dict.fromkeys(("items", "minItems", "maxItems", "uniqueItems", "prefixItems"), {"array"}),
    **dict.fromkeys(
        ("properties", "required", "additionalProperties", "minProperties", "maxProperties", "propertyNames"),
        {"object"},
    ),
}


def lean(schema: dict[str, Any], *, arguments: bool, nested: bool = True) -> dict[str, Any]:
    """The same schema in fewer characters, for a catalog read on every conversation and validated on every
    call: $defs used once are inlined, `X | None` is `"type": [x, "null"]` instead of an anyOf that repeats the
    description, and defaults of null and the id's storage bound (the server still refuses a larger id) go.

    Arguments: an optional argument is advertised without null (leaving it out says the same; null is still
    accepted). Results: types only, no prose, formats or required lists: no model reads a result's schema, every
    client that validates one does so on every call, and what each field means is in the tools' descriptions
    and the README. A write's result, without `nested`, types the rows inside it only as arrays and objects: they
    are the rows its record's get_* tool describes (an order's bookings), and 40 writes repeating them would
    double the catalog."""
    uses: dict[str, int] = {}
    _count_refs(schema, uses)
    defs = schema.get("$defs", {})
    once = {name for name, n in uses.items() if n == 1 and name in defs}
    made = _leaner(schema, {name: defs[name] for name in once})
    if arguments:
        required = set(made.get("required", ()))
        for name, argument in made.get("properties", {}).items():
            if name not in required:
                _not_null(argument)
                default = argument.get("default", True)
                if default is False or default == "" or default == [] or name == "offset":  # what leaving it out says
                    del argument["default"]
            if name.endswith(("_id", "_ids")) or name == "offset":  # an id is at least 1: no need to say so
                for bounds in (argument, argument.get("items", {})):
                    bounds.pop("minimum", None)
                    bounds.pop("maximum", None)
    else:
        made = _types_only(made)
        if not nested:
            for name, field in made.get("properties", {}).items():
                if name != "emails":
                    _shallow(field)
    kept = {name: body for name, body in made.get("$defs", {}).items() if name not in once}
    if kept:
        made["$defs"] = kept
    else:
        made.pop("$defs", None)
    return made


def _count_refs(value: Any, uses: dict[str, int]) -> None:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            uses[ref.removeprefix("#/$defs/")] = uses.get(ref.removeprefix("#/$defs/"), 0) + 1
        for item in value.values():
            _count_refs(item, uses)
    elif isinstance(value, list):
        for item in value:
            _count_refs(item, uses)


def _leaner(value: Any, inline: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_leaner(item, inline) for item in value]
    if not isinstance(value, dict):
        return value
    ref = value.get("$ref", "").removeprefix("#/$defs/")
    if ref in inline:
        value = {**inline[ref], **{k: v for k, v in value.items() if k != "$ref"}}
    made: dict[str, Any] = {}
    for key, item in value.items():
        if key in ("properties", "$defs"):
            made[key] = {name: _leaner(sub, inline) for name, sub in item.items()}
        elif key in ("default", "examples", "enum", "const"):
            made[key] = item
        else:
            made[key] = _leaner(item, inline)
    if "default" in made and made["default"] is None:
        del made["default"]
    if made.get("maximum") == MAX_ID:
        del made["maximum"]
    if made.get("additionalProperties") is True:
        del made["additionalProperties"]
    merged = _merged(made["anyOf"]) if "anyOf" in made else None
    if merged is not None:
        del made["anyOf"]
        made = merged | made  # the property's own description wins over a branch's
    return made


def _merged(options: list[Any]) -> dict[str, Any] | None:
    """anyOf branches of distinct types as one schema with a type list, or None where that would say less."""
    types: list[str] = []
    merged: dict[str, Any] = {}
    origin: dict[str, set[str]] = {}
    for option in options:
        kinds = option.get("type") if isinstance(option, dict) else None
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not kinds or "$ref" in option or "anyOf" in option:
            return None
        for key, item in option.items():
            if key in ("type", "description"):
                continue
            if key in merged and merged[key] != item:
                return None
            merged[key] = item
            origin.setdefault(key, set()).update(kinds)
        types += kinds
    for key, kinds in origin.items():
        others = set(types) - kinds
        if key in ("enum", "const"):
            if others - {"null"}:
                return None
            if others:  # an enum constrains every value: null must be one of them
                merged[key] = [*merged[key], None] if key == "enum" else merged[key]
                if key == "const":
                    return None
        elif key not in _APPLIES_TO or _APPLIES_TO[key] & others:
            return None
    return {"type": list(dict.fromkeys(types)), **merged}


def _not_null(argument: dict[str, Any]) -> None:
    kinds = argument.get("type")
    if isinstance(kinds, list) and "null" in kinds:
        kept = [kind for kind in kinds if kind != "null"]
        argument["type"] = kept[0] if len(kept) == 1 else kept
        if "enum" in argument:
            argument["enum"] = [value for value in argument["enum"] if value is not None]


def _types_only(value: Any) -> Any:
    if isinstance(value, list):
        return [_types_only(item) for item in value]
    if not isinstance(value, dict):
        return value
    made = {}
    for key, item in value.items():
        if key == "properties":
            made[key] = {name: _types_only(sub) for name, sub in item.items()}
        elif key == "$defs":
            made[key] = {name: _types_only(sub) for name, sub in item.items()}
        elif key not in ("description", "format", "required", "default"):
            made[key] = _types_only(item)
    return made


def _shallow(field: dict[str, Any]) -> None:
    """A result's nested rows as their bare type: an array of objects, an object."""
    for key in ("properties", "additionalProperties"):
        field.pop(key, None)
    if isinstance(field.get("items"), dict) and "properties" in field["items"]:
        field["items"] = {"type": "object"}
