"""The store: tables, the async engine and its sessions, migrations."""

from market_mcp.db.engine import Database

__all__ = ["Database"]
