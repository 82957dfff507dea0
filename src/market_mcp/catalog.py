"""The tool catalog: what tools/list says of each tool, and the tools themselves, each built once.

Building a tool means pydantic generating its argument model and two JSON schemas; for 63 tools that is
about half a second, most of what starting a server costs. What tools/list says depends only on this
package's code and the versions of pydantic and the SDK, so the definitions are kept in the user's cache
directory under a key made of exactly those: a start that finds them answers tools/list without building
anything, and each tool is built on its first call instead (a few milliseconds). Any change to the code or
an upgrade makes a new key, and the definitions are generated again. A cache that cannot be read or written
is not an error: the definitions are generated, as they would be without it.

The cache also says each tool's toolset and whether it writes, so that a start that finds it answers tools/list
(filtered by --toolsets, --read-only and the token's scope) without importing the tool modules at all: they
import the services and the store, most of a start's time. `listed()` is that cached view; SPECS (the tools
themselves) and `tool()` import the tool modules on first use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp.types import Tool as Definition

if TYPE_CHECKING:
    from mcp.server.mcpserver.tools import Tool

    from market_mcp.tools.registry import ToolSpec

logger = logging.getLogger("market_mcp")

PACKAGE = Path(__file__).parent

_tools: dict[str, Tool] = {}
_listed: dict[str, Listed] | None = None


@dataclass(frozen=True)
class Listed:
    """A tool as tools/list needs it: its definition, its toolset, and whether it writes."""

    definition: Definition
    toolset: str
    writes: bool


def __getattr__(name: str) -> Any:
    """SPECS, every tool by name in catalog order: imported (with the tool modules) on first use."""
    if name == "SPECS":
        from market_mcp.tools import TOOLSETS

        specs = {spec.name: spec for toolset in TOOLSETS.values() for spec in toolset.tools}
        globals()["SPECS"] = specs
        return specs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _specs() -> dict[str, ToolSpec]:
    return globals().get("SPECS") or __getattr__("SPECS")  # type: ignore[no-any-return]


def tool(name: str) -> Tool:
    """The tool as the SDK runs it (argument validation, result conversion), built on first use."""
    found = _tools.get(name)
    if found is None:
        from mcp.server.mcpserver.tools import Tool

        from market_mcp import apps

        spec = _specs()[name]
        found = Tool.from_function(
            spec.fn,
            title=spec.title,
            description=spec.description,
            annotations=spec.annotations,
            meta=apps.tool_meta(spec.app) if spec.app else None,
        )
        _without_titles(found.parameters)
        _without_titles(found.output_schema)
        _tools[name] = found
    return found


def definitions() -> dict[str, Definition]:
    """Every tool as tools/list describes it, by name, in catalog order."""
    return {name: item.definition for name, item in listed().items()}


def listed() -> dict[str, Listed]:
    """Every tool as tools/list needs it, by name, in catalog order: from the cache if it is there."""
    global _listed
    if _listed is None:
        _listed = _cached() or _generated()
    return _listed


def _generated() -> dict[str, Listed]:
    made = {}
    for name, spec in _specs().items():
        built = tool(name)
        definition = Definition(
            name=built.name,
            title=built.title,
            description=built.description,
            input_schema=lean(built.parameters, arguments=True),
            output_schema=lean(built.output_schema, arguments=False) if built.output_schema else None,
            annotations=built.annotations,
            meta=built.meta,
        )
        made[name] = Listed(definition, spec.toolset, spec.writes)
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


def _cached() -> dict[str, Listed] | None:
    """The cached catalog, or None. Its key covers every source file, so it lists exactly the tools SPECS would."""
    try:
        stored = json.loads(_cache_file().read_text())
        found = {}
        for item, toolset, writes in zip(stored["definitions"], stored["toolsets"], stored["writes"], strict=True):
            definition = Definition.model_validate(item)
            if not isinstance(toolset, str) or not isinstance(writes, bool):
                return None
            found[definition.name] = Listed(definition, toolset, writes)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found or None


def _store(made: dict[str, Listed]) -> None:
    try:
        path = _cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        items = list(made.values())
        stored = {
            "definitions": [i.definition.model_dump(mode="json", by_alias=True, exclude_none=True) for i in items],
            "toolsets": [i.toolset for i in items],
            "writes": [i.writes for i in items],
        }
        partial.write_text(json.dumps(stored))
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


def lean(schema: dict[str, Any], *, arguments: bool) -> dict[str, Any]:
    """The same schema in fewer characters, for a catalog read on every conversation and validated on every
    call: $defs used once are inlined, `X | None` is `"type": [x, "null"]` instead of an anyOf that repeats the
    description, and defaults of null and the id's storage bound (the server still refuses a larger id) go.

    Arguments: an optional argument is advertised without null (leaving it out says the same; null is still
    accepted); a pattern, a minimum length of one or a minimum of 0 is left to the server, whose refusal says what
    it wants.
    Results: types only, no prose, formats, enumerations or required lists: no model reads a result's schema,
    every client that validates one does so on every call, and what each field means is in the tools' descriptions and the README.
    Rows inside a result are typed only as arrays and objects (an order's bookings, a vendor's
    orders): they are the rows a get_* or list_* tool describes, and repeating them in every tool that returns
    their parent would double the catalog. A list page's own rows (`items`) keep their fields.
    """
    from market_mcp.schemas.common import MAX_ID

    uses: dict[str, int] = {}
    _count_refs(schema, uses)
    defs = schema.get("$defs", {})
    once = {name for name, n in uses.items() if n == 1 and name in defs}
    made = _leaner(schema, {name: defs[name] for name in once}, MAX_ID)
    if arguments:
        required = set(made.get("required", ()))
        for name, argument in made.get("properties", {}).items():
            if name not in required:
                _not_null(argument)
                default = argument.get("default", True)
                if default is False or default == "" or default == [] or name == "offset":  # what leaving it out says
                    del argument["default"]
            if name in ("limit", "detail"):  # the server instructions say what leaving them out gives: 20 compact rows
                argument.pop("default", None)
            for rules in (argument, argument.get("items", {})):  # checked by the server, whose refusal names the fix
                rules.pop("pattern", None)
                if rules.get("minLength") == 1:
                    del rules["minLength"]
                if rules.get("minimum") == 0:  # money, capacity, counts: never negative, as a person expects
                    del rules["minimum"]
            if name.endswith(("_id", "_ids")) or name == "offset":  # an id is at least 1: no need to say so
                for bounds in (argument, argument.get("items", {})):
                    bounds.pop("minimum", None)
                    bounds.pop("maximum", None)
    else:
        made = _types_only(made)
        for name, field in made.get("properties", {}).items():
            if name not in ("emails", "items"):
                _shallow(field)
        uses = {}
        _count_refs({k: v for k, v in made.items() if k != "$defs"}, uses)
        once |= set(made.get("$defs", {})) - set(uses)  # rows now typed as bare objects: their $defs go
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


def _leaner(value: Any, inline: dict[str, Any], max_id: int) -> Any:
    if isinstance(value, list):
        return [_leaner(item, inline, max_id) for item in value]
    if not isinstance(value, dict):
        return value
    ref = value.get("$ref", "").removeprefix("#/$defs/")
    if ref in inline:
        value = {**inline[ref], **{k: v for k, v in value.items() if k != "$ref"}}
    made: dict[str, Any] = {}
    for key, item in value.items():
        if key in ("properties", "$defs"):
            made[key] = {name: _leaner(sub, inline, max_id) for name, sub in item.items()}
        elif key in ("default", "examples", "enum", "const"):
            made[key] = item
        else:
            made[key] = _leaner(item, inline, max_id)
    if "default" in made and made["default"] is None:
        del made["default"]
    if made.get("maximum") == max_id:
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
        elif key not in ("description", "format", "required", "default", "enum"):
            made[key] = _types_only(item)
    return made


def _shallow(field: dict[str, Any]) -> None:
    """A result's nested rows as their bare type: an array of objects, an object."""
    for key in ("properties", "additionalProperties"):
        field.pop(key, None)
    if isinstance(field.get("items"), dict) and ({"properties", "$ref"} & set(field["items"])):
        field["items"] = {"type": "object"}
