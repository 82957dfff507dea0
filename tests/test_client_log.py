"""Log messages to the client, and the capabilities initialize advertises: each one answers."""

from __future__ import annotations

import re
import warnings
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import LoggingMessageNotificationParams, PromptReference

from market_mcp.config import Settings
from market_mcp.server import build_server
from market_mcp.services import markets
from tests.clients import connect
from tests.factories import Tenant
from tests.test_http import http_server
from tests.tools.test_vendors import add_market

# The Client warns that logging/setLevel is deprecated from 2026-07-28; these tests speak 2025-11-25 on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")


class Heard:
    """The log messages a client received, as (level, logger, data)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str | None, Any]] = []

    async def __call__(self, params: LoggingMessageNotificationParams) -> None:
        self.messages.append((params.level, params.logger, params.data))


async def test_after_set_level_info_each_tool_call_is_logged_to_the_client_in_a_few_words(alice: Tenant) -> None:
    market = await add_market(alice, "Riverside")
    heard = Heard()
    async with connect(alice, mode="legacy", logging_callback=heard) as client:
        await client.set_logging_level("info")
        await client.call_tool("get_market", {"market_id": market})
        await client.call_tool("update_market", {"market_id": market, "name": "Riverside Farmers Market"})
        await client.call_tool("get_market", {"market_id": 999})
    assert heard.messages == [
        ("info", "market-mcp", "get_market ok"),
        ("info", "market-mcp", "update_market ok"),
        ("warning", "market-mcp", "get_market refused: 404"),
    ]


async def test_at_the_default_level_a_call_that_went_well_sends_nothing_and_a_refusal_sends_a_warning(
    alice: Tenant,
) -> None:
    heard = Heard()
    async with connect(alice, mode="legacy", logging_callback=heard) as client:
        await client.call_tool("list_markets", {})
        await client.call_tool("create_market", {"name": "Riverside", "capacity": -3})
    assert heard.messages == [("warning", "market-mcp", "create_market refused: 422")]


async def test_set_level_error_silences_refusals_but_not_incidents(
    alice: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the disk is on fire")

    heard = Heard()
    async with connect(alice, mode="legacy", logging_callback=heard) as client:
        await client.set_logging_level("error")
        await client.call_tool("get_market", {"market_id": 999})
        monkeypatch.setattr(markets, "list_markets", broken)
        crashed = await client.call_tool("list_markets", {})
    incident = re.search(r"\(incident ([0-9a-f]{8})\)", crashed.content[0].text)  # type: ignore[union-attr]
    assert incident is not None
    assert heard.messages == [("error", "market-mcp", f"list_markets failed: incident {incident.group(1)}")]


async def test_a_read_only_tokens_refused_write_is_logged_with_its_code_and_nothing_of_the_arguments(
    alice: Tenant,
) -> None:
    heard = Heard()
    async with connect(alice, token=alice.read_token, mode="legacy", logging_callback=heard) as client:
        await client.set_logging_level("debug")
        await client.call_tool("create_market", {"name": "Secret Garden Market"})
    assert heard.messages == [("warning", "market-mcp", "create_market refused: 403")]


async def test_each_connection_keeps_its_own_level(alice: Tenant) -> None:
    chatty, quiet = Heard(), Heard()
    server = build_server(Settings(database_url=str(alice.db.url)), db=alice.db, token=alice.token)
    async with Client(server, mode="legacy", logging_callback=chatty) as first:
        async with Client(server, mode="legacy", logging_callback=quiet) as second:
            await first.set_logging_level("info")
            await first.call_tool("list_markets", {})
            await second.call_tool("list_markets", {})
    assert (chatty.messages, quiet.messages) == ([("info", "market-mcp", "list_markets ok")], [])


async def test_from_2026_a_request_hears_log_messages_only_when_it_opts_in_with_its_level(alice: Tenant) -> None:
    opted_in, silent = Heard(), Heard()
    async with connect(alice, log_level="info", logging_callback=opted_in) as client:
        assert client.protocol_version == "2026-07-28"
        await client.call_tool("list_markets", {})
        await client.call_tool("get_market", {"market_id": 999})
    async with connect(alice, logging_callback=silent) as client:
        await client.call_tool("get_market", {"market_id": 999})
    assert opted_in.messages == [
        ("info", "market-mcp", "list_markets ok"),
        ("warning", "market-mcp", "get_market refused: 404"),
    ]
    assert silent.messages == []


# ---------------------------------------------------------------- capabilities


async def test_initialize_advertises_tools_resources_prompts_completions_and_logging_and_each_answers(
    alice: Tenant,
) -> None:
    market = await add_market(alice, "Riverside")
    async with connect(alice, mode="legacy") as client:
        advertised = client.server_capabilities
        tools = await client.list_tools()
        resources = await client.list_resources()
        templates = await client.list_resource_templates()
        read = await client.read_resource(f"market-mcp://market/{market}")
        prompts = await client.list_prompts()
        prompt = await client.get_prompt("monday_briefing")
        completion = await client.complete(PromptReference(name="rained_off"), {"name": "market", "value": "riv"})
        level = await client.set_logging_level("info")
    assert advertised.model_dump(exclude_none=True) == {
        "tools": {"list_changed": False},
        "resources": {"subscribe": False, "list_changed": False},
        "prompts": {"list_changed": False},
        "completions": {},
        "logging": {},  # no extensions: a 2025 client has no word for them (from 2026: MCP Apps)
    }
    assert len(tools.tools) > 50
    assert [r.uri for r in resources.resources] == [
        f"market-mcp://market/{market}",
        "ui://market-mcp/dashboard.html",
        "ui://market-mcp/map.html",
    ]
    assert (
        len(templates.resource_templates) == 11
    )  # each kind search hands out, exports, invoices, receipts, day sheets, vendors' document files
    assert '"name":"Riverside"' in read.contents[0].text  # type: ignore[union-attr]
    assert len(prompts.prompts) == 4 and prompt.messages
    assert completion.completion.values == ["Riverside"]
    assert level.model_dump(exclude_none=True) == {}


async def test_from_2026_the_same_capabilities_are_advertised_and_none_promises_change_notifications(
    alice: Tenant,
) -> None:
    async with connect(alice) as client:
        assert client.protocol_version == "2026-07-28"
        advertised = client.server_capabilities
    assert advertised.model_dump(exclude_none=True) == {
        "tools": {"list_changed": False},
        "resources": {"subscribe": False, "list_changed": False},
        "prompts": {"list_changed": False},
        "completions": {},
        "logging": {},
        "extensions": {"io.modelcontextprotocol/ui": {}},  # MCP Apps: get_dashboard's view
    }


async def test_over_http_a_2025_client_hears_its_log_messages_on_the_sessions_stream(alice: Tenant) -> None:
    heard = Heard()
    with http_server(alice.db) as url:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {alice.token}"}, timeout=30) as http:
            transport = streamable_http_client(f"{url}/mcp", http_client=http)
            async with Client(transport, mode="legacy", logging_callback=heard) as client:
                await client.set_logging_level("info")
                await client.call_tool("list_markets", {})
                for _ in range(100):  # the GET stream carries it, a moment after the call's own reply
                    if heard.messages:
                        break
                    await anyio.sleep(0.05)
    assert heard.messages == [("info", "market-mcp", "list_markets ok")]


def test_building_the_server_warns_of_nothing_deprecated(alice: Tenant) -> None:
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always", MCPDeprecationWarning)
        build_server(Settings(database_url=str(alice.db.url)), db=alice.db, token=alice.token)
    assert [str(w.message) for w in said if issubclass(w.category, MCPDeprecationWarning)] == []
