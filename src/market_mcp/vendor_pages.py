"""The HTTP server's pages for vendors (no token: the link is the credential).

GET /v/{token} shows what a vendor link asks and one form of clearly labelled buttons; POST /v/{token} does it
(services/vendor_links.py). Plain HTML that works without JavaScript; the form posts back to its own address, which
carries the token, and no cookie is read, so another site cannot make a vendor's browser act for them. An unknown
link is a 404 page, a used or expired one a 410 page, each saying whom to contact.

GET /ical/{token}.ics: a calendar feed (services/calendars.py), text/calendar; an unknown token is 404.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from market_mcp.db import Database
from market_mcp.services import calendars, vendor_links
from market_mcp.services.vendor_links import Page

if TYPE_CHECKING:
    from market_mcp.mail import Mailer

logger = logging.getLogger("market_mcp.vendor_pages")

MAX_FORM_BYTES = 1000
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the address is the link: never passed on
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'",
}
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5;"
    "color:#1a1a1a;background:#fff}h1{font-size:1.5rem}form{margin-top:1.5rem;display:flex;gap:1rem;flex-wrap:wrap}"
    "button{font-size:1.1rem;padding:.7rem 1.3rem;border-radius:.4rem;border:2px solid #1a4d2e;cursor:pointer}"
    "button.primary{background:#1a4d2e;color:#fff}button.secondary{background:#fff;color:#1a4d2e}"
    "button:focus{outline:3px solid #f2a900;outline-offset:2px}footer{margin-top:2rem;color:#555;font-size:.9rem}"
)


def render(page: Page) -> HTMLResponse:
    e = html.escape
    body = "".join(f"<p>{e(p)}</p>" for p in page.paragraphs)
    if page.buttons:
        buttons = "".join(
            f'<button type="submit" name="choice" value="{e(value)}" class="{"primary" if i == 0 else "secondary"}">'
            f"{e(label)}</button>"
            for i, (value, label) in enumerate(page.buttons)
        )
        body += f'<form method="post" aria-label="Your answer">{buttons}</form>'
    footer = f"<footer>{e(page.organization_name)}</footer>" if page.organization_name else ""
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{e(page.title)}</title><style>{STYLE}</style></head>'
        f"<body><main><h1>{e(page.title)}</h1>{body}</main>{footer}</body></html>"
    )
    return HTMLResponse(document, status_code=page.status, headers=HEADERS)


def routes(db: Database, clock: Callable[[], datetime], mailer: Mailer | None, base: str | None) -> list[Route]:
    """/v/{token} and /ical/{token}.ics; `base` is the public URL the links in emails made from here point to."""

    async def vendor_link(request: Request) -> Response:
        token = request.path_params["token"]
        if request.method == "GET":
            return render(await vendor_links.show(db, token, clock))
        raw = await request.body()
        if len(raw) > MAX_FORM_BYTES:
            return render(Page(413, "Please choose one of the buttons", [], []))
        choice = (parse_qs(raw.decode("utf-8", "replace")).get("choice") or [""])[0]
        page, queued = await vendor_links.answer(db, token, choice, clock, email_delivery=mailer is not None, base=base)
        if queued and mailer is not None:
            mailer.kick()
        return render(page)

    async def ical(request: Request) -> Response:
        body = await calendars.feed(db, request.path_params["token"])
        if body is None:
            return Response("No calendar at this address.\n", status_code=404, media_type="text/plain")
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"Cache-Control": "private, max-age=300", "Content-Disposition": 'inline; filename="market.ics"'},
        )

    return [
        Route("/v/{token}", vendor_link, methods=["GET", "POST"]),
        Route("/ical/{token}.ics", ical, methods=["GET"]),
    ]
