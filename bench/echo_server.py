"""The floors: the SDK's own server with one trivial tool, as fast as an MCP call can be on each transport; and
beside it, for each read question, a tool that answers instantly with market-mcp's own answer.

`python bench/echo_server.py stdio [ANSWERS]` or `python bench/echo_server.py http [ANSWERS] PORT` (stateless,
JSON answers, under market-mcp's own uvicorn configuration: as `market-mcp serve --transport http --stateless`
runs), or `echo_server()` in-process. ANSWERS is a JSON file of {"tool", "output_schema", "structured"}: each becomes a tool
`same_<tool>` that returns that structured result (and its JSON as text, as market-mcp does) under that output
schema. The client validates it and the transport carries it exactly as for market-mcp, so the difference
between the two is the work market-mcp does to find the answer, and the rest is the answer's size.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mcp.server import MCPServer
from mcp.types import CallToolResult, TextContent


def echo_server(answers: list[dict[str, Any]] | None = None) -> MCPServer:
    server = MCPServer(name="echo")

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    for answer in answers or []:
        _add_same_answer(server, answer)
    return server


def _add_same_answer(server: MCPServer, answer: dict[str, Any]) -> None:
    structured = answer["structured"]
    text = json.dumps(structured, separators=(",", ":"), ensure_ascii=False)

    def same() -> CallToolResult:
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)

    name = f"same_{answer['tool']}"
    server.add_tool(same, name=name, description=f"{answer['tool']}'s answer, at once.", structured_output=False)
    tool = server._tool_manager.get_tool(name)  # noqa: SLF001  (the SDK has no public way to set a schema)
    assert tool is not None
    tool.__dict__["output_schema"] = answer["output_schema"]  # advertised in tools/list: the client validates


def load(path: str | None) -> list[dict[str, Any]]:
    return json.loads(Path(path).read_text()) if path else []


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        echo_server(load(sys.argv[2] if len(sys.argv) > 2 else None)).run("stdio")
    else:  # uvicorn configured as `market-mcp serve --transport http` configures it (its HTTP/1.1 protocol too)
        import uvicorn

        from market_mcp.config import Settings
        from market_mcp.serving import uvicorn_config

        server = echo_server(load(sys.argv[2] if len(sys.argv) > 3 else None))
        app = server.streamable_http_app(stateless_http=True, json_response=True)
        settings = Settings(log_level="WARNING")
        uvicorn.Server(uvicorn_config(app, settings, host="127.0.0.1", port=int(sys.argv[-1]))).run()
