"""build_server(): the MCP server, its toolsets, and the one path every tool call takes.

MarketServer.call_tool is the choke point: authenticate the token, check its rate limit and scope (in a
read transaction: a refused call writes nothing), open the call's transaction (a write transaction for
write tools), replay an idempotency key, run the tool, write the audit entry and idempotency record in that
same transaction, and turn every refusal into {"error", "code"} with isError.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.apps import Apps
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import (
    CallToolResult,
    CompleteRequestParams,
    CompleteResult,
    Completion,
    GetPromptResult,
    ListResourcesResult,
    ListToolsResult,
    PaginatedRequestParams,
    SetLevelRequestParams,
    TextContent,
)
from mcp.types import Prompt as MCPPrompt
from mcp.types import ResourceTemplate as MCPResourceTemplate
from mcp.types import Tool as MCPTool
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from market_mcp import apps, catalog, client_log, hints, prompts, resources
from market_mcp.access import admit, count, organisation
from market_mcp.auth import (
    TOKEN_FOR_NAMED_STORE,
    OncePerMinute,
    OrgContext,
    RateLimiter,
    TokenIdentity,
    authenticate,
    authenticate_local,
    mark_used,
    use_is_stale,
    without_tokens,
)
from market_mcp.config import Settings
from market_mcp.db import Database
from market_mcp.db.types import utcnow
from market_mcp.errors import Conflict, Forbidden, Invalid, MarketError, NotFound, Unauthorized
from market_mcp.front import ABOUT
from market_mcp.front import INSTRUCTIONS as INSTRUCTIONS  # what initialize says, found here too
from market_mcp.http import healthz, refuse_forbidden_tokens, request_token
from market_mcp.services import audit, emails, idempotency, organizations, payment_links
from market_mcp.tools import TOOLSETS
from market_mcp.tools.registry import ToolSpec, _current_org

if TYPE_CHECKING:
    from market_mcp.mail import Mailer
    from market_mcp.oauth import MarketAuthorization

logger = logging.getLogger("market_mcp")


def _json(payload: Any) -> str:
    return to_json(payload, fallback=str).decode()  # compact, UTF-8 as is: json.dumps's separators and ensure_ascii


def _result(structured: dict[str, Any], *, is_error: bool = False) -> CallToolResult:
    # The same JSON as text (Claude Desktop reads text) and as structured content (other clients).
    return CallToolResult(
        content=[TextContent(type="text", text=_json(structured))], structured_content=structured, is_error=is_error
    )


def _names(names: list[str], most: int = 10) -> str:
    """Argument names a caller sent, each and all of them short enough to repeat back."""
    kept = [name if len(name) <= 40 else name[:40] + "…" for name in names[:most]]
    return ", ".join(kept) + (f" and {len(names) - most} more" if len(names) > most else "")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _is_contention(exc: BaseException) -> bool:
    """Two transactions in each other's way: a PostgreSQL deadlock or serialisation failure, a SQLite lock
    held past the busy timeout. Nothing was written; trying again works."""
    if not isinstance(exc, DBAPIError):
        return False
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40P01", "40001") or "database is locked" in str(exc.orig)


def _cause(exc: BaseException) -> BaseException:
    """What the tool really raised, under the SDK's ToolError wrappers."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, MarketError | ValidationError | IntegrityError) or _is_contention(seen):
            return seen
        seen = seen.__cause__
    return exc


