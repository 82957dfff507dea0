"""A week of an organiser's requests, as Claude Desktop makes them: over stdio, reading only each result's text.

Every answer is checked for what a model could wrongly repeat: a preview that reads as done, queued email that
reads as sent, rows of a cancellation still in their old state, a list that does not say there is more, a
follow-up that lists something other than what was counted, a refusal that does not name the fix.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from mcp import Client

from tests.factories import Tenant
from tests.test_stdio import _stdio

DONE_ONLY = {"emails", "cancelled", "created", "bookings", "recipients", "recipient_count", "credits_issued_cents"}


class Organiser:
    """The assistant's side of the chat: it reads each result's text, as Claude Desktop does, and nothing else."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.read: list[tuple[str, dict[str, Any]]] = []

    async def ask(self, tool: str, **arguments: Any) -> dict[str, Any]:
        result = await self.client.call_tool(tool, arguments)
        (content,) = result.content
        said = json.loads(content.text)  # type: ignore[union-attr]
        assert not result.is_error, f"{tool}: {said}"
        self.read.append((tool, said))
        return said

    async def refused(self, tool: str, **arguments: Any) -> str:
        result = await self.client.call_tool(tool, arguments)
        said = json.loads(result.content[0].text)  # type: ignore[union-attr]
        assert result.is_error and set(said) == {"error", "code"}, said
        return said["error"]


def tells_the_truth(tool: str, said: dict[str, Any]) -> None:
    """What no result may let a model say: previews as done, queued mail as sent, a page without its bearings."""
    if said.get("dry_run") is True:
        assert said["note"].startswith("Preview only: "), tool
        assert not DONE_ONLY & set(said), f"{tool}: a preview carries {DONE_ONLY & set(said)}"
        assert [k for k in said if k.startswith("would_")], tool
    else:
        assert not [k for k in said if k.startswith("would_")], tool
    if "emails" in said:
        emails = said["emails"]
        assert emails["delivery"] == "not_configured", tool  # this week's server has no SMTP
        if emails["queued"]:
            assert "not yet sent" in emails["note"] and "nobody receives them" in emails["note"], tool
    if "items" in said:
        assert said["page"], tool
        if said["next_offset"] is not None:
            assert f"offset={said['next_offset']}" in said["page"], tool


async def test_a_week_of_requests_never_leads_the_assistant_to_say_what_did_not_happen(demo: Tenant) -> None:
    async with Client(_stdio(demo.db, demo.token)) as client:
        me = Organiser(client)

        # Monday: who am I, what's pending, and every follow-up lists exactly what was counted.
        context = await me.ask("get_context")
        assert context["email_delivery"]["delivery"] == "not_configured"
        today = date.fromisoformat(context["today"])
        summary = await me.ask("get_dashboard_summary")
        for item in summary["attention"]:
            listed = await me.ask(item["tool"], **item["arguments"])
            assert listed["total"] == item["count"], item["what"]

        # "What dates have we got next month?"
        first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        month = await me.ask("list_market_dates", from_date=str(first), to_date=str(last), limit=200)
        days = [d["scheduled_at"] for d in month["items"]]
        assert days == sorted(days) and all(str(first) <= d <= str(last) for d in days)
        assert month["total"] == len(days) and month["page"] == f"All {len(days)} shown."

        # Tuesday: approve an application and an order; the vendor emails are queued, and said to be.
        pending = await me.ask("list_applications", status="pending")
        decided = await me.ask("update_application_status", application_id=pending["items"][0]["id"], status="approved")
        assert decided["status"] == "approved" and decided["emails"]["queued"] == 1
        to_approve = await me.ask("list_orders", status="pending")
        approved = await me.ask("approve_order", order_id=to_approve["items"][0]["id"])
        assert approved["status"] in ("payment_pending", "complete") and approved["emails"]["queued"] == 1

        # Wednesday: a reminder to the whole market, previewed first.
        market_id = context["markets"][0]["id"]
        message = dict(market_id=market_id, subject="Car park", message="Hi all, unload on Water St this week.")
        preview = await me.ask("send_market_email", **message, dry_run=True)
        sent = await me.ask("send_market_email", **message)
        assert sent["recipient_count"] == preview["would_email"] == sent["emails"]["queued"]
        assert preview["would_send"]["body"].startswith("Hi all, unload")  # one greeting, the organiser's

        # Thursday: it's going to storm. Preview, then cancel the next date with credits.
        upcoming = await me.ask("list_market_dates", limit=5)
        storm = next(d for d in upcoming["items"] if d["confirmed_count"])
        looked = await me.ask("cancel_market_date", market_date_id=storm["id"], credit_vendors=True, dry_run=True)
        done = await me.ask("cancel_market_date", market_date_id=storm["id"], credit_vendors=True, reason="Storm")
        assert looked["status"] == "scheduled" and done["status"] == "cancelled"
        assert [b["booking_id"] for b in done["bookings"]] == [b["booking_id"] for b in looked["would_cancel"]]
        assert {b["booking_status"] for b in done["bookings"]} == {"cancelled"}
        assert done["credits_issued_cents"] == looked["would_credit_cents"]
        assert done["emails"]["queued"] == looked["would_email"]

        # Friday: next season's Saturdays, previewed; and two requests in a person's words, refused with the fix.
        season = dict(market_id=market_id, start_date=str(first), end_date=str(last + timedelta(days=60)))
        plan = await me.ask("bulk_create_market_dates", **season, day_of_week=6, dry_run=True)
        made = await me.ask("bulk_create_market_dates", **season, day_of_week=6)
        assert [d["scheduled_at"] for d in made["created"]] == [d["scheduled_at"] for d in plan["would_create"]]
        by_name = await me.refused("get_vendor", vendor_id="Sweet Pea Cupcakes")
        assert 'list_vendors with query="Sweet Pea Cupcakes"' in by_name
        by_day = await me.refused("bulk_create_market_dates", **season, day_of_week="Saturday")
        assert "0 = Sunday" in by_day and "6" in by_day

        # Saturday: what went out this week? Queued, and the outbox says nobody receives it yet.
        outbox = await me.ask("list_emails", status="queued")
        assert outbox["delivery"] == "not_configured" and outbox["total"] >= 3

    for tool, said in me.read:
        tells_the_truth(tool, said)
