"""The market-mcp command: serve, init, demo, org, token, tools.

On stdio, standard output belongs to the protocol: everything for people goes to
standard error while serving. Other commands print their answer on standard output.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from market_mcp import __version__
from market_mcp.config import Settings
from market_mcp.errors import Invalid, MarketError, NotFound

if TYPE_CHECKING:
    from market_mcp.db import Database

Handler = Callable[[argparse.Namespace, Settings, "Database"], Awaitable[int]]


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


async def _ready(db: Database) -> tuple[str | None, str]:
    from market_mcp.db.migrate import upgrade

    return await upgrade(db)


async def cmd_init(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    before, head = await _ready(db)
    where = db.url.render_as_string(hide_password=True)
    if before is None:
        _out(f"Created the database at {where} (schema {head}).")
    elif before != head:
        _out(f"Upgraded the database at {where} from schema {before} to {head}.")
    else:
        _out(f"The database at {where} is up to date (schema {head}).")
    return 0


async def cmd_org_create(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    from market_mcp.services import organizations

    await _ready(db)
    async with db.transaction(write=True) as session:
        org, user = await organizations.create_organization(
            session,
            name=args.name,
            slug=args.slug,
            admin_email=args.admin_email,
            currency=args.currency,
            timezone=args.timezone,
        )
    if args.json:
        _out(json.dumps({"id": org.id, "name": org.name, "slug": org.slug, "status": org.status, "admin": user.email}))
    else:
        _out(f"Created organisation {org.name} ({org.slug}), active, admin {user.email}.")
        _out(f"Next: market-mcp token create --org {org.slug}")
    return 0


async def cmd_org_list(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    from market_mcp.services import organizations

    await _ready(db)
    async with db.transaction() as session:
        rows = await organizations.list_organizations(session)
    if args.json:
        _out(
            json.dumps(
                [
                    {
                        "id": o.id,
                        "name": o.name,
                        "slug": o.slug,
                        "status": o.status,
                        "currency": o.currency,
                        "timezone": o.timezone,
                        "live_tokens": n,
                    }
                    for o, n in rows
                ]
            )
        )
        return 0
    if not rows:
        _out("No organisations yet. Create one with: market-mcp org create --name NAME --slug SLUG")
    for org, tokens in rows:
        _out(f"{org.slug:<24} {org.status:<7} {org.currency} {org.timezone:<22} {tokens} live token(s)  {org.name}")
    return 0


async def cmd_org_set_status(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    from market_mcp.services import organizations

    await _ready(db)
    async with db.transaction(write=True) as session:
        org = await organizations.set_status(session, args.slug, args.status)
    _out(f"{org.name} ({org.slug}) is now {org.status}.")
    return 0


async def cmd_org_invoice_details(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    from market_mcp.services import organizations

    await _ready(db)
    changes = dict(
        legal_name=args.legal_name, tax_number=args.tax_number, tax_rate=args.tax_rate, tax_label=args.tax_label
    )
    async with db.transaction(write=any(v is not None for v in changes.values())) as session:
        if any(v is not None for v in changes.values()):
            org = await organizations.set_invoice_details(session, args.slug, **changes)
        else:
            org = await organizations.get_organization(session, args.slug)
        details = organizations.invoice_details(org)
    if args.json:
        _out(json.dumps(details))
        return 0
    rate = details["tax_rate"]
    _out(f"Invoices and receipts of {org.name} ({org.slug}):")
    _out(f"  legal name  {details['legal_name'] or '- (its name is used)'}")
    _out(f"  tax number  {details['tax_number'] or '-'}")
    tax = f"{rate:g}% {details['tax_label']}, included in every amount" if rate else "- (none shown)"
    _out(f"  tax         {tax}")
    _out(f"  issued      {details['invoices_issued']} invoice(s), {details['receipts_issued']} receipt(s)")
    return 0


async def cmd_token_create(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    from market_mcp.services import organizations

    await _ready(db)
    async with db.transaction(write=True) as session:
        token, raw = await organizations.create_token(session, slug=args.org, name=args.name, read_only=args.read_only)
    if args.json:
        _out(
            json.dumps(
                {"id": token.id, "name": token.name, "scope": token.scope, "prefix": token.prefix, "token": raw},
                ensure_ascii=False,
            )
        )
    else:
        _out(f"Created {token.scope} token {token.id} ({token.name}) for {args.org}.")
        _out("It is shown only this once: store it now (e.g. as MARKET_MCP_TOKEN).")
        _out(raw)
    return 0


async def cmd_token_list(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    from market_mcp.oauth.provider import grants_of
    from market_mcp.services import organizations

    await _ready(db)
    async with db.transaction() as session:
        tokens = await organizations.list_tokens(session, args.org)
        org = await organizations.get_organization(session, args.org)
        grants = await grants_of(session, org.id)  # type: ignore[arg-type]
    if args.json:
        rows = [
            {
                "id": t.id,
                "kind": "api",
                "name": t.name,
                "scope": t.scope,
                "prefix": t.prefix,
                "created_at": t.created_at.isoformat(),
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
            }
            for t in tokens
        ] + [
            {
                "id": f"c{g.id}",
                "kind": "connector",
                "name": g.client_name,
                "scope": g.scope,
                "client_id": g.client_id,
                "api_token_id": g.api_token_id,
                "created_at": (g.approved_at or g.created_at).isoformat(),
                "last_used_at": g.last_used_at.isoformat() if g.last_used_at else None,
                "revoked_at": g.revoked_at.isoformat() if g.revoked_at else None,
            }
            for g in grants
        ]
        _out(json.dumps(rows))
        return 0
    if not tokens:
        _out(f"No tokens for {args.org}. Create one with: market-mcp token create --org {args.org}")
    for t in tokens:
        state = f"revoked {_when(t.revoked_at)}" if t.revoked_at else "live"
        _out(
            f"{t.id:>5}  {t.prefix:<14} {t.scope:<5}  created {_when(t.created_at)}  "
            f"last used {_when(t.last_used_at)}  {state}  {t.name}"
        )
    if grants:
        _out("Connectors (applications an organiser approved in the browser, through the token shown):")
    for g in grants:
        state = f"revoked {_when(g.revoked_at)}" if g.revoked_at else "live"
        _out(
            f"{'c' + str(g.id):>5}  via token {g.api_token_id:<5}{g.scope:<5}  created {_when(g.approved_at)}  "
            f"last used {_when(g.last_used_at)}  {state}  {g.client_name}"
        )
    return 0


async def cmd_token_revoke(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    from market_mcp.oauth.provider import revoke_grant
    from market_mcp.services import organizations

    await _ready(db)
    which = args.token_id.strip()
    if which[:1].lower() == "c" and which[1:].isdigit():
        async with db.transaction(write=True) as session:
            grant = await revoke_grant(session, int(which[1:]))
        if grant is None:
            raise NotFound(f"Connector {which} not found; see `market-mcp token list --org SLUG`.")
        _out(f"Connector {which} ({grant.client_name}) is revoked; its access and refresh tokens stop working now.")
        return 0
    if not which.isdigit():
        raise Invalid(f"{which!r} is not a token id: use the number (or cN for a connector) from `token list`.")
    async with db.transaction(write=True) as session:
        token = await organizations.revoke_token(session, int(which))
    _out(f"Token {token.id} ({token.name}) is revoked; calls with it are refused from now on.")
    return 0


async def cmd_tools(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    from mcp.types import ListToolsResult

    from market_mcp.server import build_server

    server = build_server(settings, db=db)
    tools = await server.list_tools()
    if args.json:
        _out(
            json.dumps(ListToolsResult(tools=tools).model_dump(mode="json", by_alias=True, exclude_none=True), indent=2)
        )
        return 0
    for name, toolset in ((n, t) for n, t in _toolsets_by_tool().items()):
        tool = next(t for t in tools if t.name == name)
        kind = "read " if tool.annotations and tool.annotations.read_only_hint else "write"
        summary = (tool.description or "").split(". ")[0].rstrip(".")
        _out(f"{toolset:<13} {kind}  {name:<26} {summary[:90]}")
    return 0


def _toolsets_by_tool() -> dict[str, str]:
    from market_mcp.tools import TOOLSETS

    return {spec.name: toolset.name for toolset in TOOLSETS.values() for spec in toolset.tools}


def claude_desktop_config(token: str, settings: Settings) -> dict[str, Any]:
    return {
        "mcpServers": {
            "market-mcp": {
                "command": sys.executable,
                "args": ["-m", "market_mcp", "serve"],
                "env": {"MARKET_MCP_TOKEN": token, "MARKET_MCP_DATABASE_URL": settings.database_url},
            }
        }
    }


async def cmd_demo(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    from market_mcp.demo import DEMO_SLUG, populate_demo
    from market_mcp.services import organizations

    await _ready(db)
    say = _err if args.serve else _out
    async with db.transaction(write=True) as session:
        try:
            org = await organizations.get_organization(session, DEMO_SLUG)
            made = None
        except MarketError:
            org, _ = await organizations.create_organization(
                session, name="Harbour & Hills Markets", slug=DEMO_SLUG, admin_email="admin@demo.example.com"
            )
            made = await populate_demo(session, org.id)  # type: ignore[arg-type]
        token, raw = await organizations.create_token(session, slug=DEMO_SLUG, name="demo token")
    if made is None:
        say(f"The demo organisation {org.name} ({DEMO_SLUG}) already exists; here is a new token for it.")
    else:
        say(
            f"Created the demo organisation {org.name} ({DEMO_SLUG}): "
            + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in made.items())
            + "."
        )
    say(f"Database: {db.url.render_as_string(hide_password=True)}")
    say("Claude Desktop: put this in claude_desktop_config.json (Settings > Developer > Edit Config), then restart it:")
    say(json.dumps(claude_desktop_config(raw, settings), indent=2))
    say(f"Demo token (write scope, shown once; token id {token.id}):")
    say(raw)
    if not args.serve:
        return 0
    say("Serving on stdio (standard input/output carry MCP JSON-RPC; Ctrl-C stops).")
    await _serve(settings, db, token=raw, toolsets=None, read_only=False)
    return 0


async def _serve(
    settings: Settings, db: Database | None, *, token: str | None, toolsets: list[str] | None, read_only: bool
) -> None:
    """stdio: initialize and tools/list answered at once, the store loaded after (market_mcp.front)."""
    from market_mcp.front import StdioFront

    await StdioFront(settings, token=token, toolsets=toolsets, read_only=read_only, db=db).run_stdio_async()


def _allowed_hosts(host: str, port: int, public_url: str) -> Any:
    """DNS-rebinding protection for a loopback server, which also admits the public URL a proxy forwards."""
    from urllib.parse import urlsplit

    from mcp.server.transport_security import TransportSecuritySettings

    if host not in ("127.0.0.1", "localhost", "::1"):
        return None  # listening beyond loopback: the SDK's default (no Host check) applies
    public = urlsplit(public_url)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*", public.netloc, public.hostname or ""],
        allowed_origins=[
            "http://127.0.0.1:*",
            "http://localhost:*",
            "http://[::1]:*",
            f"{public.scheme}://{public.netloc}",
        ],
    )


def _base_url(host: str, port: int, public_url: str | None) -> str:
    """Where clients reach the server: --public-url, else the address it listens on (https unless loopback)."""
    from urllib.parse import urlsplit

    url = (public_url or f"http://{'localhost' if host in ('0.0.0.0', '::') else host}:{port}").rstrip("/")
    if not url.startswith("https://") and urlsplit(url).hostname not in ("localhost", "127.0.0.1", "::1"):
        raise Invalid(f"--public-url must be https:// (OAuth sign-in requires it), not {url}; put TLS in front.")
    return url


async def _serve_http(
    settings: Settings,
    db: Database,
    *,
    host: str,
    port: int,
    stateless: bool,
    public_url: str | None,
    toolsets: list[str] | None,
    read_only: bool,
    worker: bool = False,
) -> None:
    """One server process; with `worker`, one of `--workers`' (the parent migrated the store; this process binds
    its own SO_REUSEPORT socket and says nothing at start-up: the parent did)."""
    import uvicorn

    from market_mcp.server import build_server
    from market_mcp.serving import uvicorn_config
    from market_mcp.workers import listening_sockets

    if not worker:
        await _ready(db)
    url = _base_url(host, port, public_url)
    if public_url and not settings.public_url:  # --public-url: vendors' links and calendars point here too
        settings.public_url = url
    server = build_server(settings, db=db, toolsets=toolsets, read_only=read_only, public_url=url)
    app = server.streamable_http_app(
        stateless_http=stateless, json_response=True, host=host, transport_security=_allowed_hosts(host, port, url)
    )
    config = uvicorn_config(app, settings, host=host, port=port)
    sockets = listening_sockets(host, port) if worker else None
    if not worker:
        _err(f"market-mcp: Streamable HTTP on {url}/mcp{' (stateless)' if stateless else ''}; health at {url}/healthz")
    async with server.delivering():
        await uvicorn.Server(config).serve(sockets=sockets)


async def _serve_http_workers(args: argparse.Namespace, db: Database) -> int:
    """`--workers N`: migrate once, then N worker processes on the port until they stop (see workers.py)."""
    from market_mcp.workers import supervise, worker_environment

    await _ready(db)
    command = [sys.executable, "-m", "market_mcp", "serve", "--transport", "http", "--stateless", "--worker"]
    command += ["--host", args.host, "--port", str(args.port)]
    command += ["--public-url", args.public_url] if args.public_url else []
    command += ["--toolsets", args.toolsets] if args.toolsets else []
    command += ["--read-only"] if args.read_only else []
    url = _base_url(args.host, args.port, args.public_url)
    _err(
        f"market-mcp: Streamable HTTP on {url}/mcp (stateless, {args.workers} worker processes; the rate limit is "
        f"counted in the database); health at {url}/healthz"
    )
    return await supervise(command, args.workers, worker_environment(os.environ))


async def cmd_serve(args: argparse.Namespace, settings: Settings, db: Database | None) -> int:
    toolsets = [t.strip() for t in args.toolsets.split(",") if t.strip()] if args.toolsets else None
    if args.transport == "http":
        assert db is not None  # main() opens the store for HTTP; stdio opens its own, after its first answer
    if args.transport == "http" and args.workers > 1:
        return await _serve_http_workers(args, db)
    if args.transport == "http":
        await _serve_http(
            settings,
            db,
            host=args.host,
            port=args.port,
            stateless=args.stateless,
            public_url=args.public_url,
            toolsets=toolsets,
            read_only=args.read_only,
            worker=args.worker,
        )
        return 0
    token = settings.token.get_secret_value() if settings.token else None
    await _serve(settings, db, token=token, toolsets=toolsets, read_only=args.read_only)
    return 0


async def cmd_bundle(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    from market_mcp.bundle import build

    path = build(Path(args.output or f"dist/market-mcp-{__version__}.mcpb"))
    _err(f"Built {path}: open it with Claude Desktop (or drag it onto Settings → Extensions) to install.")
    _out(str(path))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="market-mcp", description="Run your markets by chatting with an AI assistant.")
    p.add_argument("--version", action="version", version=f"market-mcp {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run the MCP server: stdio (token from MARKET_MCP_TOKEN, or none on this computer's own store for the "
        "organisation MARKET_MCP_ORG_NAME names) or Streamable HTTP (bearer tokens)",
    )
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="http: address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="http: port (default 8000)")
    serve.add_argument(
        "--stateless", action="store_true", help="http: no server-side sessions (replicas need no sticky sessions)"
    )
    serve.add_argument(
        "--public-url",
        help="http: the URL clients (and vendors' links and calendars) reach this server at (default http://HOST:PORT)",
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        metavar="N",
        help="http --stateless: N server processes on the port, each with its own listener (default 1)",
    )
    serve.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # one of --workers' processes
    serve.add_argument("--toolsets", help="comma-separated toolsets to expose (default: all)")
    serve.add_argument("--read-only", action="store_true", help="expose only tools that read")
    serve.set_defaults(handler=cmd_serve)

    sub.add_parser("init", help="create or upgrade the database").set_defaults(handler=cmd_init)

    bundle = sub.add_parser("bundle", help="build an MCP bundle (.mcpb) for one-click install in Claude Desktop")
    bundle.add_argument("--output", help="where to write it (default dist/market-mcp-VERSION.mcpb)")
    bundle.set_defaults(handler=cmd_bundle)

    demo = sub.add_parser("demo", help="create a demo organisation with realistic data and print a token")
    demo.add_argument("--serve", action="store_true", help="then serve it on stdio (messages go to stderr)")
    demo.set_defaults(handler=cmd_demo)

    org = sub.add_parser("org", help="organisations").add_subparsers(
        dest="org_command", required=True, metavar="ACTION"
    )
    create = org.add_parser("create", help="a new, active organisation with an admin user")
    create.add_argument("--name", required=True)
    create.add_argument("--slug", required=True)
    create.add_argument("--admin-email")
    create.add_argument("--currency", default="AUD")
    create.add_argument("--timezone", default="Australia/Melbourne")
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=cmd_org_create)
    listing = org.add_parser("list", help="every organisation")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_org_list)
    status = org.add_parser("set-status", help="activate an organisation, or put it in draft")
    status.add_argument("slug")
    status.add_argument("status", choices=["active", "draft"])
    status.set_defaults(handler=cmd_org_set_status)
    details = org.add_parser(
        "invoice-details",
        help="what invoices and receipts say: legal name, tax number, tax rate (amounts are tax-inclusive); "
        "no option shows them, an empty value clears one",
    )
    details.add_argument("slug")
    details.add_argument("--legal-name", help="e.g. Riverside Markets Pty Ltd (default: the organisation's name)")
    details.add_argument("--tax-number", help="e.g. an ABN or a VAT number")
    details.add_argument("--tax-rate", metavar="PERCENT", help="e.g. 10 for 10%% GST; 0 or empty: no tax")
    details.add_argument("--tax-label", help="GST, VAT… (default: GST in AUD, NZD and similar, else VAT)")
    details.add_argument("--json", action="store_true")
    details.set_defaults(handler=cmd_org_invoice_details)

    token = sub.add_parser("token", help="API tokens").add_subparsers(
        dest="token_command", required=True, metavar="ACTION"
    )
    tcreate = token.add_parser("create", help="a new token, printed once on the last line")
    tcreate.add_argument("--org", required=True, metavar="SLUG")
    tcreate.add_argument("--name")
    tcreate.add_argument("--read-only", action="store_true")
    tcreate.add_argument("--json", action="store_true")
    tcreate.set_defaults(handler=cmd_token_create)
    tlist = token.add_parser("list", help="an organisation's tokens (never the tokens themselves)")
    tlist.add_argument("--org", required=True, metavar="SLUG")
    tlist.add_argument("--json", action="store_true")
    tlist.set_defaults(handler=cmd_token_list)
    revoke = token.add_parser("revoke", help="revoke a token, or a connector (cN), by its id in `token list`")
    revoke.add_argument("token_id", metavar="ID")
    revoke.set_defaults(handler=cmd_token_revoke)

    tools = sub.add_parser("tools", help="the tool catalog, as tools/list returns it")
    tools.add_argument("--json", action="store_true")
    tools.set_defaults(handler=cmd_tools)
    return p


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> None:
    arguments = parser()
    args = arguments.parse_args(argv)
    if getattr(args, "workers", 1) > 1 and not (args.transport == "http" and args.stateless):
        arguments.error(
            "--workers needs --transport http --stateless: each worker is a process of its own, and a session "
            "lives in one process's memory"
        )
    settings = Settings()
    logging.basicConfig(
        stream=sys.stderr, level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    # aiosqlite logs every statement with its parameters at DEBUG: contact details, and any token a person
    # pasted into a note. Debugging market-mcp must not put those in its log.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, logging.getLogger().level))

    stdio = args.handler is cmd_serve and args.transport == "stdio"
    if stdio:
        # What answers initialize and tools/list, imported and read with the collector paused (as `python -m
        # market_mcp` pauses it for everything before): what they make lives as long as the process, so
        # collecting among it is wasted time at start, and frozen it is never looked at again.
        gc.disable()
        from market_mcp.front import catalog

        catalog.listed()
        gc.freeze()
    gc.enable()

    async def run() -> int:
        if stdio:
            return await cmd_serve(args, settings, None)  # the store is opened after the first answer
        from market_mcp.db import Database

        db = Database(settings.database_url)
        try:
            return await args.handler(args, settings, db)
        finally:
            await db.dispose()

    try:
        code = anyio.run(run)
    except MarketError as refusal:
        _err(f"error: {refusal.message}")
        code = 1
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
