"""connector: search and fetch in the shapes ChatGPT's connectors and deep research expect."""

from __future__ import annotations

from market_mcp.schemas.connector import FetchedRecord, RecordId, SearchQuery, SearchResults
from market_mcp.services import connector
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("connector", "Search and fetch: find any record by name and read it, for search-style clients.")


@toolset.read("Search")
async def search(org: Org, query: SearchQuery) -> SearchResults:
    """Find markets, market dates, vendors, applications, orders and bookings by name, email, date (YYYY-MM-DD),
    space number or order number ("order 12"), ignoring case. Returns up to 50 results, best matches first, each
    with an id such as "vendor:55" to pass to fetch. Made for search-style clients (ChatGPT connectors, deep
    research); otherwise prefer the list_* tools, which filter and page."""
    return await connector.search(org, query)


@toolset.read("Fetch record")
async def fetch(org: Org, id: RecordId) -> FetchedRecord:
    """Read one record found by search, by its id (e.g. "vendor:55", "order:12"): the record as plain text plus
    its key fields and related ids as metadata. Made for search-style clients; otherwise prefer the get_* tools
    (get_vendor, get_order, …), which return every field."""
    return await connector.fetch(org, id)
