"""The sign-in and consent page an organiser sees when ChatGPT or Claude asks to connect.

Server-rendered HTML with no script: the organiser pastes an organisation API token to prove who they
are, sees which application is asking and where it will send them back, chooses read-only or full access,
and approves or denies. The form carries an anti-forgery secret both as a cookie and as a field (and the
request it answers keeps its hash); the page may not be framed, cached or referred onwards.
"""

from __future__ import annotations

from html import escape

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request as HttpRequest
from starlette.responses import HTMLResponse, RedirectResponse, Response

from market_mcp.auth import TOKEN_PREFIX, TokenIdentity, authenticate
from market_mcp.errors import Forbidden, Unauthorized
from market_mcp.oauth import client_documents
from market_mcp.oauth.provider import WRITE, MarketAuthorization, Request, return_host

CSRF_COOKIE = "market_mcp_consent"
MAX_FORM_BYTES = 8 * 1024  # the route is wrapped in a body limit of this size
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
GONE = "This sign-in request has expired or was already answered. Go back to the application and connect again."

STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f5f5f2;color:#1d1d1b}
main{max-width:34rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border-radius:8px;
box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin-top:0}
.who{background:#eef3ee;padding:.75rem 1rem;border-radius:6px}
.error{background:#fdecea;border-left:4px solid #b3261e;padding:.75rem 1rem;color:#5c1a14}
label{display:block;font-weight:600;margin:.25rem 0}
input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;border:1px solid #777;
border-radius:4px}
fieldset{border:1px solid #ccc;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
fieldset label{font-weight:normal}
.hint{color:#555;font-size:.9rem;margin:.25rem 0 0}
.actions{display:flex;gap:1rem;margin-top:1.5rem}
button{font:inherit;padding:.6rem 1.2rem;border-radius:4px;border:1px solid #1d4d2b;cursor:pointer}
button[value=approve]{background:#1d4d2b;color:#fff}
button[value=deny]{background:#fff;color:#1d4d2b}
:focus-visible{outline:3px solid #e0a800;outline-offset:2px}
"""


def _page(title: str, body: str, status: int = 200, cookie: tuple[str, bool] | None = None) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · market-mcp</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    response = HTMLResponse(html, status_code=status, headers=HEADERS)
    if cookie is not None:
        value, secure = cookie
        response.set_cookie(
            CSRF_COOKIE, value, max_age=600, path="/consent", secure=secure, httponly=True, samesite="strict"
        )
    return response


def problem(message: str, status: int) -> HTMLResponse:
    return _page(
        "Cannot connect", f'<h1>Cannot connect</h1><p class="error" role="alert">{escape(message)}</p>', status
    )


def _form(request_id: str, request: Request, csrf: str, error: str | None = None, chosen: str = "read") -> str:
    client = request.client
    name = escape(client.client_name or "An unnamed application")
    back_to = escape(return_host(request.redirect_uri))
    where = (
        f"It identifies itself by <strong>{escape(client.client_id)}</strong>."
        if client_documents.is_document_url(client.client_id)
        else "Its name is its own description of itself: check the address below is one you expect."
    )
    can_write = WRITE in request.scopes
    chosen = chosen if can_write else "read"
    alert = f'<p class="error" role="alert" id="problem">{escape(error)}</p>' if error else ""
    # After an error, the keyboard starts where the fix goes, and the error is read with the field.
    described = ' aria-describedby="problem token-hint" autofocus' if error else ' aria-describedby="token-hint"'

    def option(value: str, label: str, hint: str, enabled: bool = True) -> str:
        checked = " checked" if value == chosen else ""
        disabled = "" if enabled else " disabled"
        return (
            f'<label><input type="radio" name="access" value="{value}" aria-describedby="{value}-hint"'
            f'{checked}{disabled}> {label}</label><p class="hint" id="{value}-hint">{hint}</p>'
        )

    write_hint = "Also approve, book, cancel, credit and email vendors."
    if not can_write:
        write_hint += f" Not offered: {name} asked for read-only access."

    return f"""
<h1>Connect {name} to your market</h1>
<div class="who"><p><strong>{name}</strong> wants to work with your markets, vendors, bookings and emails
on your behalf. {where}</p>
<p>After you answer you will be sent back to <strong>{back_to}</strong>.</p></div>
{alert}
<form method="post" action="/consent">
<input type="hidden" name="request" value="{escape(request_id)}">
<input type="hidden" name="csrf" value="{escape(csrf)}">
<label for="token">Organisation API token</label>
<input type="password" id="token" name="token" autocomplete="off" spellcheck="false" required
 aria-required="true"{described}>
<p class="hint" id="token-hint">The token <code>market-mcp token create</code> printed (it starts with <code>mk_org_</code>).
It proves who you are and is not given to {name}.</p>
<fieldset><legend>Access</legend>
{option("read", "Read only", "Look up markets, vendors, bookings and figures; change nothing.")}
{option("write", "Full access", write_hint, can_write)}
</fieldset>
<div class="actions">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</div>
</form>"""


class ConsentPage:
    """GET and POST /consent."""

    def __init__(self, authorization: MarketAuthorization) -> None:
        self.authorization = authorization
        self.db = authorization.db
        self.secure_cookie = authorization.issuer.startswith("https://")

    async def show(self, http: HttpRequest) -> Response:
        request_id = http.query_params.get("request", "")
        async with self.db.transaction(write=True) as session:
            request = await self.authorization.pending(session, request_id) if request_id else None
            if request is None or request.expired:
                return problem(GONE, 400)
            csrf = await self.authorization.set_csrf(session, request)
        name = request.client.client_name or "an application"
        return _page(f"Connect {name}", _form(request_id, request, csrf), cookie=(csrf, self.secure_cookie))

    async def answer(self, http: HttpRequest) -> Response:
        form = await http.form(max_files=0, max_fields=10)
        field = {key: value for key, value in form.items() if isinstance(value, str)}
        request_id, csrf = field.get("request", ""), field.get("csrf", "")
        async with self.db.transaction(write=True) as session:
            request = await self.authorization.pending(session, request_id) if request_id else None
            if request is None or request.expired:
                return problem(GONE, 400)
            cookie = http.cookies.get(CSRF_COOKIE, "")
            if not csrf or cookie != csrf or not await self.authorization.csrf_matches(session, request, csrf):
                return problem(
                    "This form could not be verified (it was opened in another window, or cookies are blocked). "
                    "Reload the page and try again.",
                    403,
                )
            if field.get("decision") == "deny":
                return RedirectResponse(await self.authorization.deny(session, request), 303, headers=HEADERS)
            access = field.get("access", "read")
            identity, error = await _organiser(session, request, field.get("token", "").strip(), access)
            if identity is not None:
                url = await self.authorization.approve(session, request, identity, access)
                return RedirectResponse(url, 303, headers=HEADERS)
        title = f"Problem: connect {request.client.client_name or 'an application'}"
        return _page(title, _form(request_id, request, csrf, error, access), 400)


async def _organiser(
    session: AsyncSession, request: Request, token: str, access: str
) -> tuple[TokenIdentity | None, str | None]:
    """Who is approving, or what is wrong with the form (said so that they can put it right)."""
    if access not in ("read", "write"):
        return None, "Choose read only or full access."
    if access == "write" and WRITE not in request.scopes:
        return None, "This application asked for read-only access; choose read only."
    if not token:
        return None, "Paste your organisation API token."
    if not token.startswith(TOKEN_PREFIX):
        return None, f"That is not an organisation API token: those start with {TOKEN_PREFIX}."
    try:
        identity = await authenticate(session, token)
    except Unauthorized:
        return None, "That token was not recognised, or it has been revoked. Check it, or create a new one."
    except Forbidden as refusal:
        return None, refusal.message
    if access == "write" and identity.scope != "write":
        return (
            None,
            "That token is read-only, so it can only grant read-only access: choose read only, or use a write token.",
        )
    return identity, None
