"""Test helpers: organisations with tokens, and a client that asserts the result shape every call."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mcp import Client
from mcp.types import CallToolResult

from market_mcp.auth import TokenIdentity
from market_mcp.config import Settings
from market_mcp.db import Database
from market_mcp.server import build_server
from market_mcp.services import organizations


def today(tz: str = "Australia/Melbourne") -> date:
    return datetime.now(ZoneInfo(tz)).date()


def next_weekday(day_of_week: int, *, weeks_ahead: int = 1) -> date:
    """The date of day_of_week (0 = Sunday) at least `weeks_ahead` weeks from today."""
    start = today() + timedelta(weeks=weeks_ahead)
    return start + timedelta(days=(day_of_week - (start.weekday() + 1) % 7) % 7)


@dataclass
class Tenant:
    db: Database
    org_id: int
    slug: str
    token: str
    token_id: int
    read_token: str

    @asynccontextmanager
    async def client(
        self, *, read_only: bool = False, token: str | None = None, clock: Callable[[], datetime] | None = None
    ) -> AsyncIterator[Caller]:
        """An in-process MCP client; `clock` stands in for the server's clock (move time without sleeping)."""
        server = build_server(
            Settings(database_url=str(self.db.url), rate_limit=100_000),  # tests call faster than people
            db=self.db,
            token=token or (self.read_token if read_only else self.token),
            **({"clock": clock} if clock else {}),
        )
        async with Client(server) as client:
            yield Caller(client)

    def identity(self, timezone: str = "Australia/Melbourne") -> TokenIdentity:
        """This organisation as a read token sees it, for calling services directly (OrgContext.of)."""
        return TokenIdentity(
            token_id=self.token_id,
            token_name="read",
            scope="read",
            last_used_at=None,
            organization_id=self.org_id,
            organization_name=self.slug,
            organization_slug=self.slug,
            currency="AUD",
            timezone=timezone,
        )


async def make_tenant(db: Database, slug: str, *, name: str | None = None) -> Tenant:
    async with db.transaction(write=True) as session:
        org, _ = await organizations.create_organization(
            session, name=name or slug.title() + " Markets", slug=slug, admin_email=f"admin@{slug}.example.com"
        )
        token, raw = await organizations.create_token(session, slug=slug, name=f"{slug} write")
        _, read_raw = await organizations.create_token(session, slug=slug, name=f"{slug} read", read_only=True)
    return Tenant(db=db, org_id=org.id, slug=slug, token=raw, token_id=token.id, read_token=read_raw)  # type: ignore[arg-type]


class Caller:
    """An MCP client that checks every result has the promised shape: the same JSON as text and structure."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def call(self, tool: str, /, **arguments: Any) -> CallToolResult:
        result = await self.client.call_tool(tool, arguments)
        # export_csv adds its CSV (an embedded resource) after the JSON; get_dashboard its chart (an image);
        # get_market_map its PNG and a link to its day sheet
        extra = {"export_csv": ["resource"], "get_dashboard": ["image"], "get_market_map": ["image", "resource_link"]}
        assert result.content[0].type == "text" and [b.type for b in result.content[1:]] in ([], extra.get(tool, []))
        structured = result.structured_content or {}
        said = {k: v for k, v in structured.items() if k != "svg"}  # the map's drawing is for apps, not the text
        assert json.loads(result.content[0].text) == (said if "svg" in structured else result.structured_content)
        return result

    async def ok(self, tool: str, /, **arguments: Any) -> dict[str, Any]:
        result = await self.call(tool, **arguments)
        assert not result.is_error, result.content[0].text
        return result.structured_content  # type: ignore[return-value]

    async def refused(self, tool: str, code: int, /, **arguments: Any) -> str:
        """The refusal's message, after checking it is exactly {"error", "code"} with that code."""
        result = await self.call(tool, **arguments)
        assert result.is_error, result.content[0].text
        payload = result.structured_content
        assert payload is not None and set(payload) == {"error", "code"}, payload
        assert payload["code"] == code, payload
        return payload["error"]


def emails_queued(n: int) -> dict[str, Any]:
    """What a write's result says of the email it queued, on a server without SMTP (the tests' default)."""
    return {
        "queued": n,
        "delivery": "not_configured",
        "note": f"{n} email{'s' if n != 1 else ''} queued, not yet sent. Email delivery is not set up "
        "(MARKET_MCP_SMTP_URL is unset): queued emails stay in the outbox and nobody receives them until it is set."
        if n
        else "No email was queued.",
    }
