"""connector: search and fetch in the shapes ChatGPT's connectors and deep research expect."""

from __future__ import annotations

from market_mcp.schemas.connector import FetchedRecord, RecordId, SearchQuery, SearchResults
from market_mcp.services import connector
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("connector", "Search and fetch: find any record by name and read it, for search-style clients.")


@toolset.read("Search")
async def search(org: Org, query: SearchQuery) -> SearchResults:
    """Find markets, dates, vendors, applications, orders or bookings by name, email, date, space or "order 12"; ids
    like "vendor:55" go to fetch."""
    return await connector.search(org, query)


@toolset.read("Fetch record")
async def fetch(org: Org, id: RecordId) -> FetchedRecord:
    """Read a record found by search (e.g. "vendor:55") as text and key fields. Otherwise prefer get_* tools."""
    return await connector.fetch(org, id)
