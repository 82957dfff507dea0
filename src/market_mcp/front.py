"""The stdio server's front: it answers initialize and tools/list at once, and loads the store after.

A stdio server is started by the client for each conversation, and the client waits for tools/list before
the person can begin. Most of what starting market-mcp costs is importing the store (SQLAlchemy, the tables,
the services, the tool modules, Alembic) and checking its schema, and tools/list needs none of it:

- initialize says only the server's name, version, instructions and capabilities (ABOUT, here);
- tools/list is the cached catalog (market_mcp.catalog.listed: definitions, toolsets, which tools write),
  filtered by --toolsets and --read-only, and by the token's scope (a read-only token sees only the tools that
  read), which `quick_scope` reads with one plain query through the standard library's sqlite3.

So StdioFront answers those two itself. A task started with the server waits for the first tools/list (or a
second at most), then imports the store in a worker thread (with the collector paused: the imports make
millions of objects that live as long as the process), migrates it, builds the real server
(market_mcp.server.MarketServer) and checks its token as before (warning on stderr if it is refused), and
then builds each tool once, so that no tool's first call pays for it. Every other request (tools/call,
resources, prompts, completion) waits for that and is answered by the real server, as it always was; so is
tools/list once the store is loaded, and wherever the quick check cannot say (PostgreSQL, a connector's
token, local mode: `quick_scope` returns UNKNOWN).
"""

from __future__ import annotations

import gc
import logging
import sqlite3
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import anyio
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import CompleteRequestParams, ListToolsResult, SetLevelRequestParams

from market_mcp import __version__, catalog, client_log
from market_mcp.errors import MarketError
from market_mcp.tokens import ACCESS_TOKEN_PREFIX, TOKEN_PREFIX, hash_token

if TYPE_CHECKING:
    from market_mcp.config import Settings
    from market_mcp.db import Database
    from market_mcp.server import MarketServer

logger = logging.getLogger("market_mcp")

INSTRUCTIONS = """\
market-mcp runs a market organisation's admin: markets, trading dates, vendors, applications, orders, \
bookings, the waitlist, credits and emails, all scoped to the token's organisation. Call get_context first; \
for "what's pending?" call get_dashboard_summary. Each id comes from the list tool of its kind \
(vendor_id: list_vendors, entry_id: list_waitlist; query finds one by name). \
Money: 45 or "45.50" in; integer *_cents plus currency out. Dates: YYYY-MM-DD on the organisation's \
calendar; from_date/to_date are inclusive. Lists: 20 compact rows by default (limit up to 200, detail="full" \
for every field); pass next_offset as offset for more. Writes take an optional idempotency_key: a retry with \
the same key returns the first result and changes nothing. dry_run previews (would_* fields) and changes \
nothing. Tools that email vendors say so: confirm with the organiser first. Their results' emails.note says \
whether anyone will receive them; repeat it rather than saying "sent". A refusal is {"error", "code"} \
(404 not found, 409 wrong state, 422 bad input, 401/403 token, 429 slow down) and names the fix. Every \
record also reads as a resource, market-mcp://<kind>/<id> (e.g. market-mcp://vendor/55).\
"""

# What initialize says, the same from the front and the real server.
ABOUT: dict[str, Any] = dict(
    name="market-mcp",
    title="Market organiser",
    instructions=INSTRUCTIONS,
    version=__version__,
    subscriptions=False,  # no change notifications are ever sent: promise no listChanged, no subscribe
)

LOAD_AFTER_SECONDS = 1.0  # a client that does not ask for tools/list still gets a loaded store this soon
UNKNOWN = "unknown"  # quick_scope cannot tell: ask the real server


def quick_scope(settings: Settings, token: str | None) -> str | None:
    """The scope tools/list filters by, as MarketServer._scope_of finds it, without the store's modules: the
    token's scope if it names a live token whose creator and organisation exist (a draft organisation's token
    still sees what its scope allows), else None (list everything: every call will say what is wrong), or
    UNKNOWN where only the real server can tell."""
    if token is None:
        local = settings.org_name is not None and settings.store_is_local
        return UNKNOWN if local else None  # local mode acts through a token of its own, set up on first use
    if token.startswith(ACCESS_TOKEN_PREFIX):
        return UNKNOWN
    if not token.startswith(TOKEN_PREFIX):
        return None
    path = _sqlite_file(settings.database_url)
    if path is None:
        return UNKNOWN
    try:
        with sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=1) as connection:
            row = connection.execute(
                "SELECT t.scope, t.revoked_at FROM api_token t JOIN app_user u ON u.id = t.user_id "
                "JOIN organization o ON o.id = t.organization_id WHERE t.token_hash = ?",
                (hash_token(token),),
            ).fetchone()
        connection.close()
    except sqlite3.Error:
        return UNKNOWN  # no such file or table yet, locked, damaged: the real server migrates and says
    if row is None or row[1] is not None:
        return None  # unknown or revoked
    return row[0] if isinstance(row[0], str) else UNKNOWN


def _sqlite_file(url: str) -> str | None:
    """The file of a sqlite URL (sqlite+aiosqlite:///path), or None for any other store or option."""
    scheme, found, path = url.partition(":///")
    if not found or not scheme.startswith("sqlite") or not path or "?" in path or path == ":memory:":
        return None
    return path


