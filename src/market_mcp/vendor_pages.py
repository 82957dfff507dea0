"""The HTTP server's pages for vendors (no token: the link is the credential).

GET /v/{token} shows what a vendor link asks and one form of clearly labelled buttons; POST /v/{token} does it
(services/vendor_links.py). A link that asks for a document shows labelled inputs (the file, its expiry date, its
number) in a form posting multipart/form-data, at most MAX_UPLOAD_BYTES (a larger body is a 413 page); the other
links' forms are small and url-encoded. Plain HTML that works without JavaScript; the form posts back to its own
address, which carries the token, and no cookie is read, so another site cannot make a vendor's browser act for
them. An unknown link is a 404 page, a used or expired one a 410 page, each saying whom to contact.

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
from market_mcp.services.vendor_links import Input, Page, Submitted

if TYPE_CHECKING:
    from market_mcp.mail import Mailer

logger = logging.getLogger("market_mcp.vendor_pages")

MAX_FORM_BYTES = 1000
MAX_UPLOAD_BYTES = 6 * 1024 * 1024  # a document's file (at most 5 MB: services/compliance.py) and its fields
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
    "form.fields{flex-direction:column;align-items:flex-start}label{font-weight:600;display:block}"
    ".hint{color:#444;font-size:.95rem;display:block}input{font-size:1rem;padding:.4rem;margin-top:.3rem}"
    "input:focus{outline:3px solid #f2a900;outline-offset:2px}"
    ".error{border-left:4px solid #b00020;padding:.5rem 1rem;background:#fdecee}"
)


def _input(item: Input) -> str:
    e = html.escape
    ident = f"f-{e(item.name)}"
    hint = f'<span class="hint" id="{ident}-hint">{e(item.hint)}</span>' if item.hint else ""
    attributes = f'type="{e(item.type)}" id="{ident}" name="{e(item.name)}"'
    if item.hint:
        attributes += f' aria-describedby="{ident}-hint"'
    if item.required:
        attributes += " required"
    if item.max_length:
        attributes += f' maxlength="{item.max_length}"'
    if item.accept:
        attributes += f' accept="{e(item.accept)}"'
    if item.value and item.type != "file":
        attributes += f' value="{e(item.value)}"'
    return f'<div><label for="{ident}">{e(item.label)}</label>{hint}<input {attributes}></div>'


def render(page: Page) -> HTMLResponse:
    e = html.escape
    body = "".join(f"<p>{e(p)}</p>" for p in page.paragraphs)
    if page.error:
        body += f'<p class="error" role="alert">{e(page.error)}</p>'
    if page.inputs:
        fields = "".join(_input(item) for item in page.inputs)
        value, label = page.buttons[0]
        body += (
            '<form method="post" enctype="multipart/form-data" class="fields" aria-label="The new document">'
            f'{fields}<button type="submit" name="choice" value="{e(value)}" class="primary">{e(label)}</button>'
            "</form>"
        )
    elif page.buttons:
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


async def _body(request: Request, most: int) -> bytes | None:
    """The request's body, or None past `most` bytes (read no further than that, whatever Content-Length says)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > most:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > most:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(multipart: bool) -> Page:
    if not multipart:
        return Page(413, "Please choose one of the buttons", [], [])
    limit = MAX_UPLOAD_BYTES // 1024 // 1024
    return Page(
        413,
        "The file is too large",
        [f"The upload was larger than {limit} MB. Please go back and choose a smaller scan or photo (at most 5 MB)."],
        [],
    )


async def _submitted(request: Request, raw: bytes) -> Submitted | None:
    """A multipart form's text fields and its one file, or None when it cannot be read."""

    async def replay() -> dict[str, object]:
        return {"type": "http.request", "body": raw, "more_body": False}

    try:
        async with Request(request.scope, replay).form(max_files=1, max_fields=10) as form:
            fields, filename, content = {}, "", b""
            for key, value in form.multi_items():
                if isinstance(value, str):
                    fields[key] = value
                elif key == "file":
                    filename, content = value.filename or "", await value.read()
            return Submitted(fields, filename, content)
    except Exception:  # a malformed body, too many parts: the multipart parser's refusals
        logger.info("an unreadable vendor form was refused")
        return None


def routes(db: Database, clock: Callable[[], datetime], mailer: Mailer | None, base: str | None) -> list[Route]:
    """/v/{token} and /ical/{token}.ics; `base` is the public URL the links in emails made from here point to."""

    async def vendor_link(request: Request) -> Response:
        token = request.path_params["token"]
        if request.method == "GET":
            return render(await vendor_links.show(db, token, clock))
        multipart = request.headers.get("content-type", "").lower().startswith("multipart/form-data")
        most = MAX_UPLOAD_BYTES if multipart else MAX_FORM_BYTES
        raw = await _body(request, most)
        if raw is None:
            return render(_too_large(multipart))
        delivery = {"email_delivery": mailer is not None, "base": base}
        if multipart:
            submitted = await _submitted(request, raw)
            if submitted is None:
                return render(Page(400, "Please use the form on the page", ["The form could not be read."], []))
            page, queued = await vendor_links.submit(db, token, submitted, clock, **delivery)  # type: ignore[arg-type]
        else:
            choice = (parse_qs(raw.decode("utf-8", "replace")).get("choice") or [""])[0]
            page, queued = await vendor_links.answer(db, token, choice, clock, **delivery)  # type: ignore[arg-type]
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
