"""The floor: the SDK's own server with one trivial tool, as fast as an MCP call can be on each transport.

`python bench/echo_server.py stdio` or `python bench/echo_server.py http PORT` (stateless, JSON answers:
the same options `market-mcp serve --transport http --stateless` uses), or `echo_server()` in-process.
"""

from __future__ import annotations

import sys

from mcp.server import MCPServer


def echo_server() -> MCPServer:
    server = MCPServer(name="echo")

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    return server


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        echo_server().run("stdio")
    else:
        import uvicorn

        app = echo_server().streamable_http_app(stateless_http=True, json_response=True)
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
