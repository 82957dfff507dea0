"""The benchmark suite of issue 7: market-mcp against the MCP SDK's own floor and a raw-SQL peer (`python -m bench`)."""