def _import_store() -> None:
    """The store's modules: most of a start's time. Run in a worker thread, with the collector paused."""
    gc.disable()
    try:
        import market_mcp.db.migrate
        import market_mcp.server  # noqa: F401
    finally:
        gc.enable()
        gc.freeze()  # what was imported lives as long as the process: no collection need look at it again


class StdioFront(MCPServer):
    """The stdio server: tools/list from the catalog at once; everything else from the real server, loaded after."""

    def __init__(
        self,
        settings: Settings,
        *,
        token: str | None,
        toolsets: list[str] | None = None,
        read_only: bool = False,
        db: Database | None = None,
    ) -> None:
        listed = catalog.listed()
        known = list(dict.fromkeys(item.toolset for item in listed.values()))
        chosen = known if toolsets is None else list(toolsets)
        unknown = [name for name in chosen if name not in known]
        if unknown:  # as MarketServer says it, before anything is served
            raise ValueError(f"Unknown toolset(s): {', '.join(unknown)}. Known: {', '.join(known)}.")
        self.listed = {
            name: item for name, item in listed.items() if item.toolset in chosen and not (read_only and item.writes)
        }
        super().__init__(**ABOUT, log_level=settings.log_level.upper())  # type: ignore[arg-type]
        # The same methods as MarketServer's, so initialize advertises the same capabilities.
        self._lowlevel_server.add_request_handler("completion/complete", CompleteRequestParams, self._complete)
        self._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, client_log.set_level)
        self.config = settings
        self._token = token
        self._toolsets = toolsets
        self._read_only = read_only
        self._db = db  # given (demo --serve): the caller disposes of it; else made and disposed of here
        self.real: MarketServer | None = None

    async def run_stdio_async(self) -> None:
        self._wanted = anyio.Event()  # a request needs the store, or tools/list was answered: load it now
        self._loaded = anyio.Event()
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._load)
                await super().run_stdio_async()
                tasks.cancel_scope.cancel()  # the client has gone
        except BaseExceptionGroup as group:  # the loader's failure, as the command would have met it at start
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise

    async def _load(self) -> None:
        with anyio.move_on_after(LOAD_AFTER_SECONDS):
            await self._wanted.wait()
        await anyio.to_thread.run_sync(_import_store, abandon_on_cancel=True)
        from market_mcp.db import Database
        from market_mcp.db.migrate import upgrade
        from market_mcp.server import build_server

        db = self._db or Database(self.config.database_url)
        try:
            with anyio.CancelScope(shield=True):  # a migration is not left half done
                await upgrade(db)
            real = build_server(
                self.config, db=db, token=self._token, toolsets=self._toolsets, read_only=self._read_only
            )
            try:
                identity = await real.identify()
                logger.info("serving %s with token %s", identity.organization_slug, identity.token_name)
            except MarketError as refusal:
                # Serve anyway: every call will carry the same refusal, so the assistant can tell the person.
                sys.stderr.write(f"warning: {refusal.message}\n")
            async with real.delivering():
                self.real = real
                self._loaded.set()
                for name in real.specs:  # each tool built now, not on its first call
                    catalog.tool(name)
                    await anyio.sleep(0)  # a request that came in meanwhile goes first
                await anyio.sleep_forever()
        finally:
            if self._db is None:
                with anyio.CancelScope(shield=True):
                    await db.dispose()

    async def store(self) -> MarketServer:
        """The real server, once the store is loaded."""
        self._wanted.set()
        await self._loaded.wait()
        assert self.real is not None
        return self.real

    def _tool_input_schema(self, name: str) -> dict[str, Any] | None:
        found = self.listed.get(name)
        return None if found is None else found.definition.input_schema

    async def _handle_list_tools(self, ctx: ServerRequestContext[Any], params: Any) -> ListToolsResult:
        scope = UNKNOWN if self.real is not None else quick_scope(self.config, self._token)
        if scope == UNKNOWN:
            return await (await self.store())._handle_list_tools(ctx, params)
        tools = [item.definition for item in self.listed.values() if not (scope == "read" and item.writes)]
        self._wanted.set()
        return ListToolsResult(tools=tools)

    # Everything else is the real server's.

    async def _handle_call_tool(self, ctx: ServerRequestContext[Any], params: Any) -> Any:
        return await (await self.store())._handle_call_tool(ctx, params)

    async def _handle_list_resources(self, ctx: ServerRequestContext[Any], params: Any) -> Any:
        return await (await self.store())._handle_list_resources(ctx, params)

    async def _handle_read_resource(self, ctx: ServerRequestContext[Any], params: Any) -> Any:
        return await (await self.store())._handle_read_resource(ctx, params)

    async def _handle_list_resource_templates(self, ctx: ServerRequestContext[Any], params: Any) -> Any:
        return await (await self.store())._handle_list_resource_templates(ctx, params)

    async def _handle_list_prompts(self, ctx: ServerRequestContext[Any], params: Any) -> Any:
        return await (await self.store())._handle_list_prompts(ctx, params)

    async def _handle_get_prompt(self, ctx: ServerRequestContext[Any], params: Any) -> Any:
        return await (await self.store())._handle_get_prompt(ctx, params)

    async def _complete(self, ctx: ServerRequestContext[Any], params: CompleteRequestParams) -> Any:
        return await (await self.store())._complete(ctx, params)
