"""A local stand-in for the one Stripe endpoint payment links call (POST /v1/checkout/sessions), and Stripe's
webhook deliveries signed with the library's own signing. Only the tests use it: the product talks to it through
MARKET_MCP_STRIPE_API_BASE as it would to Stripe."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import stripe

API_KEY = "sk_test_standin"
WEBHOOK_SECRET = "whsec_standin"


def nested(form: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (line_items[0][price_data][currency]=aud) back into dicts and lists."""
    out: dict[str, Any] = {}
    for key, value in form:
        parts = re.findall(r"[^\[\]]+", key)
        here = out
        for part in parts[:-1]:
            here = here.setdefault(part, {})
        here[parts[-1]] = value
    return _lists(out)  # type: ignore[no-any-return]


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        if value and all(k.isdigit() for k in value):
            return [_lists(value[k]) for k in sorted(value, key=int)]
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lists(v) for v in value]
    return value


@dataclass
class Request:
    path: str
    authorization: str
    idempotency_key: str | None
    params: dict[str, Any]


@dataclass
class StandIn:
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    failing: bool = False  # answer every request as Stripe answers a refused one
    _sessions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        if self.failing:
            return 400, {"error": {"type": "invalid_request_error", "message": "Your account cannot take payments."}}
        if request.path != "/v1/checkout/sessions":
            return 404, {
                "error": {"type": "invalid_request_error", "message": f"Unrecognized request URL {request.path}"}
            }
        key = request.idempotency_key or f"none-{len(self.requests)}"
        if key not in self._sessions:
            number = len(self._sessions) + 1
            line = request.params["line_items"][0]["price_data"]
            self._sessions[key] = {
                "id": f"cs_test_{number}",
                "object": "checkout.session",
                "mode": "payment",
                "status": "open",
                "payment_status": "unpaid",
                "amount_total": int(line["unit_amount"]),
                "currency": line["currency"],
                "metadata": request.params.get("metadata", {}),
                "url": f"https://checkout.stripe.test/c/pay/cs_test_{number}",
                "expires_at": int(time.time()) + 24 * 3600,
            }
        return 200, self._sessions[key]


@contextmanager
def stripe_standin() -> Iterator[StandIn]:
    """The stand-in on a free loopback port, recording what it was asked; stopped after."""
    standin = StandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
            request = Request(
                path=self.path,
                authorization=self.headers.get("authorization", ""),
                idempotency_key=self.headers.get("idempotency-key"),
                params=nested(parse_qsl(body, keep_blank_values=True)),
            )
            standin.requests.append(request)
            status, payload = standin.answer(request)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()


def paid_event(
    session: dict[str, Any], *, event_id: str = "evt_1", kind: str = "checkout.session.completed", **changes: Any
) -> str:
    """A Checkout session's event as Stripe sends it, the session paid."""
    paid = session | {"status": "complete", "payment_status": "paid", "payment_intent": "pi_" + session["id"]}
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": kind,
            "api_version": "2025-01-27",
            "created": int(time.time()),
            "data": {"object": paid | changes},
        }
    )


def signed(payload: str, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    """The headers of a delivery, signed as Stripe signs it (the library's own signing)."""
    return {
        "content-type": "application/json",
        "stripe-signature": stripe.WebhookSignature.generate_signature_header(payload, secret),
    }