class MarketServer(MCPServer):
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        token: str | None = None,
        toolsets: Iterable[str] | None = None,
        read_only: bool = False,
        clock: Callable[[], datetime] = utcnow,
        public_url: str | None = None,
    ) -> None:
        # Over HTTP (public_url set: where clients reach this server) every request brings its own token: an
        # organisation API token, or a connector's OAuth access token (this server is their authorization server).
        # Imported only here: stdio never serves OAuth, and starts faster without it.
        http: dict[str, Any] = {}
        self.authorization: MarketAuthorization | None = None
        if public_url is not None:
            from market_mcp import oauth

            self.authorization = oauth.MarketAuthorization(db, public_url)
            http = dict(auth=oauth.auth_settings(self.authorization.issuer), auth_server_provider=self.authorization)
        chosen = list(TOOLSETS) if toolsets is None else list(toolsets)
        unknown = [name for name in chosen if name not in TOOLSETS]
        if unknown:
            raise ValueError(f"Unknown toolset(s): {', '.join(unknown)}. Known: {', '.join(TOOLSETS)}.")
        self.specs: dict[str, ToolSpec] = {
            spec.name: spec for name in chosen for spec in TOOLSETS[name].tools if not (read_only and spec.writes)
        }
        # tools/list comes from the catalog (cached between runs); each tool is built on its first call.
        self.definitions = {name: d for name, d in catalog.definitions().items() if name in self.specs}
        # MCP Apps: capabilities.extensions says this server has views (each tool names its own; resources serve them).
        super().__init__(**ABOUT, log_level=settings.log_level.upper(), extensions=[Apps()], **http)  # type: ignore[arg-type]
        self.config = settings  # ours; MCPServer keeps its own `settings`
        self.db = db
        self.http = public_url is not None
        self._token = None if self.http else token
        self._scope: str | None = None  # stdio: the token's scope, for tools/list (a token's scope never changes)
        # Local mode: stdio with no token, on this computer's own store, for the organisation the settings name.
        # The server sets it up and acts for it through a token of its own (its id: set on the first caller()).
        self.local = not self.http and self._token is None and settings.org_name is not None and settings.store_is_local
        self._local_token_id: int | None = None
        if self.http:
            self.custom_route("/healthz", methods=["GET"])(healthz(db))
        self.clock = clock
        self.rate_limiter = RateLimiter(settings.rate_limit)
        self._refused_at_door = OncePerMinute()
        self.mailer: Mailer | None = None
        if settings.smtp_url:
            from market_mcp.mail import Mailer

            self.mailer = Mailer(db, settings.smtp_url)
        self.checkout = payment_links.Checkout.configured(settings)  # None: payment links are not configured
        # A misspelt argument must not be silently ignored: a model would believe the change was made.
        self._arguments = {name: set(d.input_schema["properties"]) for name, d in self.definitions.items()}
        self.jobs = prompts.available(set(self.specs))  # a prompt is offered only with every tool it names
        # The low-level server advertises a capability for each method it serves (MCPServer's own hook for
        # logging would warn at construction that the 2026 protocol drops it; older clients still use it).
        self._lowlevel_server.add_request_handler("completion/complete", CompleteRequestParams, self._complete)
        self._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, client_log.set_level)

    @asynccontextmanager
    async def delivering(self) -> AsyncIterator[None]:
        """Run the server's background work beside it while inside: the outbox's delivery (with SMTP configured)
        and the scheduler's payment deadlines (unless deadline_check_seconds is 0)."""
        every = self.config.deadline_check_seconds
        async with anyio.create_task_group() as tasks:
            if self.mailer is not None:
                await tasks.start(self.mailer.run)
            if every > 0:
                from market_mcp import scheduler  # the services it runs load with the first call's tools

                kick = self.mailer.kick if self.mailer is not None else lambda: None
                delivery = self.mailer is not None
                await tasks.start(
                    partial(
                        scheduler.run,
                        self.db,
                        self.clock,
                        every,
                        email_delivery=delivery,
                        queued=kick,
                        public_url=self.config.links_url,
                    )
                )
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()

    def streamable_http_app(self, **options: Any) -> Starlette:  # type: ignore[override]
        from market_mcp.sessions import share_sessions_per_token

        options.setdefault("session_idle_timeout", self.config.http_session_idle_seconds)
        app = super().streamable_http_app(**options)
        if self.authorization is not None:
            from market_mcp import oauth

            app.router.routes[0:0] = oauth.routes(self.authorization)
        share_sessions_per_token(app, self._lowlevel_server, per_token=self.config.http_sessions_per_token)
        refuse_forbidden_tokens(app, self.db)
        if self.checkout is not None:  # unset: /webhooks/stripe is not there (404)
            from starlette.routing import Route

            from market_mcp.http import stripe_webhook

            webhook = stripe_webhook(self.checkout, self.db, self.clock, self.mailer)
            app.router.routes.insert(0, Route("/webhooks/stripe", webhook, methods=["POST"]))
        from market_mcp.vendor_pages import routes as vendor_routes  # vendor links and calendar feeds: no token

        app.router.routes[0:0] = vendor_routes(self.db, self.clock, self.mailer, self.config.links_url)
        return app

    def token_for(self, context: Context[Any, Any] | None) -> str | None:
        """The calling token: the request's bearer token over HTTP; the server's own on stdio (MARKET_MCP_TOKEN)."""
        if not self.http:
            return self._token
        return request_token(context.headers if context is not None else None)

    async def caller(self, session: AsyncSession, context: Context[Any, Any] | None) -> TokenIdentity:
        """Who is calling, or the refusal (401/403): every request that reads or writes the store asks this."""
        if self.local:
            if self._local_token_id is None:  # at start (identify), or the next call if that was refused
                self._local_token_id = await self._set_up_local()
            return await authenticate_local(session, self._local_token_id)
        token = self.token_for(context)
        if token is None and not self.http and self.config.org_name is not None:
            raise Unauthorized(TOKEN_FOR_NAMED_STORE)
        checked = get_access_token() if self.http else None
        identity = getattr(checked, "identity", None)  # this request's token, looked up by the SDK's middleware
        if identity is not None and checked.token == token:  # type: ignore[union-attr]
            return identity  # type: ignore[no-any-return]
        return await authenticate(session, token)

    async def _set_up_local(self) -> int:
        """This computer's organisation, found or set up in a transaction of its own (the caller's has not
        begun: a session connects on its first statement), or the refusal of a bad setting."""
        wanted = self.config.local_organization()
        async with self.db.transaction(write=True) as session:
            local = await organizations.set_up_local(
                session,
                name=wanted.name,
                timezone=wanted.timezone,
                currency=wanted.currency,
                invoice_details=dict(
                    legal_name=wanted.legal_name,
                    tax_number=wanted.tax_number,
                    tax_rate=wanted.tax_rate,
                    tax_label=wanted.tax_label,
                ),
            )
        for change in local.changes:
            logger.warning(change)
        return local.token_id

    async def list_tools(self) -> list[MCPTool]:
        return list(self.definitions.values())

    def _tool_input_schema(self, name: str) -> dict[str, Any] | None:
        found = self.definitions.get(name)
        return None if found is None else found.input_schema

    async def _handle_list_tools(
        self, ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        """tools/list as the calling token may use it: a read-only token sees only the tools that read."""
        tools = await self.list_tools()
        if self.http:
            from market_mcp.oauth import READ

            access = get_access_token()  # verified by the SDK's middleware, scopes and all (none: a 403 token)
            if access is not None and not access.scopes:  # refused at the door (http.refuse_forbidden_tokens)
                return ListToolsResult(tools=[])
            read_only = access is not None and access.scopes == [READ]
        else:
            read_only = await self._scope_of() == "read"
        if read_only:
            tools = [tool for tool in tools if not self.specs[tool.name].writes]
        return ListToolsResult(tools=tools)

    async def identify(self) -> TokenIdentity:
        """Who the stdio token is (or its refusal), remembered for tools/list: a token's scope never changes."""
        async with self.db.transaction() as session:
            identity = await self.caller(session, None)
        self._scope = identity.scope
        return identity

    async def _scope_of(self) -> str | None:
        if self._scope is None:
            try:
                await self.identify()
            except Forbidden as refusal:  # e.g. a draft organisation's: what its scope allows; calls say why not
                return refusal.scope
            except Exception:  # unknown token, store down: list everything; every call will say what is wrong
                return None
        return self._scope

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult:  # type: ignore[override]
        spec = self.specs.get(name)
        if spec is None:
            return _result(NotFound(self._unknown_tool(name)).payload(), is_error=True)
        identity: TokenIdentity | None = None
        try:
            # Token, rate limit and scope first, in a read transaction: a refused call writes nothing. A read
            # runs in that same transaction; a write (or a call the shared limit counts first) in its own,
            # opened once the call is let through and the first has ended (one connection at a time).
            apart = spec.writes or self.config.rate_limit_shared
            async with self.db.transaction() as session:
                identity = await self.caller(session, context)
                await admit(self, session, identity, tool=name if spec.writes else None)
                if not apart:
                    org = self._org(session, identity)
                    result = await self._run(spec, org, arguments, context)
            if apart:
                await count(self, identity)
                async with self.db.transaction(write=spec.writes) as session:
                    org = self._org(session, identity)
                    result = await self._run(spec, org, arguments, context)
            if org.links_wanted:  # committed: now Stripe can be asked, with no transaction open
                result = await self._make_links(name, org, identity, arguments, result)
            if org.emails_queued and self.mailer is not None:
                self.mailer.kick()  # committed: the mail can go now
        except Exception as exc:  # every refusal and every crash leaves here as {"error", "code"}
            payload = self._refusal(name, exc)
            if spec.writes and identity is not None:
                await self._audit_refusal(identity, name, arguments, payload["code"])
            result = _result(payload, is_error=True)
        if identity is not None and use_is_stale(identity):  # a refused call is still a use of the token
            async with self.db.transaction(write=True) as session:
                await mark_used(session, identity)
        await client_log.tell(context, name, result)  # the outcome in a few words, at the client's log level
        return result

    def _org(self, session: AsyncSession, identity: TokenIdentity) -> OrgContext:
        return OrgContext.of(
            session,
            identity,
            self.clock,
            email_delivery=self.mailer is not None,
            payment_links=self.checkout is not None,
            public_url=self.config.links_url,
        )

    async def _make_links(
        self, name: str, org: OrgContext, identity: TokenIdentity, arguments: dict[str, Any], result: CallToolResult
    ) -> CallToolResult:
        """The payment links a committed call asked for, made now and put in its result (and its idempotency
        record, so a replay says the same)."""
        assert self.checkout is not None and result.structured_content is not None
        made = await payment_links.make(
            self.db,
            self.checkout,
            org.links_wanted,
            lambda session: self._org(session, identity),
            organization_id=identity.organization_id,
            currency=identity.currency,
        )
        org.emails_queued += sum(link.emails_queued for link in made)
        outcome = payment_links.outcome(name, result.structured_content, made)
        if isinstance(outcome, MarketError):
            payload, is_error = outcome.payload(), True
        else:
            payload, is_error = outcome, False
            if "emails" in payload:
                payload["emails"] = emails.queued(org).model_dump(mode="json")
        key = arguments.get("idempotency_key")
        if isinstance(key, str) and key:
            async with self.db.transaction(write=True) as session:
                await idempotency.amend(self._org(session, identity), key, None if is_error else payload)
        return _result(payload, is_error=is_error)

    def _unknown_tool(self, name: str) -> str:
        known = catalog.SPECS.get(name)
        if known is None:
            return hints.unknown_tool(name, self.specs)
        if any(spec.toolset == known.toolset for spec in self.specs.values()):
            why = "this server is read-only (started with --read-only)"
        else:
            why = f"this server was started without the {known.toolset} toolset (see --toolsets)"
        return f"{name} is not available here: {why}."

    async def _run(
        self, spec: ToolSpec, org: OrgContext, arguments: dict[str, Any], context: Context[Any, Any] | None
    ) -> CallToolResult:
        unknown = sorted(set(arguments) - self._arguments[spec.name])
        if unknown:
            known = sorted(self._arguments[spec.name])
            meant = [argument for name in unknown[:10] if (argument := hints.meant_argument(name, known))]
            guess = f" (did you mean {hints.either(meant)}?)" if meant else ""
            verb = "is not an argument" if len(unknown) == 1 else "are not arguments"
            raise Invalid(
                f"Invalid arguments: {_names(unknown)} {verb} of {spec.name}{guess}; it takes {', '.join(known)}."
            )
        with_nul = [name for name, value in arguments.items() if _has_nul(value)]
        if with_nul:  # PostgreSQL cannot store U+0000 in text: a 422 here, not a 500 at the INSERT
            raise Invalid(f"Invalid arguments: {_names(with_nul)} cannot contain the NUL character (\\u0000).")
        key = arguments.get("idempotency_key") if spec.writes else None
        key = key if isinstance(key, str) and 0 < len(key) <= 200 else None
        if key is not None:
            stored = await idempotency.replay(org, key, spec.name, arguments)
            if stored is not None:
                return _result(stored)
        reset = _current_org.set(org)
        try:
            tool = catalog.tool(spec.name)
            value = await tool.run(arguments, context or Context(mcp_server=self, subscriptions=self._subscriptions))
        finally:
            _current_org.reset(reset)
        shaped = isinstance(value, CallToolResult)  # a tool that shapes its own content: export_csv's CSV resource
        if isinstance(value, BaseModel) and not shaped:  # every tool's result: dumped once here (the SDK's dumps twice)
            if spec.annotations.open_world_hint and not getattr(value, "dry_run", False):
                value.emails = emails.queued(org)  # every emailing tool's result says what it queued, never "sent"
            structured = value.model_dump(mode="json", by_alias=True)
        else:
            converted = tool.fn_metadata.convert_result(value)
            assert isinstance(converted, CallToolResult) and converted.structured_content is not None
            structured = converted.structured_content
        if spec.writes:
            audit.record(org, spec.name, arguments, "ok")
            if key is not None:
                idempotency.remember(org, key, spec.name, arguments, structured)
        return converted if shaped else _result(structured)

    def _refusal(self, name: str, exc: Exception) -> dict[str, Any]:
        payload = self._refusal_of(name, _cause(exc))
        return payload | {"error": without_tokens(payload["error"])}  # a refusal may quote input: never a token

    def _refusal_of(self, name: str, cause: BaseException) -> dict[str, Any]:
        if isinstance(cause, MarketError):
            return cause.payload()
        if isinstance(cause, ValidationError):
            return Invalid(hints.invalid_arguments(cause, catalog.tool(name).fn_metadata.arg_model)).payload()
        if _is_contention(cause):
            logger.info("tool %s met a concurrent transaction: %s", name, type(cause).__name__)
            return Conflict(
                "Another change to the same records was being saved at the same moment; nothing was saved. Try again."
            ).payload()
        if isinstance(cause, IntegrityError):
            logger.info("tool %s hit a constraint: %s", name, type(cause.orig).__name__)
            return Conflict(
                "This change conflicts with a record another call changed at the same moment; nothing was saved. "
                "Read the record again and retry."
            ).payload()
        incident = secrets.token_hex(4)
        logger.error("incident %s: tool %s raised an unexpected error", incident, name, exc_info=cause)
        return {
            "error": f"Something went wrong on our side (incident {incident}); nothing was changed. "
            "Try again, and quote the incident id if it keeps happening.",
            "code": 500,
        }

    async def _audit_refusal(self, identity: TokenIdentity, name: str, arguments: dict[str, Any], code: int) -> None:
        if code in (403, 429):  # refused at the door, before the call: compact, and once a minute at most
            if not self._refused_at_door.first((identity.token_id, name, code), self.clock()):
                return
            arguments = {}
        try:
            async with self.db.transaction(write=True) as session:
                org = OrgContext.of(session, identity, self.clock)
                audit.record(org, name, arguments, str(code))
        except Exception:
            logger.exception("could not write the audit entry for a refused %s", name)

    # ---------------------------------------------------------------- resources, prompts and completion
    # Scoped like the tools (market_mcp.access); what they answer is market_mcp.resources and market_mcp.prompts.

    def _context(self, ctx: ServerRequestContext[Any]) -> Context[Any, Any]:
        return Context(request_context=ctx, mcp_server=self, subscriptions=self._subscriptions)

    async def _handle_list_resources(
        self, ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        async with organisation(self, self._context(ctx), method="resources/list") as org:
            return await resources.listed(org, params.cursor if params else None)

    async def list_resource_templates(self) -> list[MCPResourceTemplate]:
        return resources.TEMPLATES

    async def read_resource(  # type: ignore[override]
        self, uri: Any, context: Context[Any, Any] | None = None
    ) -> list[ReadResourceContents]:
        async with organisation(self, context, method="resources/read", uri=str(uri)) as org:
            content, mime_type = await resources.read(org, str(uri))
        meta = apps.RESOURCE_META if mime_type == apps.MIME_TYPE else None  # a view's csp and border (MCP Apps)
        return [ReadResourceContents(content=content, mime_type=mime_type, meta=meta)]

    async def list_prompts(self) -> list[MCPPrompt]:
        return [job.listed() for job in self.jobs.values()]

    async def get_prompt(  # type: ignore[override]
        self, name: str, arguments: dict[str, Any] | None = None, context: Context[Any, Any] | None = None
    ) -> GetPromptResult:
        job = prompts.chosen(self.jobs, name, arguments or {})
        async with organisation(self, context, method="prompts/get") as org:
            return await prompts.render(org, job, arguments or {})

    async def _complete(self, ctx: ServerRequestContext[Any], params: CompleteRequestParams) -> CompleteResult:
        if not prompts.offers_completion(self.jobs, params):  # an unknown prompt or argument: no values, no error
            return CompleteResult(completion=Completion(values=[]))
        # Not rate limited: a client asks on every keystroke, which must not use up the organiser's tool calls.
        async with organisation(self, self._context(ctx), method="completion/complete", rate_limited=False) as org:
            return CompleteResult(completion=await prompts.completion(org, params))


def build_server(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    token: str | None = None,
    toolsets: Iterable[str] | None = None,
    read_only: bool = False,
    clock: Callable[[], datetime] = utcnow,
    public_url: str | None = None,
) -> MarketServer:
    """The market-mcp server. `token` is the organisation token for stdio (default: MARKET_MCP_TOKEN)."""
    settings = settings or Settings()
    if token is None and settings.token is not None:
        token = settings.token.get_secret_value()
    return MarketServer(
        settings,
        db or Database(settings.database_url),
        token=token,
        toolsets=toolsets,
        read_only=read_only,
        clock=clock,
        public_url=public_url,
    )
