"""A bare in-process MCP client, for what lies beyond tool calls: resources, prompts, completion, log messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client

from market_mcp.config import Settings
from market_mcp.server import build_server
from tests.factories import Tenant


@asynccontextmanager
async def connect(
    tenant: Tenant, *, token: str | None = None, rate_limit: int = 100_000, **options: Any
) -> AsyncIterator[Client]:
    """A client of a server acting for `tenant` (or `token`); `options` are Client's own (mode, logging_callback,
    log_level …)."""
    server = build_server(
        Settings(database_url=str(tenant.db.url), rate_limit=rate_limit), db=tenant.db, token=token or tenant.token
    )
    async with Client(server, **options) as client:
        yield client
