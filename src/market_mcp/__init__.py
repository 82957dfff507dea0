"""market-mcp: run a market by chatting with an AI assistant."""

__version__ = "0.1.0"
